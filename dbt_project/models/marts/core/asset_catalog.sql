-- Grain: one row per CMDB configuration item ServiceNow still has (spec 2.1: CI ownership into
-- the asset catalog), with its ownership and how many open incidents concern it.
with

cis as (

    select * from {{ ref('stg_servicenow__cmdb_cis') }}
    where not is_deleted

),

open_incidents as (

    select
        cmdb_ci_id,
        count(*) as open_incident_count
    from {{ ref('stg_servicenow__incidents') }}
    where is_active and not is_deleted and cmdb_ci_id is not null
    group by cmdb_ci_id

),

final as (

    select
        cis.cmdb_ci_id,
        cis.ci_name,
        cis.ci_class,
        cis.environment,
        cis.fqdn,
        cis.ip_address,
        cis.operational_status,
        cis.install_status,
        cis.owned_by_id,
        cis.managed_by_id,
        cis.support_group_id,
        cis.last_discovered_at,
        cis.updated_at,
        cast(coalesce(open_incidents.open_incident_count, 0) as integer) as open_incident_count,
        coalesce(cis.install_status = 7, false) as is_retired,
        cis.owned_by_id is not null as has_owner,
        case
            when cis.install_status = 7 then 'retired'
            when cis.owned_by_id is null then 'missing_owner'
            else 'owned'
        end as ownership_status
    from cis
    left join open_incidents on cis.cmdb_ci_id = open_incidents.cmdb_ci_id

)

select * from final
