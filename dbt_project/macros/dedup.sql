{#-
    One row per vendor record when a load holds it twice (a retried page, an append-mode backfill, a
    load from before the table had its primary key): the newest by the vendor's own update stamp,
    then the later dlt load, then `more_order` (each the higher first, e.g. ServiceNow's mod count), then the
    smallest fingerprint of the row's text, so identical stamps with different content resolve the
    same way on every run and on both warehouses. Unparseable stamps sort last (macros/safe_casts.sql).

    `fingerprint_of`: the raw source relation whose text columns make the fingerprint
    (row_fingerprint below); without it the fingerprint is the whole row as each database spells it.
    The order keys are computed only for ids held more than once (`copies`): a record loaded once, the
    usual case, costs a count and a row number, not a timestamp parse and an md5.
-#}
{% macro latest_version(relation, id_expression, updated_at, more_order=[], fingerprint_of=none) -%}
    {%- set keys = [(updated_at, 'desc'), ('cast(' ~ relation ~ '._dlt_load_id as double precision)', 'desc')] -%}
    {%- for expression in more_order -%}
        {%- do keys.append((expression, 'desc')) -%}
    {%- endfor -%}
    {%- for expression in row_fingerprint(relation, fingerprint_of) -%}
        {%- do keys.append((expression, 'asc')) -%}
    {%- endfor -%}
    select *
    from (
        select
            {{ relation }}.*,
            row_number() over (
                partition by {{ id_expression }}
                order by
                    {%- for expression, direction in keys %}
                    case when {{ relation }}._dedup_copies > 1 then {{ expression }} end {{ direction }} nulls last
                    {{- "," if not loop.last }}
                    {%- endfor %}
            ) as version_rank
        from (
            select
                {{ relation }}.*,
                count(*) over (partition by {{ id_expression }}) as _dedup_copies
            from {{ relation }}
        ) as {{ relation }}
    ) as versions
    where version_rank = 1
{%- endmacro %}

{#-
    md5 of a row's text, the same on DuckDB and PostgreSQL for the same raw values: the source's text
    columns (every ServiceNow field; Jira's and OneTrust's strings) in name order, each as its length,
    ':' and the value ('~' for null), joined by '|' (the lengths keep 'a|b' + 'c' apart from 'a' +
    'b|c'). dlt's own _dlt_id (random per row and load) and _dlt_load_id (ordered on before) are left
    out, so the same record loaded into both warehouses fingerprints alike. Rows whose text columns are
    all equal (they differ only in a JSON or number column) fall back to the whole row as the database
    spells it: still the same on every run, not necessarily on both warehouses.
-#}
{% macro row_fingerprint(relation, fingerprint_of=none) -%}
    {%- set whole_row = 'md5(cast(' ~ relation ~ ' as ' ~ dbt.type_string() ~ '))' -%}
    {%- set names = fingerprint_text_columns(fingerprint_of) -%}
    {%- if not names -%}
        {{ return([whole_row]) }}
    {%- endif -%}
    {%- set parts = [] -%}
    {%- for name in names -%}
        {%- set column = relation ~ '.' ~ adapter.quote(name) -%}
        {%- do parts.append("coalesce(cast(length(" ~ column ~ ") as " ~ dbt.type_string() ~ ") || ':' || "
                            ~ column ~ ", '~')") -%}
    {%- endfor -%}
    {{ return(['md5(' ~ parts | join(" || '|' || ") ~ ')', whole_row]) }}
{%- endmacro %}

{#- The text columns of a relation, lower-case and sorted, without dlt's row and load ids; empty at
    parse time and when the relation does not exist yet. -#}
{% macro fingerprint_text_columns(relation) -%}
    {%- if not execute or relation is none -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set names = [] -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- if column.is_string() and column.name | lower not in ('_dlt_id', '_dlt_load_id') -%}
            {%- do names.append(column.name | lower) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(names | sort) }}
{%- endmacro %}

{#- ServiceNow's tables: by sys_id, newest sys_updated_on, then the higher sys_mod_count. -#}
{% macro sn_latest(relation, raw_relation) -%}
    {{ latest_version(relation, relation ~ '.sys_id', sn_timestamp(relation ~ '.sys_updated_on'),
                      [sn_int(relation ~ '.sys_mod_count')], raw_relation) }}
{%- endmacro %}
