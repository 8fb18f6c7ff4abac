-- Failing automated controls become remediation tasks in the control owner's queue, open while the
-- control fails (a passing control removes its task; control_result_history keeps the closure).
-- A task pushed to Jira follows its issue back (two-way sync): the issue carries the label
-- projectx:<task id>, and its status category, assignee, resolution and comments come back through
-- the Jira ingestion. A task pushed to ServiceNow follows its record the same way: the record's
-- correlation_id holds the task id, and the ServiceNow ingestion reads the remediation table back.
-- Status is the vendor's (the conflict policy: the vendor wins the status), and one rule holds for
-- both vendors: a record the vendor finished closes the task only when the vendor says the work was
-- done. Jira: an issue in a done status closes it, unless its resolution says nothing was done
-- (Won't Do, Won't Fix, Duplicate, Cannot Reproduce, Incomplete, Declined); a done issue with no
-- resolution (a workflow that sets none) closes it, the status deciding. ServiceNow: Closed Complete
-- (3), or Resolved (6) where an instance gives the table the incident state model, closes it; Closed
-- Incomplete (4) and Closed Skipped (7) do not. In the cases left open nothing was remediated: the
-- control still fails, and the attestation must not count the task. A record deleted at the vendor
-- leaves the task open too.
-- vendor_resolution says how the vendor finished the record (Jira's resolution; ServiceNow's closed
-- state by name). The vendor_comment columns summarise the comments people wrote on the Jira issue;
-- the integration's own comments are left out: their author is the issue's reporter, the account
-- that created it. ServiceNow work notes are not ingested: those columns are null for ServiceNow.
with

remediation as (

    select * from {{ ref('int_remediation_tasks') }}

),

issues as (

    select * from {{ ref('stg_jira__issues') }}
    where ',' || labels || ',' like '%,projectx,%'

),

pushed_issues as (

    select
        remediation.remediation_task_id,
        issues.issue_id,
        issues.status_category,
        issues.resolution,
        issues.assignee_account_id,
        issues.reporter_account_id,
        issues.is_deleted,
        issues.loaded_at,
        row_number() over (
            partition by remediation.remediation_task_id order by issues.updated_at desc, issues.issue_id asc
        ) as newest
    from remediation
    inner join issues
        on ',' || issues.labels || ',' like '%,projectx:' || remediation.remediation_task_id || ',%'
    where remediation.remediation_vendor = 'jira'

),

comments as (

    select * from {{ ref('stg_jira__comments') }}

),

issue_comments as (

    select
        pushed_issues.remediation_task_id,
        comments.created_at,
        comments.body_text,
        count(*) over (partition by pushed_issues.remediation_task_id) as comment_count,
        row_number() over (
            partition by pushed_issues.remediation_task_id
            order by comments.created_at desc, comments.comment_id desc
        ) as recency
    from pushed_issues
    inner join comments on pushed_issues.issue_id = comments.issue_id
    where
        pushed_issues.newest = 1
        and comments.author_account_id is distinct from pushed_issues.reporter_account_id

),

servicenow_records as (

    select * from {{ ref('stg_servicenow__remediation_tasks') }}

),

pushed_records as (

    select
        remediation.remediation_task_id,
        servicenow_records.state,
        servicenow_records.assigned_to_id,
        servicenow_records.is_deleted,
        servicenow_records.loaded_at,
        servicenow_records.staged_at,
        row_number() over (
            partition by remediation.remediation_task_id
            order by servicenow_records.updated_at desc, servicenow_records.remediation_record_id asc
        ) as newest
    from remediation
    inner join servicenow_records on remediation.remediation_task_id = servicenow_records.correlation_id
    where remediation.remediation_vendor = 'servicenow'

),

final as (

    -- columns in the order of the tasks mart: it stacks the task sources with union all
    select  -- noqa: ST06
        remediation.remediation_task_id as task_id,
        'control_remediation' as task_type,
        remediation.remediation_vendor as source_system,
        remediation.object_id as source_record_id,
        'Remediate ' || remediation.control_id || ' (' || remediation.control_name || ') for '
        || remediation.object_label as title,
        remediation.severity as priority,
        remediation.owner_queue as queue,
        coalesce(pushed_issues.assignee_account_id, pushed_records.assigned_to_id) as assignee_id,
        'control:' || remediation.control_id as labels,
        remediation.control_id,
        case
            when
                pushed_issues.status_category = 'done' and not pushed_issues.is_deleted
                and coalesce(lower(pushed_issues.resolution), '') not in (
                    'won''t do', 'won''t fix', 'duplicate', 'cannot reproduce', 'incomplete', 'declined'
                )
                then 'closed'
            when pushed_records.state in (3, 6) and not pushed_records.is_deleted then 'closed'
            else 'open'
        end as status,
        remediation.failed_since as created_at,
        remediation.due_at,
        coalesce(pushed_issues.loaded_at, pushed_records.loaded_at) as source_loaded_at,
        pushed_records.staged_at as source_staged_at,
        coalesce(
            pushed_issues.resolution,
            case pushed_records.state
                when 3 then 'Closed Complete'
                when 4 then 'Closed Incomplete'
                when 6 then 'Resolved'
                when 7 then 'Closed Skipped'
            end
        ) as vendor_resolution,
        case
            when pushed_issues.remediation_task_id is not null
                then cast(coalesce(issue_comments.comment_count, 0) as integer)
        end as vendor_comment_count,
        issue_comments.created_at as last_vendor_comment_at,
        substr(issue_comments.body_text, 1, 200) as last_vendor_comment_excerpt
    from remediation
    left join pushed_issues
        on remediation.remediation_task_id = pushed_issues.remediation_task_id and pushed_issues.newest = 1
    left join pushed_records
        on remediation.remediation_task_id = pushed_records.remediation_task_id and pushed_records.newest = 1
    left join issue_comments
        on remediation.remediation_task_id = issue_comments.remediation_task_id and issue_comments.recency = 1

)

select * from final
