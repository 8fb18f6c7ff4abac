{#-
    Incremental filter for one slice of a model fed by several sources: keep rows loaded at or after
    the newest `column` already stored for that slice, less a lookback. Each slice keeps its own
    cursor because vendors load on their own schedules (a slow Jira load must not be skipped because
    a newer ServiceNow load was seen first); the lookback covers loads that committed out of order.
    Overlapping rows are harmless: the models use delete+insert on their unique key.
-#}
{% macro loaded_since_last_run(column, slice_condition, lookback_hours=1) -%}
    {%- if is_incremental() -%}
        where {{ column }} >= coalesce(
            (select max(t.{{ column }}) from {{ this }} as t where {{ slice_condition }}),
            cast('1970-01-01' as timestamp)
        ) - interval '{{ lookback_hours }} hour'
    {%- endif -%}
{%- endmacro %}
