-- Grain: one row per evidence item in the Evidence Library.
-- Incremental: each source slice is re-read only for rows loaded since the last run (deletions
-- count as loads; ServiceNow attachments: staged since, their staging being incremental too),
-- merged on evidence_id.
{{ config(
    materialized='incremental',
    unique_key='evidence_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
) }}

with

servicenow_attachments as (

    select * from {{ ref('int_evidence__servicenow_attachments') }}
    {{ staged_since_last_run("t.evidence_type = 'attachment' and t.source_system = 'servicenow'") }}

),

servicenow_rejected_payloads as (

    select * from {{ ref('int_evidence__servicenow_rejected_payloads') }}
    {{ loaded_since_last_run(
        'source_loaded_at', "t.evidence_type = 'rejected_payload' and t.source_system = 'servicenow'"
    ) }}

),

jira_attachments as (

    select * from {{ ref('int_evidence__jira_attachments') }}
    {{ loaded_since_last_run(
        'source_loaded_at', "t.evidence_type = 'attachment' and t.source_system = 'jira'"
    ) }}

),

jira_comments as (

    select * from {{ ref('int_evidence__jira_comments') }}
    {{ loaded_since_last_run(
        'source_loaded_at', "t.evidence_type = 'comment' and t.source_system = 'jira'"
    ) }}

),

onetrust_snapshots as (

    select * from {{ ref('int_evidence__onetrust_assessment_snapshots') }}
    {{ loaded_since_last_run(
        'source_loaded_at', "t.evidence_type = 'snapshot' and t.source_system = 'onetrust'"
    ) }}

),

final as (

    select * from servicenow_attachments
    union all
    select * from servicenow_rejected_payloads
    union all
    select * from jira_attachments
    union all
    select * from jira_comments
    union all
    select * from onetrust_snapshots

)

select * from final
