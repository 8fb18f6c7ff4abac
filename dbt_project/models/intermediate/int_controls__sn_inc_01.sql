-- SN-INC-01: every priority-1 incident is resolved within its resolution SLA.
-- Open incidents still inside the SLA are 'pending'; canceled and deleted incidents are out of scope.
with

incidents as (

    select * from {{ ref('stg_servicenow__incidents') }}
    where priority = 1 and state != 8 and not is_deleted

),

slas as (

    select * from {{ ref('incident_slas') }}

),

evaluated as (

    select
        incidents.incident_id,
        incidents.incident_number,
        incidents.cmdb_ci_id,
        incidents.opened_at,
        incidents.resolved_at,
        slas.resolution_sla_hours,
        incidents.opened_at + slas.resolution_sla_hours * interval '1 hour' as sla_due_at,
        coalesce(incidents.resolved_at, {{ utc_now() }}) as measured_at
    from incidents
    inner join slas on incidents.priority = slas.priority

),

final as (

    select
        'SN-INC-01' as control_id,
        'servicenow_incident' as object_type,
        incident_id as object_id,
        incident_number as object_label,
        cmdb_ci_id,
        case
            when measured_at <= sla_due_at and resolved_at is null then 'pending'
            when measured_at <= sla_due_at then 'pass'
            else 'fail'
        end as status,
        case
            when measured_at <= sla_due_at then null
            when resolved_at is null
                then
                    -- stable text (no running clock), so reverse sync does not rewrite the task every run
                    'still open past the ' || cast(resolution_sla_hours as varchar)
                    || 'h resolution SLA (due ' || cast(sla_due_at as varchar) || ')'
            else
                'resolved after ' || cast({{ hours_between('opened_at', 'resolved_at') }} as varchar)
                || 'h; the resolution SLA is ' || cast(resolution_sla_hours as varchar) || 'h'
        end as reason,
        case when measured_at > sla_due_at then sla_due_at end as failed_since
    from evaluated

)

select * from final
