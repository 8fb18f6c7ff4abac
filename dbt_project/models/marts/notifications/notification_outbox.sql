-- Grain: one row per notification and target: what the delivery assets must send. The key
-- (notification_key) is deterministic, so a rebuild yields the same keys and the delivery ledger
-- sends nothing twice. Routes come from the notification_routing seed for this environment and
-- the event's severity (an exact severity row wins over `*`).
with

events as (

    select * from {{ ref('notify__servicenow_p1_incidents') }}
    union all
    select * from {{ ref('notify__task_assignments') }}
    union all
    select * from {{ ref('notify__sync_anomalies') }}
    union all
    select * from {{ ref('notify__jira_sprints_completed') }}
    union all
    select * from {{ ref('notify__jira_critical_epics_done') }}
    union all
    select * from {{ ref('notify__onetrust_vendor_issues') }}
    union all
    select * from {{ ref('notify__evidence') }}

),

routing as (

    select * from {{ ref('notification_routing') }}
    where environment = '{{ env_var("PROJECTX_ENV", "local") }}'

),

routed as (

    select
        events.*,
        routing.environment,
        nullif(routing.slack_target, '') as slack_target,
        nullif(routing.email, '') as route_email,
        row_number() over (
            partition by events.event_key order by case when routing.severity = '*' then 1 else 0 end
        ) as route_rank
    from events
    inner join routing
        on
            events.event_type = routing.event_type
            and (events.severity = routing.severity or routing.severity = '*')

),

targeted as (

    select
        *,
        case
            when slack_target is null then 'email'
            when slack_target like '#%' then 'slack_channel'
            else 'slack_dm'
        end as channel_type,
        case
            when slack_target is null then route_email
            when slack_target = 'assignee' then assignee_ref
            else slack_target
        end as target  -- noqa: RF04
    from routed
    where route_rank = 1

),

final as (

    select  -- noqa: ST06
        event_key || '@' || channel_type || ':' || coalesce(target, '') as notification_key,
        event_key,
        event_type,
        severity,
        environment,
        channel_type,
        target,
        route_email as fallback_email,
        -- the local Developer DM gets one digest per event type, not one message per owner
        case when target = 'developer' then event_type else group_key end as group_key,
        thread_key,
        summary_title,
        title,
        body,
        link_url,
        runbook_id,
        subject_id,
        action_kind,
        occurred_at
    from targeted
    where target is not null

)

select * from final
