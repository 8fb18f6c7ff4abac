-- Grain: one row per evidence store provider whose ingestion is paused now (a quota error).
with

source as (

    select * from (
        {{ source_or_empty('evidence_stores', 'library_pauses', {
            'provider': 'varchar', 'paused_at': 'varchar', 'reason': 'varchar'}) }}
    ) as source_table

),

renamed as (

    select
        provider,
        reason as paused_reason,
        cast(paused_at as timestamp) as paused_at
    from source

)

select * from renamed
