{#-
    Data tests on incremental models check the rows this run wrote, not the whole table again: give
    such a test `config: {where: "__staged_this_run__"}` and this override of dbt's
    get_where_subquery turns the placeholder into `staged_at >= <this run's start>`. A full refresh
    writes every row, so it checks every row; `--vars '{test_all_rows: true}'` checks every row of
    an incremental model too. Sound for a unique test on the model's unique_key: delete+insert
    replaces a key's old row, so a duplicate can only arise among the rows written together.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where and '__staged_this_run__' in where -%}
        {%- set where = where.replace('__staged_this_run__', staged_this_run_condition()) -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') as dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{% macro staged_this_run_condition() -%}
    {%- if var('test_all_rows', false) -%}
        1 = 1
    {%- else -%}
        staged_at >= {{ run_started_timestamp() }}
    {%- endif -%}
{%- endmacro %}

{#- This dbt invocation's start as a UTC timestamp: the staged_at every row written by the run gets. -#}
{% macro run_started_timestamp() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}
