{#- A JSON array of strings (dlt's json column) as one comma-separated string; null when empty. -#}
{% macro json_array_to_csv(column) -%}
    {{ return(adapter.dispatch('json_array_to_csv')(column)) }}
{%- endmacro %}

{% macro default__json_array_to_csv(column) -%}
    nullif((
        select string_agg(item.value, ',' order by item.position)
        from jsonb_array_elements_text(cast({{ column }} as jsonb)) with ordinality as item (value, position)
    ), '')
{%- endmacro %}

{% macro duckdb__json_array_to_csv(column) -%}
    nullif(array_to_string(cast(cast({{ column }} as json) as varchar[]), ','), '')
{%- endmacro %}
