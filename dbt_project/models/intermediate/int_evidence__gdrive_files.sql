-- Spec 2.6: files dropped in a watched Google Drive evidence folder, once the Evidence Library has
-- stored them (scanned clean); quarantined and pending files are not evidence. Tagged source:gdrive.
with

files as (

    select * from {{ ref('stg_evidence_stores__drive_files') }}
    where status in ('stored', 'deleted') and sha256 is not null

),

final as (

    -- columns in the order of the evidence mart: it stacks the evidence sources with union all
    select  -- noqa: ST06
        'gdrive-file-' || file_id as evidence_id,
        'file' as evidence_type,
        'gdrive' as source_system,
        'source:gdrive' as tags,
        file_name as title,
        drive_mime_type as content_type,
        size_bytes,
        sha256,
        storage_uri,
        'stored' as content_status,
        'drive_folder' as record_table,
        folder_id as record_id,
        cast(null as varchar) as labels,
        modified_at as created_at,
        is_deleted,
        loaded_at as source_loaded_at,
        cast(null as timestamp) as source_staged_at
    from files

)

select * from final
