-- Grain: one row per (stored file, control) the Evidence Library's classification linked it to
-- (evidence_classification_rules, applied to the file's content when it was ingested).
with

files as (

    select * from {{ ref('evidence_files') }}
    where control_ids != ''

),

final as (

    select
        sha256,
        evidence_class,
        unnest(string_to_array(control_ids, ' ')) as control_id
    from files

)

select * from final
