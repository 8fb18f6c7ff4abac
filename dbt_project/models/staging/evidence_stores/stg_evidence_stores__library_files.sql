-- Grain: one row per outcome the Evidence Library recorded for a file (ledger order, seq).
with

source as (

    select * from (
        {{ source_or_empty('evidence_stores', 'library_files', {
            'seq': 'bigint', 'recorded_at': 'varchar', 'sha256': 'varchar', 'filename': 'varchar',
            'source': 'varchar', 'source_ref': 'varchar', 'tags': 'varchar', 'status': 'varchar',
            'reason': 'varchar', 'storage_uri': 'varchar', 'store': 'varchar', 'mime_type': 'varchar',
            'size_bytes': 'bigint', 'page_count': 'bigint', 'text_excerpt': 'varchar',
            'image_width': 'bigint', 'image_height': 'bigint', 'email_subject': 'varchar',
            'email_from': 'varchar', 'email_date': 'varchar', 'email_message_id': 'varchar',
            'evidence_class': 'varchar', 'control_ids': 'varchar', 'scan_status': 'varchar',
            'scan_signature': 'varchar', 'parse_error': 'varchar'}) }}
    ) as source_table

),

renamed as (

    select
        seq as ledger_seq,
        sha256,
        filename,
        source as source_system,
        source_ref,
        tags,
        status,
        reason,
        storage_uri,
        store as store_name,
        mime_type,
        text_excerpt,
        email_subject,
        email_from,
        email_message_id,
        evidence_class,
        scan_status,
        scan_signature,
        parse_error,
        cast(recorded_at as timestamp) as recorded_at,
        cast(size_bytes as bigint) as size_bytes,
        cast(page_count as integer) as page_count,
        cast(image_width as integer) as image_width,
        cast(image_height as integer) as image_height,
        coalesce(control_ids, '') as control_ids
    from source

)

select * from renamed
