{#-
    One row per vendor record when a load holds it twice (a retried page, an append-mode backfill, a
    load from before the table had its primary key): the newest by the vendor's own update stamp,
    then the later dlt load, then `more_order` (e.g. the higher ServiceNow mod count), then the
    smallest fingerprint of the whole raw row, so identical stamps with different content resolve
    the same way on every run (the fingerprint is per database: DuckDB and PostgreSQL spell a row
    differently, each always the same way). Unparseable stamps sort last (macros/safe_casts.sql).
-#}
{% macro latest_version(relation, id_expression, updated_at, more_order=[]) -%}
    select *
    from (
        select
            {{ relation }}.*,
            row_number() over (
                partition by {{ id_expression }}
                order by
                    {{ updated_at }} desc nulls last,
                    cast({{ relation }}._dlt_load_id as double precision) desc,
                    {%- for expression in more_order %}
                    {{ expression }},
                    {%- endfor %}
                    {{ row_fingerprint(relation) }}
            ) as version_rank
        from {{ relation }}
    ) as versions
    where version_rank = 1
{%- endmacro %}

{#- md5 of a relation's whole row as text. -#}
{% macro row_fingerprint(relation) -%}
    md5(cast({{ relation }} as {{ dbt.type_string() }}))
{%- endmacro %}
