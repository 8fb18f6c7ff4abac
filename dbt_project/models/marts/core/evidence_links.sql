-- Grain: one row per (evidence item, control), from the rules in the evidence_rules seed: the
-- vendor table the evidence is attached to, the class of the CI that record concerns, or a label
-- on the evidence (e.g. Jira's control:CM-3). Deleted evidence is not linked.
with

evidence as (

    select * from {{ ref('evidence') }}
    where not is_deleted

),

record_cis as (

    select * from {{ ref('int_servicenow__record_cis') }}

),

rules as (

    select * from {{ ref('evidence_rules') }}

),

candidates as (

    select
        evidence.evidence_id,
        evidence.source_system,
        evidence.record_table,
        evidence.labels,
        record_cis.ci_class
    from evidence
    left join record_cis
        on evidence.record_table = record_cis.record_table and evidence.record_id = record_cis.record_id

),

final as (

    select
        candidates.evidence_id,
        rules.control_id,
        md5(candidates.evidence_id || ':' || rules.control_id) as evidence_link_id,
        string_agg(rules.match_on || ':' || rules.match_value, ', ' order by rules.match_on) as matched_by
    from candidates
    inner join rules
        on
            candidates.source_system = rules.vendor
            and (
                (rules.match_on = 'record_table' and candidates.record_table = rules.match_value)
                or (rules.match_on = 'ci_class' and candidates.ci_class = rules.match_value)
                or (rules.match_on = 'label' and ',' || candidates.labels || ',' like '%,' || rules.match_value || ',%')
            )
    group by candidates.evidence_id, rules.control_id

)

select * from final
