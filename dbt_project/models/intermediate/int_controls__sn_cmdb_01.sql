-- SN-CMDB-01: every configuration item that is not retired (install status 7) has an owner.
with

cis as (

    select * from {{ ref('stg_servicenow__cmdb_cis') }}
    where coalesce(install_status, 0) != 7 and not is_deleted

),

final as (

    select
        'SN-CMDB-01' as control_id,
        'servicenow_cmdb_ci' as object_type,
        cmdb_ci_id as object_id,
        ci_name as object_label,
        cmdb_ci_id,
        case when owned_by_id is null then 'fail' else 'pass' end as status,
        case when owned_by_id is null then ci_class || ' has no owner (owned_by is empty)' end as reason,
        -- the vendor keeps no field history: the last update is the latest the owner can have gone
        case when owned_by_id is null then updated_at end as failed_since
    from cis

)

select * from final
