-- Grain: one row per remediation task that ServiceNow must hold (table x_pjx_grc_remediation_task).
-- Reverse sync keys on remediation_task_id, stored in the vendor record's correlation_id.
with

remediation as (

    select * from {{ ref('int_remediation_tasks') }}
    where remediation_vendor = 'servicenow'

),

final as (

    select
        remediation_task_id,
        control_id,
        object_id,
        cmdb_ci_id,
        due_at,
        remediation_assignment_group as assignment_group,
        'Project X ' || control_id || ': ' || control_name || ' (' || object_label || ')'
            as short_description,
        'Automated control ' || control_id || ' failed for ' || object_label || ': ' || reason
        || '. Assignment group: ' || remediation_assignment_group || '.' as description,
        case severity when 'high' then 2 when 'medium' then 3 else 4 end as priority
    from remediation

)

select * from final
