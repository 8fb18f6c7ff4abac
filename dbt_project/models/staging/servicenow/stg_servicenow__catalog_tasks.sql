-- Incremental: a run stages only the rows of new dlt loads and newly deleted rows
-- (macros/incremental.sql), merged on the key.
{{ config(
    materialized='incremental',
    unique_key='catalog_task_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
) }}

with

deletions as (

    select * from {{ ref('stg_servicenow__deletions') }}
    where entity = 'catalog_tasks'

),

source as (

    select * from (
        {{ sn_source_or_empty('catalog_tasks', [
            'request', 'request_item'
        ]) }}
    ) as synced
    {{ not_yet_staged('deletions', 'catalog_task_id') }}

),

latest as (

    -- one row per sys_id even when a load holds the record twice (macros/dedup.sql)
    {{ sn_latest('source', source('servicenow', 'catalog_tasks')) }}

),

renamed as (

    select
        source.sys_id as catalog_task_id,
        source.number as catalog_task_number,
        {{ sn_task_columns() }}
        nullif(source.request, '') as request_id,
        nullif(source.request_item, '') as request_item_id,
        {{ sn_record_columns() }}
    from latest as source  -- noqa: RF04
    left join deletions on source.sys_id = deletions.record_id

)

select * from renamed
