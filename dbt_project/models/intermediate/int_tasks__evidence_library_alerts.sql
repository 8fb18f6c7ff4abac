-- Spec 2.6: a permission error at an evidence store becomes an actionable task (its message names
-- what to grant: one task per distinct message, however many files it held up), and an infected
-- file (security alert) becomes a task to review it. Both go to the integrations queue, due in a day.
with

alerts as (

    select * from {{ ref('stg_evidence_stores__library_alerts') }}
    where kind in ('permission_task', 'security_alert')

),

grouped as (

    select
        kind,
        provider,
        message,
        min(alert_seq) as first_seq,
        min(sha256) as sha256,
        min(raised_at) as raised_at,
        max(raised_at) as last_raised_at
    from alerts
    group by kind, provider, message

),

final as (

    -- columns in the order of the tasks mart: it stacks the task sources with union all
    select  -- noqa: ST06
        'evidence-' || replace(kind, '_', '-') || '-' || cast(first_seq as varchar) as task_id,
        case when kind = 'permission_task' then 'evidence_access' else 'evidence_security_review' end as task_type,
        provider as source_system,
        coalesce(sha256, cast(first_seq as varchar)) as source_record_id,
        message as title,
        'high' as priority,
        'integrations' as queue,
        cast(null as varchar) as assignee_id,
        'evidence-library' as labels,
        cast(null as varchar) as control_id,
        'open' as status,
        raised_at as created_at,
        raised_at + interval '1 day' as due_at,
        last_raised_at as source_loaded_at,
        cast(null as timestamp) as source_staged_at,
        cast(null as varchar) as vendor_resolution,
        cast(null as integer) as vendor_comment_count,
        cast(null as timestamp) as last_vendor_comment_at,
        cast(null as varchar) as last_vendor_comment_excerpt
    from grouped

)

select * from final
