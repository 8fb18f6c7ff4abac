-- Spec 2.1: every ServiceNow incident becomes a review task for the risk-analyst queue; priority
-- follows the incident's (P1/P2 high, P3 medium, P4/P5 low), the review is due within the hours
-- incident_slas gives the priority, and state and assignment follow the incident.
with

incidents as (

    select * from {{ ref('stg_servicenow__incidents') }}

),

slas as (

    select * from {{ ref('incident_slas') }}

),

final as (

    -- columns in the order of the tasks mart: it stacks the task sources with union all
    select  -- noqa: ST06
        'servicenow-incident-' || incidents.incident_id as task_id,
        'incident_review' as task_type,
        'servicenow' as source_system,
        incidents.incident_id as source_record_id,
        {{ bounded_title("'Review incident ' || incidents.incident_number || ': '"
                         " || coalesce(incidents.short_description, '')") }} as title,
        -- a priority outside 1-5 (ServiceNow '6', 'P1', empty: null in staging) is 'unknown', kept and
        -- reported by the warn-severity test on tasks.priority
        case
            when incidents.priority in (1, 2) then 'high'
            when incidents.priority = 3 then 'medium'
            when incidents.priority in (4, 5) then 'low'
            else 'unknown'
        end as priority,
        'risk-analyst' as queue,
        incidents.assigned_to_id as assignee_id,
        cast(null as varchar) as labels,
        cast(null as varchar) as control_id,
        case when incidents.is_active and not incidents.is_deleted then 'open' else 'closed' end as status,
        incidents.opened_at as created_at,
        incidents.opened_at + slas.review_within_hours * interval '1 hour' as due_at,
        incidents.loaded_at as source_loaded_at,
        incidents.staged_at as source_staged_at,
        cast(null as varchar) as vendor_resolution,
        cast(null as integer) as vendor_comment_count,
        cast(null as timestamp) as last_vendor_comment_at,
        cast(null as varchar) as last_vendor_comment_excerpt
    from incidents
    left join slas on incidents.priority = slas.priority

)

select * from final
