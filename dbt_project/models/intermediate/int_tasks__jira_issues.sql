-- Spec 2.2: Jira remediation issues (labelled control:<id>) are tasks on the board, keeping their
-- labels and assignee; status follows the issue. Issues Project X itself pushed (label projectx) are
-- left out: they are already on the board as their control_remediation task.
with

issues as (

    select * from {{ ref('stg_jira__issues') }}
    where
        issue_type != 'Epic'
        and ',' || labels || ',' like '%,control:%'
        and ',' || labels || ',' not like '%,projectx,%'

),

final as (

    -- columns in the order of the tasks mart: it stacks the task sources with union all
    select  -- noqa: ST06
        'jira-issue-' || issue_id as task_id,
        'jira_remediation' as task_type,
        'jira' as source_system,
        issue_id as source_record_id,
        {{ bounded_title("issue_key || ': ' || coalesce(summary, '')") }} as title,
        -- Jira's default scheme, whatever case; a renamed or custom priority is 'unknown', kept and
        -- reported by the warn-severity test on tasks.priority
        case
            when lower(priority) in ('highest', 'high') then 'high'
            when lower(priority) = 'medium' then 'medium'
            when lower(priority) in ('low', 'lowest') then 'low'
            else 'unknown'
        end as priority,
        'jira-' || lower(project_key) as queue,
        assignee_account_id as assignee_id,
        labels,
        cast(null as varchar) as control_id,
        case when status_category = 'done' or is_deleted then 'closed' else 'open' end as status,
        created_at,
        cast(due_date as timestamp) as due_at,
        loaded_at as source_loaded_at,
        cast(null as timestamp) as source_staged_at,
        cast(null as varchar) as vendor_resolution,
        cast(null as integer) as vendor_comment_count,
        cast(null as timestamp) as last_vendor_comment_at,
        cast(null as varchar) as last_vendor_comment_excerpt
    from issues

)

select * from final
