-- Grain: one row per (control, object) at this evaluation.
with

results as (

    select * from {{ ref('int_control_evaluations') }}

),

final as (

    select
        md5(control_id || ':' || object_id) as control_result_id,
        control_id,
        object_type,
        object_id,
        object_label,
        cmdb_ci_id,
        status,
        reason,
        failed_since,
        {{ utc_now() }} as evaluated_at
    from results

)

select * from final
