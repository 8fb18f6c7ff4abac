-- Rule: a sync anomaly (spec 2.1 anomaly summaries, 2.3 stale data, 6.1 status light). Grain: one
-- row per (connector, status light, UTC day) that is not green; follow-ups of the same connector on
-- the same day thread under the first message (thread_key).
{{ config(materialized='ephemeral') }}

with

health as (

    select * from {{ ref('integration_health') }}
    where status_light <> 'green'

),

final as (

    -- columns in the order of notification_outbox's union all
    select  -- noqa: ST06
        connector || '_sync_anomaly:' || status_light || ':' || cast(cast(checked_at as date) as varchar)
            as event_key,
        connector || '_sync_anomaly' as event_type,
        case when status_light = 'red' then 'critical' else 'medium' end as severity,
        connector as subject_id,
        cast(null as varchar) as group_key,
        connector || '_sync_anomaly:' || cast(cast(checked_at as date) as varchar) as thread_key,
        'Sync anomalies' as summary_title,
        connector || ' sync is ' || status_light as title,
        'Last load ' || coalesce(cast(last_load_at as varchar), 'never') || ' ('
        || coalesce(cast(minutes_since_last_load as varchar), '-') || ' min ago, interval '
        || cast(interval_minutes as varchar) || ' min); ' || cast(quarantined_24h as varchar)
        || ' records quarantined in 24 h.' as body,
        cast(null as varchar) as link_url,
        cast(null as varchar) as assignee_ref,
        case connector when 'servicenow' then 'RB-002' when 'jira' then 'RB-003' else 'RB-004' end as runbook_id,
        cast(null as varchar) as action_kind,
        checked_at as occurred_at
    from health

)

select * from final
