-- Rules: evidence requested (an open evidence renewal task, with Approve/Deny buttons) and evidence
-- expiring (linked evidence that expires within 7 days). Grain: one row per renewal task, and one
-- per (evidence item, expiry date); each kind forms one summary per cycle.
{{ config(materialized='ephemeral') }}

with

renewals as (

    select * from {{ ref('tasks') }}
    where task_type = 'evidence_renewal' and status = 'open'

),

expiring as (

    select distinct evidence.*
    from {{ ref('evidence') }} as evidence
    inner join {{ ref('evidence_links') }} as links on evidence.evidence_id = links.evidence_id
    where evidence.expires_at between {{ utc_now() }} and {{ utc_now() }} + interval '7 day'

),

requested as (

    select
        'evidence_requested:' || task_id as event_key,
        'evidence_requested' as event_type,
        priority as severity,
        task_id as subject_id,
        cast(null as varchar) as group_key,
        cast(null as varchar) as thread_key,
        'Evidence renewals requested' as summary_title,
        title,
        'Renewal due ' || coalesce(cast(due_at as varchar), 'unset') || '. Approve to request it, deny to waive.'
            as body,
        cast(null as varchar) as link_url,
        cast(null as varchar) as assignee_ref,
        cast(null as varchar) as runbook_id,
        'approval' as action_kind,
        created_at as occurred_at
    from renewals

),

expiring_soon as (

    select
        'evidence_expiring:' || evidence_id || ':' || cast(cast(expires_at as date) as varchar) as event_key,
        'evidence_expiring' as event_type,
        'medium' as severity,
        evidence_id as subject_id,
        'evidence_expiring' as group_key,
        cast(null as varchar) as thread_key,
        'Evidence expiring within 7 days' as summary_title,
        coalesce(title, evidence_id) || ' expires ' || cast(cast(expires_at as date) as varchar) as title,
        'Source ' || source_system || ', ' || evidence_type || '.' as body,
        cast(null as varchar) as link_url,
        cast(null as varchar) as assignee_ref,
        cast(null as varchar) as runbook_id,
        cast(null as varchar) as action_kind,
        expires_at as occurred_at
    from expiring

),

final as (

    select * from requested
    union all
    select * from expiring_soon

)

select * from final
