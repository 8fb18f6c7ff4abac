-- Failing automated controls become remediation tasks in the control owner's queue, open while the
-- control fails (a passing control removes its task; control_result_history keeps the closure).
with

remediation as (

    select * from {{ ref('int_remediation_tasks') }}

),

final as (

    -- columns in the order of the tasks mart: it stacks the task sources with union all
    select  -- noqa: ST06
        remediation_task_id as task_id,
        'control_remediation' as task_type,
        remediation_vendor as source_system,
        object_id as source_record_id,
        'Remediate ' || control_id || ' (' || control_name || ') for ' || object_label as title,
        severity as priority,
        owner_queue as queue,
        cast(null as varchar) as assignee_id,
        'control:' || control_id as labels,
        control_id,
        'open' as status,
        failed_since as created_at,
        due_at,
        cast(null as timestamp) as source_loaded_at,
        cast(null as timestamp) as source_staged_at
    from remediation

)

select * from final
