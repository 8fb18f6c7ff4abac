{#-
    Data tests on incremental models check the rows this run wrote, not the whole table again: such a
    test gets `config: {where: "staged_at >= __run_started_at__"}` (or the column that carries the
    staging run, e.g. source_staged_at), and this override of dbt's get_where_subquery puts this
    run's start in place of the placeholder. A full refresh writes every row, so it checks every
    row; `--vars '{test_all_rows: true}'` checks every row of an incremental model too. Sound for a
    unique test on the model's unique_key: delete+insert replaces a key's old row, so a duplicate can
    only arise among the rows written together.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where and '__run_started_at__' in where -%}
        {%- set since = "cast('1970-01-01' as timestamp)" if var('test_all_rows', false) else run_started_timestamp() -%}
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
