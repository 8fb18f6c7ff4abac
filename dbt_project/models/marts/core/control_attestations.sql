-- Grain: one row per (control, calendar month) since control results were first recorded.
-- A month is attested when, at its end (or now, for the running month), no object fails the
-- control and evidence linked to the control was collected in the month.
with

catalog as (select * from {{ ref('control_catalog') }}),

history as (select * from {{ ref('control_result_history') }}),

links as (select * from {{ ref('evidence_links') }}),

evidence as (select * from {{ ref('evidence') }}),

intervals as (

    select
        control_id,
        status,
        evaluated_at,
        lag(status) over (partition by control_result_id order by evaluated_at) as previous_status,
        lead(evaluated_at) over (partition by control_result_id order by evaluated_at) as superseded_at
    from history

),

periods as (

    select distinct cast(date_trunc('month', evaluated_at) as timestamp) as period_start from history

),

at_period_end as (

    select
        periods.period_start,
        intervals.control_id,
        count(case when intervals.status != 'out_of_scope' then 1 end) as objects_in_scope,
        count(case when intervals.status = 'fail' then 1 end) as objects_failing
    from periods
    inner join intervals
        on
            intervals.evaluated_at < periods.period_start + interval '1 month'
            and coalesce(intervals.superseded_at >= periods.period_start + interval '1 month', true)
    group by periods.period_start, intervals.control_id

),

remediated as (

    select
        cast(date_trunc('month', evaluated_at) as timestamp) as period_start,
        control_id,
        count(*) as remediations_closed
    from intervals
    where previous_status = 'fail' and status != 'fail'
    group by cast(date_trunc('month', evaluated_at) as timestamp), control_id

),

evidenced as (

    select
        cast(date_trunc('month', evidence.created_at) as timestamp) as period_start,
        links.control_id,
        count(*) as evidence_items
    from links
    inner join evidence on links.evidence_id = evidence.evidence_id
    group by cast(date_trunc('month', evidence.created_at) as timestamp), links.control_id

),

counted as (

    select
        catalog.control_id,
        catalog.control_name,
        catalog.soc2,
        catalog.iso27001,
        catalog.owner,
        periods.period_start,
        cast(coalesce(at_period_end.objects_in_scope, 0) as integer) as objects_in_scope,
        cast(coalesce(at_period_end.objects_failing, 0) as integer) as objects_failing,
        cast(coalesce(remediated.remediations_closed, 0) as integer) as remediations_closed,
        cast(coalesce(evidenced.evidence_items, 0) as integer) as evidence_items,
        periods.period_start + interval '1 month' as period_end
    from catalog
    cross join periods
    left join at_period_end
        on catalog.control_id = at_period_end.control_id and periods.period_start = at_period_end.period_start
    left join remediated
        on catalog.control_id = remediated.control_id and periods.period_start = remediated.period_start
    left join evidenced
        on catalog.control_id = evidenced.control_id and periods.period_start = evidenced.period_start

),

final as (

    select
        *,
        'att-' || md5(control_id || ':' || cast(cast(period_start as date) as varchar)) as attestation_id,
        period_end <= {{ utc_now() }} as is_period_closed,
        case
            when objects_in_scope = 0 then 'not_evaluated'
            when objects_failing > 0 then 'exceptions'
            when evidence_items = 0 then 'insufficient_evidence'
            else 'attested'
        end as attestation_status
    from counted

)

select * from final
