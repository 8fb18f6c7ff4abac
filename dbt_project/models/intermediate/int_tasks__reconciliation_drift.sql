-- Spec 3.2: nightly jobs compare external state with Project X; what they cannot heal becomes a task.
-- One open task per (vendor, entity, kind) still unhealed after the latest nightly run of that
-- vendor, for the connector owner's queue, carrying the counts and the connector's runbook id.
-- "Latest" is per vendor and producer: the census (which writes an in_parity row on a night it finds
-- nothing, so that night's parity closes the older tasks) and the reverse-sync reconciliation (link_*,
-- orphan_* kinds), whose rows land later in the same run and must not hide the census's.
with

findings as (

    select
        *,
        case
            when left(kind, 5) = 'link_' or left(kind, 7) = 'orphan_'
                then 'reverse_sync'
            else 'census'
        end as producer
    from {{ ref('stg_reconciliation__findings') }}

),

latest as (

    select
        *,
        first_value(run_id) over (
            partition by vendor, producer order by detected_at desc, run_id desc
        ) as last_run_id
    from findings

),

final as (

    -- columns in the order of the tasks mart: it stacks the task sources with union all
    select  -- noqa: ST06
        'reconciliation-' || vendor || '-' || entity || '-' || kind as task_id,
        'reconciliation_drift' as task_type,
        vendor as source_system,
        entity as source_record_id,
        'Follow ' || runbook_id || ': ' || cast(unhealed as varchar) || ' of ' || cast(found as varchar)
        || ' ' || vendor || ' ' || entity || ' ' || replace(kind, '_', ' ')
        || ' not healed (e.g. ' || coalesce(example_ids, '') || ')' as title,
        case when kind = 'deleted_at_vendor' then 'high' else 'medium' end as priority,
        owner_queue as queue,
        cast(null as varchar) as assignee_id,
        'runbook:' || runbook_id as labels,
        cast(null as varchar) as control_id,
        'open' as status,
        detected_at as created_at,
        detected_at + interval '1 day' as due_at,
        cast(null as timestamp) as source_loaded_at,
        cast(null as timestamp) as source_staged_at,
        cast(null as varchar) as vendor_resolution,
        cast(null as integer) as vendor_comment_count,
        cast(null as timestamp) as last_vendor_comment_at,
        cast(null as varchar) as last_vendor_comment_excerpt
    from latest
    where run_id = last_run_id and unhealed > 0

)

select * from final
