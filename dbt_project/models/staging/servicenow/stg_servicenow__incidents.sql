-- Incremental: a run stages only the rows of new dlt loads and newly deleted rows
-- (macros/incremental.sql), merged on the key.
{{ config(
    materialized='incremental',
    unique_key='incident_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
) }}

with

deletions as (

    select * from {{ ref('stg_servicenow__deletions') }}
    where entity = 'incidents'

),

source as (

    select * from {{ source('servicenow', 'incidents') }}
    {{ not_yet_staged('deletions', 'incident_id') }}

),

latest as (

    -- one row per sys_id even when a load holds the record twice (macros/dedup.sql)
    {{ sn_latest('source', source('servicenow', 'incidents')) }}

),

renamed as (

    select
        source.sys_id as incident_id,
        source.number as incident_number,
        {{ sn_task_columns() }}
        nullif(source.caller_id, '') as caller_id,
        nullif(source.category, '') as category,
        nullif(source.subcategory, '') as subcategory,
        {{ sn_int('source.severity') }} as severity,
        nullif(source.problem_id, '') as problem_id,
        nullif(source.rfc, '') as change_request_id,
        nullif(source.close_code, '') as close_code,
        {{ sn_timestamp('source.resolved_at') }} as resolved_at,
        nullif(source.resolved_by, '') as resolved_by_id,
        {{ sn_int('source.reopen_count') }} as reopen_count,
        {{ sn_int('source.reassignment_count') }} as reassignment_count,
        nullif(source.business_service, '') as business_service_id,
        nullif(source.contact_type, '') as contact_type,
        {{ sn_record_columns() }}
    from latest as source  -- noqa: RF04
    left join deletions on source.sys_id = deletions.record_id

)

select * from renamed
