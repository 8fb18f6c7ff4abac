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

{#-
    Incremental staging of one vendor entity. An incremental run reads only the source rows of the dlt
    loads not staged yet (their load id is absent from the staged `load_id`s: exact, whatever order
    loads committed in) and the rows whose deletion was loaded after the staged row last changed, so
    `is_deleted` flips without the row being re-sent. Full refresh: every row. The model merges on
    its key (delete+insert). `key` is the model's unique key, `id_column` the source's.
-#}
{% macro not_yet_staged(deletions, key, id_column='sys_id') -%}
    {%- if is_incremental() -%}
        where
            _dlt_load_id not in (select distinct t.load_id from {{ this }} as t)
            or {{ id_column }} in (
                select d.record_id
                from {{ deletions }} as d
                inner join {{ this }} as t on d.record_id = t.{{ key }}
                where d.loaded_at > t.loaded_at
            )
    {%- endif -%}
{%- endmacro %}

{#-
    Incremental filter for one slice of a mart fed by an incremental staging model: keep the rows
    staged by a dbt run after the newest `source_staged_at` already in the slice. staged_at is the
    start of the run that wrote the row, so the rows of one run are read together or not at all.
-#}
{% macro staged_since_last_run(slice_condition) -%}
    {%- if is_incremental() -%}
        where source_staged_at > coalesce(
            (select max(t.source_staged_at) from {{ this }} as t where {{ slice_condition }}),
            cast('1970-01-01' as timestamp)
        )
    {%- endif -%}
{%- endmacro %}
