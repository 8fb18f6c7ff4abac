-- Grain: one row per object under a watched S3 evidence prefix (s3://bucket/key), with what the
-- Evidence Library did with it (stored, quarantined, pending) or that it was deleted.
with

source as (

    select * from (
        {{ source_or_empty('evidence_stores', 's3_files', {
            'file_id': 'varchar', 'bucket': 'varchar', 'prefix': 'varchar', 'object_key': 'varchar',
            'name': 'varchar', 'etag': 'varchar', 'last_modified': 'varchar', 'size_bytes': 'bigint',
            'is_deleted': 'boolean', 'status': 'varchar', 'sha256': 'varchar', 'storage_uri': 'varchar',
            'reason': 'varchar', 'source_ref': 'varchar', 'seen_at': 'varchar', '_dlt_load_id': 'varchar'}) }}
    ) as source_table

),

renamed as (

    select
        file_id,
        bucket,
        prefix,
        object_key,
        name as file_name,
        etag as s3_etag,
        status,
        sha256,
        storage_uri,
        reason,
        cast(last_modified as timestamp) as modified_at,
        cast(size_bytes as bigint) as size_bytes,
        coalesce(is_deleted, false) as is_deleted,
        {{ dlt_loaded_at() }} as loaded_at
    from source

)

select * from renamed
