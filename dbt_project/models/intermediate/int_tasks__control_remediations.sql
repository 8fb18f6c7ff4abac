-- Failing automated controls become remediation tasks in the control owner's queue, open while the
-- control fails (a passing control removes its task; control_result_history keeps the closure).
-- A task pushed to Jira follows its issue back (two-way sync): the issue is the one reverse sync linked
-- to the task (reverse_sync.external_links: the issue the push created or adopted, by Jira's issue id),
-- and its status category, assignee, resolution and comments come back through the Jira ingestion.
-- The label projectx:<task id> is only a fallback, for a task with no link yet (a push that has not
-- linked its issue; a warehouse whose links are lost): the oldest live issue carrying it, the one the
-- push would adopt. Jira's Clone copies labels, so a clone carries the label too; it never decides the
-- status of a linked task, and, being newer, never of an unlinked one while the original is there.
-- A task pushed to ServiceNow follows its record the same way: the record linked to it (by sys_id),
-- else, with no link yet, the records whose correlation_id holds the task id (live, open, oldest
-- first, as the push adopts); the ServiceNow ingestion reads the remediation table back.
-- Status is the vendor's (the conflict policy: the vendor wins the status), and one rule holds for
-- both vendors: a record the vendor finished closes the task only when the vendor says the work was
-- done. Jira: an issue in a done status closes it, unless its resolution says nothing was done: one
-- of the names in the var jira_not_done_resolutions (default Won't Do, Won't Fix, Duplicate, Cannot
-- Reproduce, Incomplete, Declined; compared case-insensitively; a site with translated resolution
-- names lists its own, the ingestion keeps the name only, not Jira's resolution id); a done issue
-- with no resolution (a workflow that sets none) closes it, the status deciding. ServiceNow: Closed
-- Complete (3), or Resolved (6) where an instance gives the table the incident state model, closes
-- it; Closed Incomplete (4) and Closed Skipped (7) do not. In the cases left open nothing was
-- remediated: the control still fails, and the attestation must not count the task. A record deleted
-- at the vendor leaves the task open too.
-- vendor_resolution says how the vendor finished the record (Jira's resolution; ServiceNow's closed
-- state by name). The vendor_comment columns summarise the comments people wrote on the Jira issue;
-- the integration's own comments are left out: their author is the issue's reporter, the account
-- that created it. ServiceNow work notes are not ingested: those columns are null for ServiceNow.
{%- set not_done = var('jira_not_done_resolutions', [
    "Won't Do", "Won't Fix", "Duplicate", "Cannot Reproduce", "Incomplete", "Declined"]) %}
{%- if not_done is string %}{% set not_done = [not_done] %}{% endif %}
{%- set quoted = [] %}
{%- for name in not_done %}
    {%- do quoted.append("'" ~ (name | string | trim | lower | replace("'", "''")) ~ "'") %}
{%- endfor %}
{#- an empty list matches nothing: every done issue counts as work done -#}
{%- set not_done_sql = quoted | join(', ') if quoted else 'cast(null as varchar)' %}

with

remediation as (

    select * from {{ ref('int_remediation_tasks') }}

),

issues as (

    select * from {{ ref('stg_jira__issues') }}

),

links as (

    select * from {{ ref('stg_reverse_sync__external_links') }}

),

jira_tasks as (

    select
        remediation.remediation_task_id,
        links.vendor_id as linked_issue_id
    from remediation
    left join links on remediation.remediation_task_id = links.internal_id and links.vendor = 'jira'
    where remediation.remediation_vendor = 'jira'

),

-- the issue reverse sync linked to the task: its own, whatever labels anyone copied elsewhere
linked_issues as (

    select
        jira_tasks.remediation_task_id,
        issues.*,
        0 as by_label
    from jira_tasks
    inner join issues on jira_tasks.linked_issue_id = issues.issue_id

),

-- no link yet: the issues carrying the task's label, the oldest live one first (as the push adopts)
labelled_issues as (

    select
        jira_tasks.remediation_task_id,
        issues.*,
        1 as by_label
    from jira_tasks
    inner join issues
        on ',' || issues.labels || ',' like '%,projectx:' || jira_tasks.remediation_task_id || ',%'
    where
        jira_tasks.linked_issue_id is null
        and ',' || issues.labels || ',' like '%,projectx,%'

),

candidate_issues as (

    select * from linked_issues
    union all
    select * from labelled_issues

),

pushed_issues as (

    select
        remediation_task_id,
        issue_id,
        status_category,
        resolution,
        assignee_account_id,
        reporter_account_id,
        is_deleted,
        loaded_at,
        row_number() over (
            partition by remediation_task_id
            order by by_label asc, is_deleted asc, created_at asc, length(issue_id) asc, issue_id asc
        ) as chosen
    from candidate_issues

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
        pushed_issues.chosen = 1
        and comments.author_account_id is distinct from pushed_issues.reporter_account_id

),

servicenow_records as (

    select * from {{ ref('stg_servicenow__remediation_tasks') }}

),

servicenow_tasks as (

    select
        remediation.remediation_task_id,
        links.vendor_id as linked_record_id
    from remediation
    left join links on remediation.remediation_task_id = links.internal_id and links.vendor = 'servicenow'
    where remediation.remediation_vendor = 'servicenow'

),

-- the record reverse sync linked to the task: a copy a person made of it (Insert and Stay keeps the
-- correlation id), or a duplicate the nightly reconciliation closed, never decides
linked_records as (

    select
        servicenow_tasks.remediation_task_id,
        servicenow_records.*,
        0 as by_correlation
    from servicenow_tasks
    inner join servicenow_records
        on servicenow_tasks.linked_record_id = servicenow_records.remediation_record_id

),

-- no link yet: the records carrying the task id, as the push adopts them (live, open, oldest first)
correlated_records as (

    select
        servicenow_tasks.remediation_task_id,
        servicenow_records.*,
        1 as by_correlation
    from servicenow_tasks
    inner join servicenow_records on servicenow_tasks.remediation_task_id = servicenow_records.correlation_id
    where servicenow_tasks.linked_record_id is null

),

candidate_records as (

    select * from linked_records
    union all
    select * from correlated_records

),

pushed_records as (

    select
        remediation_task_id,
        state,
        assigned_to_id,
        is_deleted,
        loaded_at,
        staged_at,
        row_number() over (
            partition by remediation_task_id
            order by
                by_correlation asc,
                is_deleted asc,
                coalesce(state in (3, 4, 6, 7), false) asc,
                created_at asc,
                remediation_record_id asc
        ) as chosen
    from candidate_records

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
                and not coalesce(lower(trim(pushed_issues.resolution)) in ({{ not_done_sql }}), false)
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
        on remediation.remediation_task_id = pushed_issues.remediation_task_id and pushed_issues.chosen = 1
    left join pushed_records
        on remediation.remediation_task_id = pushed_records.remediation_task_id and pushed_records.chosen = 1
    left join issue_comments
        on remediation.remediation_task_id = issue_comments.remediation_task_id and issue_comments.recency = 1

)

select * from final
