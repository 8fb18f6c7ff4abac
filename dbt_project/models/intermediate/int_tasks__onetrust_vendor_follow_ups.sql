-- Spec 2.3: each vendor issue (a risk-register entry on a vendor) gets a follow-up questionnaire
-- task for vendor management, prioritised and due by its risk level (risk_due_date_rules); it
-- closes when the risk is treated (reduced or retained) or deleted.
with

risks as (

    select * from {{ ref('stg_onetrust__risks') }}
    where risk_type = 'VENDORS'

),

rules as (

    select * from {{ ref('risk_due_date_rules') }}

),

final as (

    -- columns in the order of the tasks mart: it stacks the task sources with union all
    select  -- noqa: ST06
        'onetrust-vendor-risk-' || risks.risk_id as task_id,
        'vendor_follow_up' as task_type,
        'onetrust' as source_system,
        risks.risk_id as source_record_id,
        {{ bounded_title(
            "'Send a follow-up questionnaire to ' || coalesce(risks.source_name, 'the vendor') || ': '"
            ~ " || risks.risk_name"
        ) }} as title,
        coalesce(rules.task_priority, 'medium') as priority,
        'vendor-management' as queue,
        risks.owner_id as assignee_id,
        'risk:' || coalesce(risks.risk_level, 'unknown') as labels,
        cast(null as varchar) as control_id,
        case
            when risks.risk_state in ('REDUCED', 'RETAINED') or risks.is_deleted then 'closed' else 'open'
        end as status,
        risks.created_at,
        date_trunc('second', risks.created_at + rules.due_in_days * interval '1 day') as due_at,
        risks.loaded_at as source_loaded_at,
        cast(null as timestamp) as source_staged_at,
        cast(null as varchar) as vendor_resolution,
        cast(null as integer) as vendor_comment_count,
        cast(null as timestamp) as last_vendor_comment_at,
        cast(null as varchar) as last_vendor_comment_excerpt
    from risks
    left join rules on risks.risk_level = rules.risk_level

)

select * from final
