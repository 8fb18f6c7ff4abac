{#- An aggregate: the JSON array (as text) of one object per row, `pairs` a list of [key, expression]
    (values as JSON strings, or null), in `order_by` order; null over no rows. The same text-as-JSON on
    DuckDB and PostgreSQL, so a model's contract holds it as varchar on both. -#}
{% macro json_object_array_agg(pairs, order_by) -%}
    {{ return(adapter.dispatch('json_object_array_agg')(pairs, order_by)) }}
{%- endmacro %}

{% macro default__json_object_array_agg(pairs, order_by) -%}
    cast(json_agg(json_build_object(
        {%- for key, value in pairs %}'{{ key }}', cast({{ value }} as text){{ ", " if not loop.last }}{% endfor -%}
    ) order by {{ order_by }}) as text)
{%- endmacro %}

{% macro duckdb__json_object_array_agg(pairs, order_by) -%}
    {#- json_group_array is a macro there, taking no ORDER BY: the ordered list, as JSON -#}
    cast(to_json(list(json_object(
        {%- for key, value in pairs %}'{{ key }}', cast({{ value }} as varchar){{ ", " if not loop.last }}{% endfor -%}
    ) order by {{ order_by }})) as varchar)
{%- endmacro %}
