-- Spec 2.3: every imported PIA is a review task for the privacy officers; its priority and due date
-- (created + days) follow the PIA's risk level through the risk_due_date_rules seed.
with

pias as (

    select * from {{ ref('stg_onetrust__assessments') }}
    where template_type = 'PIA'

),

rules as (

    select * from {{ ref('risk_due_date_rules') }}

),

final as (

    -- columns in the order of the tasks mart: it stacks the task sources with union all
    select  -- noqa: ST06
        'onetrust-pia-' || pias.assessment_id as task_id,
        'pia_review' as task_type,
        'onetrust' as source_system,
        pias.assessment_id as source_record_id,
        {{ bounded_title(
            "'Review PIA ' || cast(pias.assessment_number as varchar) || ': ' || pias.assessment_name"
        ) }} as title,
        coalesce(rules.task_priority, 'medium') as priority,
        'privacy-officer' as queue,
        cast(null as varchar) as assignee_id,
        'risk:' || coalesce(pias.risk_level, 'unknown') as labels,
        cast(null as varchar) as control_id,
        case when pias.status = 'Completed' or pias.is_deleted then 'closed' else 'open' end as status,
        pias.created_at,
        date_trunc('second', pias.created_at + rules.due_in_days * interval '1 day') as due_at,
        pias.loaded_at as source_loaded_at,
        cast(null as timestamp) as source_staged_at,
        cast(null as varchar) as vendor_resolution,
        cast(null as integer) as vendor_comment_count,
        cast(null as timestamp) as last_vendor_comment_at,
        cast(null as varchar) as last_vendor_comment_excerpt
    from pias
    left join rules on pias.risk_level = rules.risk_level

)

select * from final
