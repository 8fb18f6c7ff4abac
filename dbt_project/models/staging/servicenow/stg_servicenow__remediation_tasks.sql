-- Remediation tasks Project X pushed to ServiceNow (reverse sync), read back: correlation_id holds
-- the Project X remediation_task_id, state says whether the work is done at the vendor.
-- Incremental: a run stages only the rows of new dlt loads and newly deleted rows
-- (macros/incremental.sql), merged on the key.
{{ config(
    materialized='incremental',
    unique_key='remediation_record_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
) }}

with

deletions as (

    select * from {{ ref('stg_servicenow__deletions') }}
    where entity = 'remediation_tasks'

),

source as (

    select * from (
        {{ sn_source_or_empty('remediation_tasks', ['correlation_display']) }}
    ) as synced
    {{ not_yet_staged('deletions', 'remediation_record_id') }}

),

renamed as (

    select
        source.sys_id as remediation_record_id,
        source.number as remediation_record_number,
        {{ sn_task_columns() }}
        nullif(source.correlation_display, '') as correlation_display,
        {{ sn_record_columns() }}
    from source
    left join deletions on source.sys_id = deletions.record_id

)

select * from renamed
