-- Which configuration item each ServiceNow record concerns, so evidence on a record can be matched
-- by CI class. One row per (record table, record id); `record_table` uses ServiceNow table names.
with

incidents as (select * from {{ ref('stg_servicenow__incidents') }}),

changes as (select * from {{ ref('stg_servicenow__change_requests') }}),

cis as (select * from {{ ref('stg_servicenow__cmdb_cis') }}),

records as (

    select
        'incident' as record_table,
        incident_id as record_id,
        incident_number as record_label,
        cmdb_ci_id,
        staged_at
    from incidents
    union all
    select
        'change_request' as record_table,
        change_request_id as record_id,
        change_request_number as record_label,
        cmdb_ci_id,
        staged_at
    from changes
    union all
    select
        'cmdb_ci' as record_table,
        cmdb_ci_id as record_id,
        ci_name as record_label,
        cmdb_ci_id,
        staged_at
    from cis

),

final as (

    select
        records.record_table,
        records.record_id,
        records.record_label,
        records.cmdb_ci_id,
        cis.ci_class,
        records.staged_at
    from records
    left join cis on records.cmdb_ci_id = cis.cmdb_ci_id

)

select * from final
