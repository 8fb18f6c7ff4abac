-- Grain: one row per (control, month) attestation to hold in OneTrust (spec 2.3: completed
-- remediation exports control attestations). Months with no objects in scope are not exported.
-- Reverse sync keys on attestation_id (OneTrust externalId); a running month is re-sent as its
-- counts change. For the running month, remediation tasks closed at the vendor (Jira issues done,
-- not as Won't Do; ServiceNow records Closed Complete) count too: when every failing object's
-- remediation is closed there, the result is partially effective (remediated, awaiting the next
-- evaluation) instead of ineffective.
with

attestations as (

    select * from {{ ref('control_attestations') }}
    where attestation_status != 'not_evaluated'

),

tasks as (

    select * from {{ ref('tasks') }}
    where task_type = 'control_remediation'

),

links as (select * from {{ ref('evidence_links') }}),

evidence as (select * from {{ ref('evidence') }}),

closed_at_vendor as (

    select
        control_id,
        cast(sum(case when status = 'closed' then 1 else 0 end) as integer) as remediation_tasks_closed
    from tasks
    group by control_id

),

ranked_evidence as (

    select
        links.control_id,
        cast(date_trunc('month', evidence.created_at) as timestamp) as period_start,
        evidence.evidence_id,
        evidence.title,
        evidence.storage_uri,
        evidence.sha256,
        evidence.title || ' <' || coalesce(evidence.storage_uri, evidence.evidence_id) || '>' as reference,
        row_number() over (
            partition by links.control_id, date_trunc('month', evidence.created_at)
            order by evidence.created_at desc, evidence.evidence_id asc
        ) as newest
    from links
    inner join evidence on links.evidence_id = evidence.evidence_id

),

evidence_refs as (

    select
        control_id,
        period_start,
        string_agg(reference, ' | ' order by reference) as evidence_refs,
        -- the same items as data (titles are vendor file names: ' | ' or ' <' in one split the text)
        {{ json_object_array_agg([['evidence_id', 'evidence_id'], ['title', 'title'],
                                  ['storage_uri', 'storage_uri'], ['sha256', 'sha256']],
                                 'reference, evidence_id') }} as evidence_json
    from ranked_evidence
    where newest <= 5
    group by control_id, period_start

),

joined as (

    select
        attestations.*,
        evidence_refs.evidence_refs,
        evidence_refs.evidence_json,
        case
            when attestations.is_period_closed then 0
            else coalesce(closed_at_vendor.remediation_tasks_closed, 0)
        end as remediation_tasks_closed
    from attestations
    left join closed_at_vendor on attestations.control_id = closed_at_vendor.control_id
    left join evidence_refs
        on
            attestations.control_id = evidence_refs.control_id
            and attestations.period_start = evidence_refs.period_start

),

final as (

    select
        attestation_id,
        control_id,
        control_name,
        soc2,
        iso27001,
        owner,
        period_start,
        period_end,
        is_period_closed,
        attestation_status,
        objects_in_scope,
        objects_failing,
        remediations_closed,
        evidence_items,
        remediation_tasks_closed,
        evidence_refs,
        evidence_json,
        case
            when attestation_status = 'attested' then 'EFFECTIVE'
            when attestation_status = 'insufficient_evidence' then 'PARTIALLY_EFFECTIVE'
            when not is_period_closed and remediation_tasks_closed >= objects_failing then 'PARTIALLY_EFFECTIVE'
            else 'INEFFECTIVE'
        end as onetrust_result,
        control_id || ' ' || cast(cast(period_start as date) as varchar) || ': ' || attestation_status || ' ('
        || cast(objects_in_scope as varchar) || ' in scope, ' || cast(objects_failing as varchar) || ' failing, '
        || cast(remediations_closed as varchar) || ' remediated, ' || cast(remediation_tasks_closed as varchar)
        || ' remediation tasks closed at the vendor, ' || cast(evidence_items as varchar)
        || ' evidence items)' as summary -- noqa: RF04
    from joined

)

select * from final
