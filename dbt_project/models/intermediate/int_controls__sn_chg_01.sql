-- SN-CHG-01: every change request that is being or has been implemented was approved.
-- In scope: states -1 Implement, 0 Review and 3 Closed; canceled (4) and not-yet-implemented
-- changes are out of scope, as are deleted ones.
with

changes as (

    select * from {{ ref('stg_servicenow__change_requests') }}
    where state in (-1, 0, 3) and not is_deleted

),

final as (

    select
        'SN-CHG-01' as control_id,
        'servicenow_change_request' as object_type,
        change_request_id as object_id,
        change_request_number as object_label,
        cmdb_ci_id,
        case when approval = 'approved' then 'pass' else 'fail' end as status,
        case
            when approval = 'approved' then null
            else 'implemented without approval (approval: ' || coalesce(approval, 'none') || ')'
        end as reason,
        -- it failed when implementation started without approval
        case when approval = 'approved' then null else coalesce(planned_start_at, opened_at) end
            as failed_since
    from changes

)

select * from final
