-- Spec 2.6: files dropped in a watched Google Drive evidence folder, once the Evidence Library has
-- stored them (scanned clean); quarantined and pending files are not evidence. Tagged source:gdrive.
with

files as (

    select * from {{ ref('stg_evidence_stores__drive_files') }}
    where status in ('stored', 'deleted') and sha256 is not null

),

sniffed as (

    -- the type the library sniffed from the bytes, as for S3 and SharePoint files (macro
    -- watched_store_evidence): Drive's mimeType is what the uploader declared (a "PDF" may be HTML), or a
    -- Google Docs type for a file stored as its PDF export
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
        'gdrive-file-' || files.file_id as evidence_id,
        'file' as evidence_type,
        'gdrive' as source_system,
        'source:gdrive' as tags,
        files.file_name as title,
        sniffed.mime_type as content_type,
        files.size_bytes,
        files.sha256,
        files.storage_uri,
        'stored' as content_status,
        'drive_folder' as record_table,
        files.folder_id as record_id,
        cast(null as varchar) as labels,
        files.modified_at as created_at,
        files.is_deleted,
        files.loaded_at as source_loaded_at,
        cast(null as timestamp) as source_staged_at
    from files
    left join sniffed on files.sha256 = sniffed.sha256

)

select * from final
