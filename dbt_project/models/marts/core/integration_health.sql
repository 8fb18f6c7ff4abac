-- Grain: one row per connector at this check (dbt run). The inputs of the status light (spec 6.1:
-- the last sync must be younger than twice its interval; 2.3: no success in 24 hours is red).
-- Failed runs and webhook backlog live in Dagster, not here. An evidence store provider paused by a
-- quota error (spec 2.6) is a red row of its own, evidence_store:<provider>, with the reason.
with

connectors as (

    select * from {{ ref('connector_sync_intervals') }}
    where environment = '{{ env_var("PROJECTX_ENV", "local") }}'

),

loads as (

    select
        connector,
        max(completed_at) as last_load_at,
        count(*) as loads_total
    from {{ ref('int_integration_loads') }}
    group by connector

),

events as (

    select
        connector,
        count(case when event_type = 'quarantined' and occurred_at >= {{ utc_now() }} - interval '24 hour' then 1 end)
            as quarantined_24h,
        count(case when event_type = 'deleted' and occurred_at >= {{ utc_now() }} - interval '24 hour' then 1 end)
            as deleted_24h
    from {{ ref('int_integration_events') }}
    group by connector

),

measured as (

    select
        connectors.connector,
        connectors.environment,
        connectors.interval_minutes,
        loads.last_load_at,
        cast({{ minutes_between('loads.last_load_at', utc_now()) }} as numeric(12, 1)) as minutes_since_last_load,
        cast(coalesce(loads.loads_total, 0) as integer) as loads_total,
        cast(coalesce(events.quarantined_24h, 0) as integer) as quarantined_24h,
        cast(coalesce(events.deleted_24h, 0) as integer) as deleted_24h,
        {{ utc_now() }} as checked_at,
        cast(null as varchar) as paused_reason
    from connectors
    left join loads on connectors.connector = loads.connector
    left join events on connectors.connector = events.connector

),

paused_stores as (

    select
        'evidence_store:' || provider as connector,
        '{{ env_var("PROJECTX_ENV", "local") }}' as environment,
        cast(null as integer) as interval_minutes,
        cast(null as timestamp) as last_load_at,
        cast(null as numeric(12, 1)) as minutes_since_last_load,
        0 as loads_total,
        0 as quarantined_24h,
        0 as deleted_24h,
        {{ utc_now() }} as checked_at,
        paused_reason
    from {{ ref('stg_evidence_stores__library_pauses') }}

),

checked as (

    select * from measured
    union all
    select * from paused_stores

),

final as (

    select
        *,
        case
            when paused_reason is not null then 'red'
            when last_load_at is null or minutes_since_last_load > 24 * 60 then 'red'
            when minutes_since_last_load > 2 * interval_minutes or quarantined_24h > 0 then 'amber'
            else 'green'
        end as status_light
    from checked

)

select * from final
