-- One remediation task per failing (control, object): the catalog says who owns it, how urgent it
-- is and which vendor tracks it. The id is stable across runs so reverse sync can key on it.
with

failures as (

    select * from {{ ref('int_control_evaluations') }}
    where status = 'fail'

),

catalog as (

    select * from {{ ref('control_catalog') }}

),

final as (

    select
        failures.control_id,
        failures.object_type,
        failures.object_id,
        failures.object_label,
        failures.cmdb_ci_id,
        failures.reason,
        failures.failed_since,
        catalog.control_name,
        catalog.severity,
        catalog.owner_queue,
        catalog.remediation_vendor,
        catalog.remediation_assignment_group,
        'rem-' || md5(failures.control_id || ':' || failures.object_id) as remediation_task_id,
        failures.failed_since + catalog.remediation_days * interval '1 day' as due_at
    from failures
    inner join catalog on failures.control_id = catalog.control_id

)

select * from final
