-- SN-INC-02: every open priority-1 or priority-2 incident has an assigned engineer.
with

incidents as (

    select * from {{ ref('stg_servicenow__incidents') }}
    where priority <= 2 and is_active and not is_deleted

),

final as (

    select
        'SN-INC-02' as control_id,
        'servicenow_incident' as object_type,
        incident_id as object_id,
        incident_number as object_label,
        cmdb_ci_id,
        case when assigned_to_id is null then 'fail' else 'pass' end as status,
        case
            when assigned_to_id is null
                then 'P' || cast(priority as varchar) || ' incident open with no assignee'
        end as reason,
        case when assigned_to_id is null then opened_at end as failed_since
    from incidents

)

select * from final
