-- Grain: one row per remediation task that Jira must hold (control catalog routes it to Jira; the
-- program picks the project). Reverse sync keys on remediation_task_id, kept on the issue as the
-- label projectx:<id> and in its description.
with

remediation as (

    select * from {{ ref('int_remediation_tasks') }}
    where remediation_vendor = 'jira'

),

final as (

    -- summary is Jira's field name
    select
        remediation_task_id,
        owner as assignee_email,
        control_id,
        object_id,
        jira_project_key,
        cast(due_at as date) as due_date,
        coalesce(jira_issue_type, 'Task') as issue_type,
        '[Project X] ' || control_id || ': ' || control_name || ' (' || object_label || ')' as summary, -- noqa: RF04
        'Automated control ' || control_id || ' failed for ' || object_label || ': ' || reason
        || '. Owner: ' || remediation_assignment_group || '. Project X task ' || remediation_task_id || '.'
            as description,
        case severity when 'high' then 'High' when 'medium' then 'Medium' else 'Low' end as priority,
        'projectx,control:' || control_id || ',projectx:' || remediation_task_id as labels
    from remediation

)

select * from final
