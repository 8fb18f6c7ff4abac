-- Incremental: a run stages only the rows of new dlt loads and newly deleted rows
-- (macros/incremental.sql), merged on the key.
{{ config(
    materialized='incremental',
    unique_key='request_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
) }}

with

deletions as (

    select * from {{ ref('stg_servicenow__deletions') }}
    where entity = 'requests'

),

source as (

    select * from (
        {{ sn_source_or_empty('requests', [
            'price', 'request_state', 'requested_for', 'stage'
        ]) }}
    ) as synced
    {{ not_yet_staged('deletions', 'request_id') }}

),

latest as (

    -- one row per sys_id even when a load holds the record twice (macros/dedup.sql)
    {{ sn_latest('source', source('servicenow', 'requests')) }}

),

renamed as (

    select
        source.sys_id as request_id,
        source.number as request_number,
        {{ sn_task_columns() }}
        nullif(source.request_state, '') as request_state,
        nullif(source.requested_for, '') as requested_for_id,
        nullif(source.stage, '') as request_stage,
        {{ safe_numeric('source.price', 18, 2) }} as price,
        {{ sn_record_columns() }}
    from latest as source  -- noqa: RF04
    left join deletions on source.sys_id = deletions.record_id

)

select * from renamed
