{#-
    Data tests on incremental models check the rows written since the last clean build, not the whole
    table again: such a test gets `config: {where: "staged_at >= __run_started_at__"}` (or the column
    that carries the staging run, e.g. source_staged_at), and this override of dbt's
    get_where_subquery puts a watermark in place of the placeholder: the start of the last build in
    which every node passed (dbt_meta.clean_builds, written by on-run-end). Rows staged by a build
    whose tests failed stay in scope until a build passes, so a rerun that stages nothing new cannot
    wave them through. A full refresh writes every row, so it checks every row;
    `--vars '{test_all_rows: true}'` checks every row of an incremental model too. Sound for a unique
    test on the model's unique_key: delete+insert replaces a key's old row, so a duplicate can only
    arise among the rows written since the watermark.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where and '__run_started_at__' in where -%}
        {%- set since = "cast('1970-01-01' as timestamp)" if var('test_all_rows', false) else last_clean_build() -%}
        {%- set where = where.replace('>= __run_started_at__', '> ' ~ since) -%}
        {%- set where = where.replace('__run_started_at__', since) -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') as dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{#- This dbt invocation's start as a UTC timestamp: the staged_at every row written by the run gets. -#}
{% macro run_started_timestamp() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{#- The start of the last build whose nodes all passed (1970 if none): the test scope's watermark. -#}
{% macro last_clean_build() -%}
    (select coalesce(max(run_started_at), cast('1970-01-01' as timestamp)) from dbt_meta.clean_builds)
{%- endmacro %}

{#- on-run-start: the watermark table exists before any test reads it. -#}
{% macro create_clean_builds() -%}
    create schema if not exists dbt_meta;
    create table if not exists dbt_meta.clean_builds (run_started_at timestamp not null, invocation_id text)
{%- endmacro %}

{#- on-run-end: record this build as clean only if nothing errored, failed or was skipped. -#}
{% macro record_clean_build(results) -%}
    {%- set bad = results | selectattr('status', 'in', ['error', 'fail', 'skipped', 'runtime error']) | list -%}
    {%- if execute and results and not bad -%}
        insert into dbt_meta.clean_builds (run_started_at, invocation_id)
        values ({{ run_started_timestamp() }}, '{{ invocation_id }}')
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
