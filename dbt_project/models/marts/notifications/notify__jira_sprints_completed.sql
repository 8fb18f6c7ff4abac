-- Rule: a sprint completed (spec 2.2: summary of outstanding tasks for program owners). Grain: one
-- row per closed sprint.
{{ config(materialized='ephemeral') }}

with

sprints as (

    select * from {{ ref('sprint_velocity') }}
    where sprint_state = 'closed'

),

final as (

    -- columns in the order of notification_outbox's union all
    select  -- noqa: ST06
        'jira_sprint_completed:' || sprint_id as event_key,
        'jira_sprint_completed' as event_type,
        'low' as severity,
        sprint_id as subject_id,
        'jira_sprint_completed' as group_key,
        cast(null as varchar) as thread_key,
        'Sprints completed' as summary_title,
        coalesce(board_name, 'Board') || ' / ' || sprint_name || ' completed' as title,
        cast(issues_completed as varchar) || ' of ' || cast(issues_committed as varchar) || ' issues done; '
        || cast(issues_committed - issues_completed as varchar) || ' outstanding.' as body,
        cast(null as varchar) as link_url,
        cast(null as varchar) as assignee_ref,
        cast(null as varchar) as runbook_id,
        cast(null as varchar) as action_kind,
        coalesce(completed_at, ends_at) as occurred_at
    from sprints

)

select * from final
