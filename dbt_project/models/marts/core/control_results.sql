-- Grain: one row per (control, object) at the latest evaluation.
-- A table, though int_control_evaluations holds the same rows: a view on it would be dropped (with
-- any analyst's view on top) each time PostgreSQL's table rebuild drops the old evaluations table.

with

results as (

    select * from {{ ref('int_control_evaluations') }}

),

final as (

    select
        control_result_id,
        control_id,
        object_type,
        object_id,
        object_label,
        cmdb_ci_id,
        status,
        reason,
        failed_since,
        evaluated_at
    from results

)

select * from final
