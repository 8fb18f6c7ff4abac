-- Failing automated controls become remediation tasks in the control owner's queue, open while the
-- control fails (a passing control removes its task; control_result_history keeps the closure).
-- A task pushed to Jira follows its issue back (two-way sync): the issue carries the label
-- projectx:<task id>, and its status category, assignee and resolution come back through the Jira
-- ingestion, so a remediation closed in Jira is closed here.
-- A task pushed to ServiceNow follows its record the same way: the record's correlation_id holds the
-- task id, and the ServiceNow ingestion reads the remediation table back. Status is the vendor's
-- (the conflict policy: vendor wins for status, as for Jira): a record in Closed Complete (3), or
-- Resolved (6) where an instance gives the table the incident state model, closes the task. Closed
-- Incomplete (4) and Closed Skipped (7) leave it open: nothing was remediated, the control still
-- fails, and the attestation must not count it. A record deleted at ServiceNow leaves it open too.
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
        issues.status_category,
        issues.assignee_account_id,
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
            when pushed_issues.status_category = 'done' and not pushed_issues.is_deleted then 'closed'
            when pushed_records.state in (3, 6) and not pushed_records.is_deleted then 'closed'
            else 'open'
        end as status,
        remediation.failed_since as created_at,
        remediation.due_at,
        coalesce(pushed_issues.loaded_at, pushed_records.loaded_at) as source_loaded_at,
        pushed_records.staged_at as source_staged_at
    from remediation
    left join pushed_issues
        on remediation.remediation_task_id = pushed_issues.remediation_task_id and pushed_issues.newest = 1
    left join pushed_records
        on remediation.remediation_task_id = pushed_records.remediation_task_id and pushed_records.newest = 1

)

select * from final
