-- Incremental: a run stages only the rows of new dlt loads and newly deleted rows
-- (macros/incremental.sql), merged on the key.
{{ config(
    materialized='incremental',
    unique_key='change_request_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
) }}

with

deletions as (

    select * from {{ ref('stg_servicenow__deletions') }}
    where entity = 'change_requests'

),

source as (

    select * from (
        {{ sn_source_or_empty('change_requests', [
            'business_service', 'cab_date', 'category', 'close_code', 'close_notes', 'end_date',
            'phase', 'requested_by', 'risk', 'start_date', 'type'
        ]) }}
    ) as synced
    {{ not_yet_staged('deletions', 'change_request_id') }}

),

latest as (

    -- one row per sys_id even when a load holds the record twice (macros/dedup.sql)
    {{ sn_latest('source', source('servicenow', 'change_requests')) }}

),

renamed as (

    select
        source.sys_id as change_request_id,
        source.number as change_request_number,
        {{ sn_task_columns() }}
        nullif(source.type, '') as change_type,
        nullif(source.phase, '') as phase,
        {{ sn_int('source.risk') }} as risk,
        nullif(source.category, '') as category,
        nullif(source.requested_by, '') as requested_by_id,
        {{ sn_timestamp('source.start_date') }} as planned_start_at,
        {{ sn_timestamp('source.end_date') }} as planned_end_at,
        {{ safe_date('source.cab_date') }} as cab_date,
        nullif(source.business_service, '') as business_service_id,
        nullif(source.close_code, '') as close_code,
        nullif(source.close_notes, '') as close_notes,
        {{ sn_record_columns() }}
    from latest as source  -- noqa: RF04
    left join deletions on source.sys_id = deletions.record_id

)

select * from renamed
