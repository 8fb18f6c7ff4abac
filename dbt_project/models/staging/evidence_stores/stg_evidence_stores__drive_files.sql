-- Grain: one row per file in a watched Google Drive evidence folder (Drive file id), with what the
-- Evidence Library did with it (stored, quarantined, pending) or that it was deleted.
with

source as (

    select * from (
        {{ source_or_empty('evidence_stores', 'drive_files', {
            'file_id': 'varchar', 'folder_id': 'varchar', 'name': 'varchar', 'drive_mime_type': 'varchar',
            'modified_time': 'varchar', 'md5': 'varchar', 'size_bytes': 'bigint', 'is_deleted': 'boolean',
            'status': 'varchar', 'sha256': 'varchar', 'storage_uri': 'varchar', 'reason': 'varchar',
            'source_ref': 'varchar', 'seen_at': 'varchar', '_dlt_load_id': 'varchar'}) }}
    ) as source_table

),

renamed as (

    select
        file_id,
        folder_id,
        name as file_name,
        drive_mime_type,
        md5 as drive_md5,
        status,
        sha256,
        storage_uri,
        reason,
        cast(modified_time as timestamp) as modified_at,
        cast(size_bytes as bigint) as size_bytes,
        coalesce(is_deleted, false) as is_deleted,
        {{ dlt_loaded_at() }} as loaded_at
    from source

)

select * from renamed
