-- Files handed straight to the Evidence Library (Slack uploads, change-management artifacts,
-- archival): one evidence item per (source, source item), once stored. Vendor attachments, Drive,
-- S3 and SharePoint folder files and bridged e-mail (int_evidence__email_bridge) have their own
-- models and are left out here.
with

outcomes as (

    select * from {{ ref('stg_evidence_stores__library_files') }}
    where
        status = 'stored'
        and source_system not in ('servicenow', 'jira', 'gdrive', 's3', 'sharepoint', 'onetrust', 'email')

),

latest as (

    select
        *,
        row_number() over (
            partition by source_system, coalesce(source_ref, sha256) order by ledger_seq desc
        ) as newest_first
    from outcomes

),

final as (

    -- columns in the order of the evidence mart: it stacks the evidence sources with union all
    select  -- noqa: ST06
        source_system || '-file-' || coalesce(source_ref, sha256) as evidence_id,
        'file' as evidence_type,
        source_system,
        tags,
        filename as title,
        mime_type as content_type,
        size_bytes,
        sha256,
        storage_uri,
        'stored' as content_status,
        'library' as record_table,
        source_ref as record_id,
        tags as labels,
        recorded_at as created_at,
        false as is_deleted,
        recorded_at as source_loaded_at,
        cast(null as timestamp) as source_staged_at
    from latest
    where newest_first = 1

)

select * from final
