-- One remediation task per failing (control, object): the catalog says who owns it, how urgent it
-- is and which vendor tracks it (a Jira project via the program). The id is stable across runs so
-- reverse sync can key on it. Due: the control's remediation_days after the failure began, counted
-- from when Project X first saw it fail if that is later (a vendor never assessed since 2022 gets 30
-- days from the day it was first evaluated, not a due date four years past).
with

failures as (

    select * from {{ ref('int_control_evaluations') }}
    where status = 'fail'

),

catalog as (

    select * from {{ ref('control_catalog') }}

),

projects as (

    select * from {{ ref('program_jira_projects') }}

),

detected as (

    -- control_result_history appends a row only when a status changes: the latest 'fail' row is the
    -- start of the current failure as Project X saw it.
    select
        control_id,
        object_id,
        max(evaluated_at) as detected_at
    from {{ ref('control_result_history') }}
    where status = 'fail'
    group by control_id, object_id

),

final as (

    select
        failures.control_id,
        failures.object_type,
        failures.object_id,
        failures.object_label,
        failures.cmdb_ci_id,
        failures.reason,
        failures.failed_since,
        catalog.control_name,
        catalog.severity,
        catalog.owner,
        catalog.owner_queue,
        catalog.program,
        catalog.remediation_vendor,
        catalog.remediation_assignment_group,
        projects.jira_project_key,
        projects.issue_type as jira_issue_type,
        'rem-' || md5(failures.control_id || ':' || failures.object_id) as remediation_task_id,
        date_trunc(
            'second',
            greatest(failures.failed_since, coalesce(detected.detected_at, failures.failed_since))
            + catalog.remediation_days * interval '1 day'
        ) as due_at
    from failures
    inner join catalog on failures.control_id = catalog.control_id
    left join projects on catalog.program = projects.program
    left join detected
        on failures.control_id = detected.control_id and failures.object_id = detected.object_id

)

select * from final
