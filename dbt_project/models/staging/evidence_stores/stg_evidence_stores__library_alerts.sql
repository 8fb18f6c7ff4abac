-- Grain: one row per alert the Evidence Library raised (security_alert, permission_task,
-- quota_pause, quota_resumed, error_event).
with

source as (

    select * from (
        {{ source_or_empty('evidence_stores', 'library_alerts', {
            'seq': 'bigint', 'raised_at': 'varchar', 'kind': 'varchar', 'provider': 'varchar',
            'sha256': 'varchar', 'filename': 'varchar', 'source': 'varchar', 'message': 'varchar'}) }}
    ) as source_table

),

renamed as (

    select
        seq as alert_seq,
        kind,
        provider,
        sha256,
        filename,
        source as source_system,
        message,
        cast(raised_at as timestamp) as raised_at
    from source

)

select * from renamed
