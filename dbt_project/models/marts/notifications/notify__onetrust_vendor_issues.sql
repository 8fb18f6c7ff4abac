-- Rule: a OneTrust vendor issue (spec 2.3: alerts to the vendor management channel and a follow-up
-- questionnaire). Grain: one row per open vendor follow-up task; a cycle's new ones form one summary.
{{ config(materialized='ephemeral') }}

with

follow_ups as (

    select * from {{ ref('tasks') }}
    where task_type = 'vendor_follow_up' and status = 'open'

),

final as (

    -- columns in the order of notification_outbox's union all
    select  -- noqa: ST06
        'onetrust_vendor_issue:' || task_id as event_key,
        'onetrust_vendor_issue' as event_type,
        priority as severity,
        task_id as subject_id,
        'onetrust_vendor_issue' as group_key,
        cast(null as varchar) as thread_key,
        'Vendor issues needing follow-up' as summary_title,
        title,
        'Follow-up questionnaire due ' || coalesce(cast(due_at as varchar), 'unset') || '.' as body,
        cast(null as varchar) as link_url,
        cast(null as varchar) as assignee_ref,
        cast(null as varchar) as runbook_id,
        cast(null as varchar) as action_kind,
        created_at as occurred_at
    from follow_ups

)

select * from final
