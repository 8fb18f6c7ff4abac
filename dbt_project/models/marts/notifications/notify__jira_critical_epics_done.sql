-- Rule: a critical Jira epic moved to Done (spec 2.2: post to #compliance-delivery). Grain: one row
-- per epic of priority Highest/Critical (or labelled critical) in the done status category.
{{ config(materialized='ephemeral') }}

with

epics as (

    select * from {{ ref('stg_jira__issues') }}
    where
        issue_type = 'Epic'
        and status_category = 'done'
        and not is_deleted
        and (priority in ('Highest', 'Critical', 'Blocker') or coalesce(labels, '') like '%critical%')

),

final as (

    select
        'jira_critical_epic_done:' || issue_id as event_key,
        'jira_critical_epic_done' as event_type,
        'high' as severity,
        issue_id as subject_id,
        cast(null as varchar) as group_key,
        cast(null as varchar) as thread_key,
        'Critical epics done' as summary_title,
        {{ bounded_title("issue_key || ': ' || coalesce(summary, '')", 240) }} || ' is Done' as title,
        'Critical epic moved to ' || coalesce(status, 'Done') || '.' as body,
        '{{ env_var("JIRA_BASE_URL", "") }}/browse/' || issue_key as link_url,
        cast(null as varchar) as assignee_ref,
        cast(null as varchar) as runbook_id,
        cast(null as varchar) as action_kind,
        coalesce(resolved_at, updated_at) as occurred_at
    from epics

)

select * from final
