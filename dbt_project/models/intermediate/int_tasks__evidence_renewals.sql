-- Spec: tasks auto-generate for expiring evidence requiring renewal. Evidence that supports a
-- control (evidence_links), is still the latest of its kind on its vendor record and expires within
-- the renewal horizon (var evidence_renewal_horizon_days) becomes a renewal task in the queue of the
-- control's owner (the first control, by id, when it supports several), due when it expires.
-- A renewal denied with Slack's Deny button (notifications.task_decisions) stays closed across
-- builds; an approved one stays open; either way the decision is a label (decision:<it>).
with

evidence as (

    select * from {{ ref('evidence') }}
    where not is_deleted

),

latest as (

    select
        *,
        row_number() over (
            partition by source_system, evidence_type, record_table, coalesce(record_id, evidence_id)
            order by created_at desc, evidence_id desc
        ) as recency_rank
    from evidence

),

links as (

    select
        links.evidence_id,
        min(links.control_id) as control_id,
        string_agg('control:' || links.control_id, ',' order by links.control_id) as labels
    from {{ ref('evidence_links') }} as links
    group by links.evidence_id

),

catalog as (

    select * from {{ ref('control_catalog') }}

),

decisions as (

    select * from {{ ref('stg_notifications__task_decisions') }}

),

final as (

    -- columns in the order of the tasks mart: it stacks the task sources with union all
    select  -- noqa: ST06
        'evidence-renewal-' || latest.evidence_id as task_id,
        'evidence_renewal' as task_type,
        latest.source_system,
        latest.evidence_id as source_record_id,
        'Renew evidence for ' || links.control_id || ': ' || latest.title as title,
        case when latest.expires_at <= {{ utc_now() }} then 'high' else 'medium' end as priority,
        catalog.owner_queue as queue,
        cast(null as varchar) as assignee_id,
        links.labels || coalesce(',decision:' || decisions.decision, '') as labels,
        links.control_id,
        case when decisions.decision = 'denied' then 'closed' else 'open' end as status,
        latest.expires_at - {{ var('evidence_renewal_horizon_days') }} * interval '1 day' as created_at,
        date_trunc('second', latest.expires_at) as due_at,
        cast(null as timestamp) as source_loaded_at,
        cast(null as timestamp) as source_staged_at,
        cast(null as varchar) as vendor_resolution,
        cast(null as integer) as vendor_comment_count,
        cast(null as timestamp) as last_vendor_comment_at,
        cast(null as varchar) as last_vendor_comment_excerpt
    from latest
    inner join links on latest.evidence_id = links.evidence_id
    inner join catalog on links.control_id = catalog.control_id
    left join decisions on 'evidence-renewal-' || latest.evidence_id = decisions.task_id
    where
        latest.recency_rank = 1
        and latest.expires_at < {{ utc_now() }} + {{ var('evidence_renewal_horizon_days') }} * interval '1 day'

)

select * from final
