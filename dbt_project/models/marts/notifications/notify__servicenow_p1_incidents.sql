-- Rule: a new priority-1 ServiceNow incident (spec 2.1: #alerts-servicenow receives new P1
-- incidents). Grain: one row per P1 incident; the key is the incident, so each is announced once,
-- and the cycle's new ones go out together as one summary (group_key).
{{ config(materialized='ephemeral') }}

with

incidents as (

    select * from {{ ref('stg_servicenow__incidents') }}
    where priority = 1 and not is_deleted

),

final as (

    select
        'servicenow_p1_incident:' || incident_id as event_key,
        'servicenow_p1_incident' as event_type,
        'critical' as severity,
        incident_id as subject_id,
        'servicenow_p1_incident' as group_key,
        cast(null as varchar) as thread_key,
        'New P1 incidents' as summary_title,
        {{ bounded_title("incident_number || ': ' || coalesce(short_description, '')") }} as title,
        'Priority 1 incident opened ' || cast(opened_at as varchar) || '.' as body,
        '{{ env_var("SERVICENOW_BASE_URL", "") }}'
        || '/incident.do?sys_id=' || incident_id as link_url,
        cast(null as varchar) as assignee_ref,
        'RB-002' as runbook_id,
        cast(null as varchar) as action_kind,
        opened_at as occurred_at
    from incidents

)

select * from final
