-- Grain: one row per task on Project X's task board.
-- Incremental: vendor-sourced tasks are re-read only when their source rows (or deletions) were
-- loaded since the last run (ServiceNow: staged, its staging being incremental too); remediation
-- and evidence renewal tasks depend on the clock, so the pre-hook drops them and every run inserts
-- the current set. After editing a seed that drives due dates, run a full refresh.
-- OneTrust tasks built before staging lower-cased OneTrust ids (macros/onetrust.sql) are keyed by the
-- id as it was stored: while any is left, the second pre-hook drops the OneTrust slices, which this
-- run then rebuilds whole from staging (their cursor is empty), one task per record. Once, then a no-op.
{{ config(
    materialized='incremental',
    unique_key='task_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    pre_hook=[
        "{% if is_incremental() %}delete from {{ this }}"
        ~ " where task_type in ('control_remediation', 'evidence_renewal', 'reconciliation_drift'){% endif %}",
        "{% if is_incremental() %}delete from {{ this }} where task_type in ('pia_review', 'vendor_follow_up')"
        ~ " and exists (select 1 from {{ this }} as t where t.source_system = 'onetrust'"
        ~ " and t.source_record_id <> lower(t.source_record_id)){% endif %}",
    ],
) }}

with

incident_reviews as (

    select * from {{ ref('int_tasks__servicenow_incidents') }}
    {{ staged_since_last_run("t.task_type = 'incident_review'") }}

),

jira_issues as (

    select * from {{ ref('int_tasks__jira_issues') }}
    {{ loaded_since_last_run('source_loaded_at', "t.task_type = 'jira_remediation'") }}

),

pia_reviews as (

    select * from {{ ref('int_tasks__onetrust_pia_reviews') }}
    {{ loaded_since_last_run('source_loaded_at', "t.task_type = 'pia_review'") }}

),

vendor_follow_ups as (

    select * from {{ ref('int_tasks__onetrust_vendor_follow_ups') }}
    {{ loaded_since_last_run('source_loaded_at', "t.task_type = 'vendor_follow_up'") }}

),

evidence_renewals as (

    select * from {{ ref('int_tasks__evidence_renewals') }}

),

evidence_library_alerts as (

    select * from {{ ref('int_tasks__evidence_library_alerts') }}
    {{ loaded_since_last_run(
        'source_loaded_at', "t.task_type in ('evidence_access', 'evidence_security_review')"
    ) }}

),

remediations as (

    select * from {{ ref('int_tasks__control_remediations') }}

),

reconciliation_drift as (

    select * from {{ ref('int_tasks__reconciliation_drift') }}

),

final as (

    select * from incident_reviews
    union all
    select * from jira_issues
    union all
    select * from pia_reviews
    union all
    select * from vendor_follow_ups
    union all
    select * from evidence_renewals
    union all
    select * from evidence_library_alerts
    union all
    select * from remediations
    union all
    select * from reconciliation_drift

)

select * from final
