-- Grain: one row per body or attachment of an e-mail received by the bridge; absent table (no
-- bridge yet) stages as empty.
with

source as (

    {{ source_or_empty('email_bridge', 'evidence', {
        'evidence_id': 'varchar', 'message_key': 'varchar', 'bridge_address': 'varchar', 'adapter': 'varchar',
        'source_email': 'varchar', 'subject': 'varchar', 'evidence_type': 'varchar', 'title': 'varchar',
        'content_type': 'varchar', 'size_bytes': 'bigint', 'sha256': 'varchar', 'storage_uri': 'varchar',
        'tags': 'varchar', 'received_at': 'timestamp'
    }) }}

),

renamed as (

    select
        evidence_id,
        message_key,
        bridge_address,
        adapter,
        source_email,
        subject,
        evidence_type,
        title,
        content_type,
        cast(size_bytes as bigint) as size_bytes,
        sha256,
        storage_uri,
        tags,
        cast(received_at as timestamp) as received_at
    from source

)

select * from renamed
