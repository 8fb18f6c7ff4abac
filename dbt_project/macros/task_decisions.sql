{#-
    on-run-start: notifications.task_decisions exists before any model reads it. The Slack
    approve/deny handler (assets/notifications/actions.py, same DDL) writes it on the first click;
    until then a build reads an empty table instead of failing, and unit tests stay plain refs
    (a source_or_empty in the model would hide their fixtures).
-#}
{% macro create_task_decisions() -%}
    {#- an older table gets decided_by_id once: an ALTER on every build would take PostgreSQL's
        exclusive lock on the table each time, queueing the Slack click handler behind any reader -#}
    {%- set has_column = namespace(value=false) -%}
    {%- if execute -%}
        {%- set found = run_query(
            "select count(*) from information_schema.columns where table_schema = 'notifications'"
            ~ " and table_name = 'task_decisions' and column_name = 'decided_by_id'") -%}
        {%- set has_column.value = found.columns[0].values()[0] > 0 -%}
    {%- endif -%}
    create schema if not exists notifications;
    create table if not exists notifications.task_decisions (
        task_id varchar primary key, decision varchar not null, decided_by varchar,
        decided_at timestamp not null, action_ts varchar, slack_channel varchar, message_ts varchar,
        decided_by_id varchar
    )
    {%- if not has_column.value -%};
    alter table notifications.task_decisions add column if not exists decided_by_id varchar
    {%- endif %}
{%- endmacro %}
