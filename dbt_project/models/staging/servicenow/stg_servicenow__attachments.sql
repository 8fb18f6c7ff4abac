-- Incremental: a run stages only the rows of new dlt loads and newly deleted rows
-- (macros/incremental.sql), merged on the key.
{{ config(
    materialized='incremental',
    unique_key='attachment_id',
    incremental_strategy='delete+insert',
    on_schema_change='sync_all_columns',
) }}

with

deletions as (

    select * from {{ ref('stg_servicenow__deletions') }}
    where entity = 'attachments'

),

source as (

    select * from (
        {{ source_or_empty('servicenow', 'attachments', {
            'sys_id': 'varchar', 'file_name': 'varchar', 'content_type': 'varchar', 'size_bytes': 'varchar',
            'table_name': 'varchar', 'table_sys_id': 'varchar', 'download_link': 'varchar', 'hash': 'varchar',
            'sys_created_on': 'varchar', 'sys_created_by': 'varchar',
            'sys_updated_on': 'varchar', 'sys_updated_by': 'varchar', 'sys_mod_count': 'varchar',
            'sha256': 'varchar', 'storage_uri': 'varchar', 'content_status': 'varchar',
            'content_error': 'varchar', '_dlt_load_id': 'varchar'}) }}
    ) as source_table
    {{ not_yet_staged('deletions', 'attachment_id') }}

),

renamed as (

    select
        source.sys_id as attachment_id,
        source.file_name,
        nullif(source.content_type, '') as content_type,
        {{ safe_bigint('source.size_bytes') }} as size_bytes,
        source.table_name as record_table,
        source.table_sys_id as record_id,
        nullif(source.download_link, '') as download_link,
        nullif(source.hash, '') as vendor_hash,
        source.sha256,
        source.storage_uri,
        source.content_status,
        source.content_error,
        {{ sn_record_columns() }}
    from source
    left join deletions on source.sys_id = deletions.record_id

)

select * from renamed
