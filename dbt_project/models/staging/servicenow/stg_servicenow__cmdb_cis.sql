-- Incremental: a run stages only the rows of new dlt loads and newly deleted rows
-- (macros/incremental.sql), merged on the key.
{{ config(
    materialized='incremental',
    unique_key='cmdb_ci_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
) }}

with

deletions as (

    select * from {{ ref('stg_servicenow__deletions') }}
    where entity = 'cmdb_cis'

),

source as (

    select * from {{ source('servicenow', 'cmdb_cis') }}
    {{ not_yet_staged('deletions', 'cmdb_ci_id') }}

),

latest as (

    -- one row per sys_id even when a load holds the record twice (macros/dedup.sql)
    {{ sn_latest('source', source('servicenow', 'cmdb_cis')) }}

),

renamed as (

    select
        source.sys_id as cmdb_ci_id,
        source.name as ci_name,
        source.sys_class_name as ci_class,
        nullif(source.short_description, '') as short_description,
        nullif(source.serial_number, '') as serial_number,
        nullif(source.asset_tag, '') as asset_tag,
        {{ sn_int('source.operational_status') }} as operational_status,
        {{ sn_int('source.install_status') }} as install_status,
        nullif(source.ip_address, '') as ip_address,
        nullif(source.fqdn, '') as fqdn,
        nullif(source.manufacturer, '') as manufacturer_id,
        nullif(source.model_id, '') as model_id,
        nullif(source.location, '') as location_id,
        nullif(source.support_group, '') as support_group_id,
        nullif(source.assigned_to, '') as assigned_to_id,
        nullif(source.managed_by, '') as managed_by_id,
        nullif(source.owned_by, '') as owned_by_id,
        nullif(source.environment, '') as environment,
        nullif(source.category, '') as category,
        nullif(source.subcategory, '') as subcategory,
        nullif(source.discovery_source, '') as discovery_source,
        {{ sn_timestamp('source.last_discovered') }} as last_discovered_at,
        {{ sn_record_columns() }}
    from latest as source  -- noqa: RF04
    left join deletions on source.sys_id = deletions.record_id

)

select * from renamed
