-- Grain: one row per (evidence item, control), from the rules in the evidence_rules seed: the
-- vendor table the evidence is attached to, the class of the CI that record concerns, or a label
-- on the evidence (e.g. Jira's control:CM-3); and from the Evidence Library's classification of the
-- file's content (evidence_classification_rules). Deleted evidence is not linked.
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

file_controls as (

    select * from {{ ref('int_evidence__file_controls') }}

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

by_rules as (

    select
        candidates.evidence_id,
        rules.control_id,
        rules.match_on,
        rules.match_value
    from candidates
    inner join rules
        on
            candidates.source_system = rules.vendor
            and (
                (rules.match_on = 'record_table' and candidates.record_table = rules.match_value)
                or (rules.match_on = 'ci_class' and candidates.ci_class = rules.match_value)
                or (rules.match_on = 'label' and ',' || candidates.labels || ',' like '%,' || rules.match_value || ',%')
            )

),

by_classification as (

    select
        evidence.evidence_id,
        file_controls.control_id,
        'classification' as match_on,
        file_controls.evidence_class as match_value
    from evidence
    inner join file_controls on evidence.sha256 = file_controls.sha256
    where evidence.content_status = 'stored'

),

matches as (

    select * from by_rules
    union all
    select * from by_classification

),

final as (

    select
        evidence_id,
        control_id,
        md5(evidence_id || ':' || control_id) as evidence_link_id,
        string_agg(match_on || ':' || match_value, ', ' order by match_on, match_value) as matched_by
    from matches
    group by evidence_id, control_id

)

select * from final
