-- Spec 2.2: attachments on Jira issues relevant to compliance controls (labelled control:<id>)
-- are evidence, carrying the issue's labels so evidence_rules can link them to controls.
with

attachments as (

    select * from {{ ref('stg_jira__attachments') }}

),

issues as (

    select * from {{ ref('stg_jira__issues') }}
    where ',' || labels || ',' like '%,control:%'

),

final as (

    -- columns in the order of the evidence mart: it stacks the evidence sources with union all
    select  -- noqa: ST06
        'jira-attachment-' || attachments.attachment_id as evidence_id,
        'attachment' as evidence_type,
        'jira' as source_system,
        'source:jira' as tags,
        attachments.file_name as title,
        attachments.content_type,
        attachments.size_bytes,
        attachments.sha256,
        attachments.storage_uri,
        attachments.content_status,
        'issue' as record_table,
        attachments.issue_id as record_id,
        issues.labels,
        attachments.created_at,
        issues.is_deleted,
        greatest(attachments.loaded_at, issues.loaded_at) as source_loaded_at,
        cast(null as timestamp) as source_staged_at
    from attachments
    inner join issues on attachments.issue_id = issues.issue_id
    -- the Evidence Library refused it (malware, or over its limits): in no mart
    where attachments.content_status is distinct from 'quarantined'

)

select * from final
