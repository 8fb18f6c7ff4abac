-- Grain: one row per (control, object) each time its status changes, stamped with the evaluation
-- that saw the change. Objects that leave a control's scope (deleted, canceled, retired) get an
-- 'out_of_scope' row. Append-only and never rebuilt (full_refresh=false): the vendors keep no history.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=false,
    on_schema_change='append_new_columns',
) }}

with

results as (

    select * from {{ ref('control_results') }}

),

{% if is_incremental() %}
    latest as (

        select * from (
            select
                *,
                row_number() over (partition by control_result_id order by evaluated_at desc) as version_rank
            from {{ this }}
        ) as ranked
        where version_rank = 1

    ),
{% endif %}

changed as (

    select results.*
    from results
    {% if is_incremental() %}
        left join latest on results.control_result_id = latest.control_result_id
        where latest.control_result_id is null or latest.status != results.status
    {% endif %}

),

{% if is_incremental() %}
    left_scope as (

        select
            latest.control_result_id,
            latest.control_id,
            latest.object_type,
            latest.object_id,
            latest.object_label,
            'out_of_scope' as status,
            cast(null as varchar) as reason,
            cast(null as timestamp) as failed_since,
            coalesce((select max(r.evaluated_at) from results as r), {{ utc_now() }}) as evaluated_at
        from latest
        left join results on latest.control_result_id = results.control_result_id
        where results.control_result_id is null and latest.status != 'out_of_scope'

    ),
{% endif %}

final as (

    select
        control_result_id,
        control_id,
        object_type,
        object_id,
        object_label,
        status,
        reason,
        failed_since,
        evaluated_at,
        md5(control_result_id || ':' || cast(evaluated_at as varchar)) as control_result_history_id
    from changed
    {% if is_incremental() %}
        union all
        select
            *,
            md5(control_result_id || ':' || cast(evaluated_at as varchar)) as control_result_history_id
        from left_scope
    {% endif %}

)

select * from final
