-- Spec 2.3: a completed OneTrust assessment (PIA, vendor, control) is an evidence snapshot, linked
-- to requirements through its labels (template:<type>). The record stays in onetrust.assessments;
-- sha256 fingerprints the attested facts, so a changed outcome is a changed snapshot.
with

assessments as (

    select * from {{ ref('stg_onetrust__assessments') }}
    where status = 'Completed'

),

final as (

    -- columns in the order of the evidence mart: it stacks the evidence sources with union all
    select  -- noqa: ST06
        'onetrust-assessment-' || assessment_id as evidence_id,
        'snapshot' as evidence_type,
        'onetrust' as source_system,
        'source:onetrust' as tags,
        template_type || ' assessment ' || cast(assessment_number as varchar) || ': ' || assessment_name as title,
        'application/json' as content_type,
        cast(null as bigint) as size_bytes,
        {{ sha256_hex(
            "assessment_id || '|' || coalesce(approval_state, '') || '|' || coalesce(risk_level, '')"
            ~ " || '|' || coalesce(cast(completed_at as varchar), '')"
        ) }} as sha256,
        'warehouse://onetrust/assessments/' || assessment_id as storage_uri,
        'stored' as content_status,
        'assessment' as record_table,
        assessment_id as record_id,
        'template:' || template_type || ',risk:' || coalesce(risk_level, 'unknown') as labels,
        completed_at as created_at,
        is_deleted,
        loaded_at as source_loaded_at,
        cast(null as timestamp) as source_staged_at
    from assessments

)

select * from final
