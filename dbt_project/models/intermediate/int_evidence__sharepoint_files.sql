-- Spec 2.6: files dropped in a watched SharePoint evidence folder, once the Evidence Library has stored them (scanned
-- clean); quarantined and pending files are not evidence. Tagged source:sharepoint; the content type is
-- the one the library sniffed from the bytes.
with

files as (

    select * from {{ ref('stg_evidence_stores__sharepoint_files') }}
    where status in ('stored', 'deleted') and sha256 is not null

),

sniffed as (

    select
        sha256,
        max(mime_type) as mime_type
    from {{ ref('stg_evidence_stores__library_files') }}
    where status = 'stored'
    group by sha256

),

final as (

    -- columns in the order of the evidence mart: it stacks the evidence sources with union all
    select  -- noqa: ST06
        'sharepoint-file-' || files.file_id as evidence_id,
        'file' as evidence_type,
        'sharepoint' as source_system,
        'source:sharepoint' as tags,
        files.file_name as title,
        sniffed.mime_type as content_type,
        files.size_bytes,
        files.sha256,
        files.storage_uri,
        'stored' as content_status,
        'sharepoint_folder' as record_table,
        files.folder_path as record_id,
        cast(null as varchar) as labels,
        files.modified_at as created_at,
        files.is_deleted,
        files.loaded_at as source_loaded_at,
        cast(null as timestamp) as source_staged_at
    from files
    left join sniffed on files.sha256 = sniffed.sha256

)

select * from final
