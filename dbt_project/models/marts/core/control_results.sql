-- Grain: one row per (control, object) at the latest evaluation.
-- A view: int_control_evaluations is the table that holds this evaluation (rebuilt every run, as
-- controls with SLAs change status with the clock); copying its rows into a second table cost a
-- rewrite of every result per run and bought nothing.
{{ config(materialized='view') }}

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
