-- Rule: a task was assigned (spec 2.4: assignments trigger DMs to assignees with deep links).
-- Grain: one row per (open task, assignee); a reassignment is a new row. The tasks newly assigned
-- to one person in a cycle go out as one DM (group_key per assignee). Owners are resolved to an
-- e-mail at delivery (ServiceNow sys_user), then to Slack by users.lookupByEmail.
{{ config(materialized='ephemeral') }}

with

tasks as (

    select * from {{ ref('tasks') }}
    where status = 'open' and assignee_id is not null and source_system = 'servicenow'

),

final as (

    select
        'task_assigned:' || task_id || ':' || assignee_id as event_key,
        'task_assigned' as event_type,
        priority as severity,
        task_id as subject_id,
        'task_assigned:servicenow:' || assignee_id as group_key,
        cast(null as varchar) as thread_key,
        'Tasks assigned to you' as summary_title,
        title,
        'Assigned to you, ' || priority || ' priority, due ' || coalesce(cast(due_at as varchar), 'unset') || '.'
            as body,
        case
            when task_type = 'incident_review'
                then
                    '{{ env_var("SERVICENOW_BASE_URL", "") }}'
                    || '/incident.do?sys_id=' || source_record_id
        end as link_url,
        'servicenow:' || assignee_id as assignee_ref,
        cast(null as varchar) as runbook_id,
        cast(null as varchar) as action_kind,
        created_at as occurred_at
    from tasks

)

select * from final
