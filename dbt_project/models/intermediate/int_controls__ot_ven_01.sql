-- OT-VEN-01: every high-risk vendor (criticality Critical or High) has a completed assessment
-- younger than 12 months. Failing since the last assessment expired, or since the vendor was added.
with

vendors as (

    select * from {{ ref('stg_onetrust__vendors') }}
    where criticality in ('Critical', 'High') and not is_deleted

),

last_assessed as (

    select
        vendor_id,
        max(completed_at) as last_assessed_at
    from {{ ref('stg_onetrust__vendor_assessments') }}
    where status = 'Completed' and not is_deleted
    group by vendor_id

),

final as (

    select
        'OT-VEN-01' as control_id,
        'onetrust_vendor' as object_type,
        vendors.vendor_id as object_id,
        vendors.vendor_name as object_label,
        cast(null as varchar) as cmdb_ci_id,
        case
            when last_assessed.last_assessed_at >= {{ utc_now() }} - interval '12 month' then 'pass'
            else 'fail'
        end as status,
        case
            when last_assessed.last_assessed_at >= {{ utc_now() }} - interval '12 month' then null
            when last_assessed.last_assessed_at is null then vendors.criticality || ' vendor never assessed'
            else
                vendors.criticality || ' vendor last assessed '
                || cast(cast(last_assessed.last_assessed_at as date) as varchar) || ', over 12 months ago'
        end as reason,
        case
            when last_assessed.last_assessed_at >= {{ utc_now() }} - interval '12 month' then null
            else coalesce(last_assessed.last_assessed_at + interval '12 month', vendors.created_at)
        end as failed_since
    from vendors
    left join last_assessed on vendors.vendor_id = last_assessed.vendor_id

)

select * from final
