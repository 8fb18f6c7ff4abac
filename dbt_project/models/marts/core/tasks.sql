-- Grain: one row per task on Project X's task board.
-- ServiceNow incidents become review tasks for risk analysts (P1/P2 high priority);
-- failing automated controls become remediation tasks for the control's owner queue.
with

incidents as (

    select * from {{ ref('stg_servicenow__incidents') }}

),

slas as (

    select * from {{ ref('incident_slas') }}

),

remediation as (

    select * from {{ ref('int_remediation_tasks') }}

),

incident_reviews as (

    select
        'servicenow-incident-' || incidents.incident_id as task_id,
        'incident_review' as task_type,
        'servicenow' as source_system,
        incidents.incident_id as source_record_id,
        'Review incident ' || incidents.incident_number || ': '
        || coalesce(incidents.short_description, '') as title,
        case
            when incidents.priority <= 2 then 'high'
            when incidents.priority = 3 then 'medium'
            else 'low'
        end as priority,
        'risk-analyst' as queue,
        cast(null as varchar) as control_id,
        case when incidents.is_active then 'open' else 'closed' end as status,
        incidents.opened_at as created_at,
        incidents.opened_at + slas.review_within_hours * interval '1 hour' as due_at
    from incidents
    left join slas on incidents.priority = slas.priority

),

remediations as (

    select
        remediation_task_id as task_id,
        'control_remediation' as task_type,
        remediation_vendor as source_system,
        object_id as source_record_id,
        'Remediate ' || control_id || ' (' || control_name || ') for ' || object_label as title,
        severity as priority,
        owner_queue as queue,
        control_id,
        'open' as status,
        failed_since as created_at,
        due_at
    from remediation

),

final as (

    select * from incident_reviews
    union all
    select * from remediations

)

select * from final
