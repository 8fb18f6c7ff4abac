with

source as (

    {{ source_or_empty('jira', 'attachments', {
        'id': 'varchar', 'issue_id': 'varchar', 'issue_key': 'varchar', 'filename': 'varchar',
        'mime_type': 'varchar', 'size_bytes': 'varchar', 'created': 'varchar', 'author_account_id': 'varchar',
        'sha256': 'varchar', 'storage_uri': 'varchar', 'content_status': 'varchar', 'content_error': 'varchar',
        '_tombstone': 'boolean', '_dlt_load_id': 'varchar'}) }}

),

renamed as (

    select
        id as attachment_id,
        issue_id,
        issue_key,
        filename as file_name,
        nullif(mime_type, '') as content_type,
        {{ safe_bigint("nullif(size_bytes, '')") }} as size_bytes,
        author_account_id,
        sha256,
        storage_uri,
        content_status,
        content_error,
        {{ iso_timestamp('created') }} as created_at,
        {{ dlt_loaded_at() }} as loaded_at
    from source
    where _tombstone is null or not _tombstone

)

select * from renamed
