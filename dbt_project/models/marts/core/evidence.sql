-- Grain: one row per evidence item in the Evidence Library.
-- Incremental: each source slice is re-read only for rows loaded since the last run (deletions
-- count as loads; ServiceNow attachments: staged since, their staging being incremental too),
-- merged on evidence_id. expires_at comes from the evidence_validity seed: after editing it, run a
-- full refresh. OneTrust snapshots built before staging lower-cased OneTrust ids (macros/onetrust.sql)
-- are keyed by the id as it was stored: while any is left, the pre-hook drops the OneTrust slice,
-- which this run then rebuilds whole from staging, one snapshot per assessment. Once, then a no-op.
-- A Jira attachment that moved to another issue is shown under that issue only: the second pre-hook
-- drops its row under the issue it left (macros/jira_attachments.sql; history: jira_attachment_moves).
{{ config(
    materialized='incremental',
    unique_key='evidence_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    pre_hook=[
        "{% if is_incremental() %}delete from {{ this }}"
        ~ " where evidence_type = 'snapshot' and source_system = 'onetrust'"
        ~ " and exists (select 1 from {{ this }} as t where t.evidence_type = 'snapshot'"
        ~ " and t.source_system = 'onetrust' and t.evidence_id <> lower(t.evidence_id)){% endif %}",
        "{{ drop_jira_attachments_moved_away() }}",
        "{{ widen_to_bigint('size_bytes') }}",
    ],
) }}
-- depends_on: {{ ref('stg_jira__attachments') }}

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

gdrive_files as (

    select * from {{ ref('int_evidence__gdrive_files') }}
    {{ loaded_since_last_run(
        'source_loaded_at', "t.evidence_type = 'file' and t.source_system = 'gdrive'"
    ) }}

),

s3_files as (

    select * from {{ ref('int_evidence__s3_files') }}
    {{ loaded_since_last_run(
        'source_loaded_at', "t.evidence_type = 'file' and t.source_system = 's3'"
    ) }}

),

sharepoint_files as (

    select * from {{ ref('int_evidence__sharepoint_files') }}
    {{ loaded_since_last_run(
        'source_loaded_at', "t.evidence_type = 'file' and t.source_system = 'sharepoint'"
    ) }}

),

library_files as (

    select * from {{ ref('int_evidence__library_files') }}
    {{ loaded_since_last_run('source_loaded_at', "t.evidence_type = 'file' and t.record_table = 'library'") }}

),

email_bridge as (

    select * from {{ ref('int_evidence__email_bridge') }}
    {{ loaded_since_last_run('source_loaded_at', "t.source_system = 'email'") }}

),

stacked as (

    select * from servicenow_attachments
    union all
    select * from servicenow_rejected_payloads
    union all
    select * from jira_attachments
    union all
    select * from jira_comments
    union all
    select * from onetrust_snapshots
    union all
    select * from gdrive_files
    union all
    select * from s3_files
    union all
    select * from sharepoint_files
    union all
    select * from library_files
    union all
    select * from email_bridge

),

validity as (

    select * from {{ ref('evidence_validity') }}

),

final as (

    select
        stacked.*,
        stacked.created_at + validity.validity_days * interval '1 day' as expires_at
    from stacked
    left join validity
        on stacked.source_system = validity.source_system and stacked.evidence_type = validity.evidence_type

)

select * from final
