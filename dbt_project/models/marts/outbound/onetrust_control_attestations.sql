-- Grain: one row per (control, month) attestation to hold in OneTrust (spec 2.3: completed
-- remediation exports control attestations). Months with no objects in scope are not exported.
-- Reverse sync keys on attestation_id; a running month is re-sent as its counts change.
with

attestations as (

    select * from {{ ref('control_attestations') }}
    where attestation_status != 'not_evaluated'

),

final as (

    select
        attestation_id,
        control_id,
        control_name,
        soc2,
        iso27001,
        period_start,
        period_end,
        is_period_closed,
        attestation_status,
        objects_in_scope,
        objects_failing,
        remediations_closed,
        evidence_items,
        control_id || ' ' || cast(cast(period_start as date) as varchar) || ': ' || attestation_status || ' ('
        || cast(objects_in_scope as varchar) || ' in scope, ' || cast(objects_failing as varchar) || ' failing, '
        || cast(remediations_closed as varchar) || ' remediated, ' || cast(evidence_items as varchar)
        || ' evidence items)' as summary -- noqa: RF04
    from attestations

)

select * from final
