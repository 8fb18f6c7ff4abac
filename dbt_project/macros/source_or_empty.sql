{#-
    A source table that may not exist yet, e.g. `quarantine` before the first rejected record, or a
    vendor whose integration is switched off (feature flag integration.<name>.enabled). When it is
    missing, select no rows with the given columns instead, so downstream models still build.
    `columns` maps column name to data type. The source() call registers lineage at parse time.
-#}
{% macro source_or_empty(source_name, table_name, columns) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- if not execute or load_relation(relation) is not none -%}
        select * from {{ relation }}
    {%- else -%}
        select
        {%- for name, data_type in columns.items() %}
            cast(null as {{ data_type }}) as {{ name }}{{ "," if not loop.last }}
        {%- endfor %}
        where 1 = 0
    {%- endif -%}
{%- endmacro %}
