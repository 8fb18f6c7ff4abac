{#-
    on-run-start: notifications.task_decisions exists before any model reads it. The Slack
    approve/deny handler (assets/notifications/actions.py, same DDL) writes it on the first click;
    until then a build reads an empty table instead of failing, and unit tests stay plain refs
    (a source_or_empty in the model would hide their fixtures).
-#}
{% macro create_task_decisions() -%}
    create schema if not exists notifications;
    create table if not exists notifications.task_decisions (
        task_id varchar primary key, decision varchar not null, decided_by varchar,
        decided_at timestamp not null, action_ts varchar, slack_channel varchar, message_ts varchar,
        decided_by_id varchar
    );
    alter table notifications.task_decisions add column if not exists decided_by_id varchar
{%- endmacro %}
