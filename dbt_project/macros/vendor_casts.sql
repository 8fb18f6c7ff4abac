{#- ServiceNow sends every value as a string, empty when unset; timestamps are UTC 'YYYY-MM-DD HH:MM:SS'.
    Values that are not (a day that does not exist, '9999-12-31 23:59:59', 'P1' as a number) are null,
    never a failed build (macros/safe_casts.sql). -#}
{% macro sn_timestamp(column) -%}
    {{ safe_sn_timestamp(column) }}
{%- endmacro %}

{% macro sn_int(column) -%}
    {{ safe_int(column) }}
{%- endmacro %}

{% macro sn_bool(column) -%}
    ({{ column }} = 'true')
{%- endmacro %}

{#- The load time dlt stamps on every row (its load id is a unix epoch). -#}
{% macro dlt_loaded_at(column='_dlt_load_id') -%}
    {{ utc_from_epoch('cast(' ~ column ~ ' as double precision)') }}
{%- endmacro %}

{% macro utc_from_epoch(expression) -%}
    {{ return(adapter.dispatch('utc_from_epoch')(expression)) }}
{%- endmacro %}

{% macro default__utc_from_epoch(expression) -%}
    cast(to_timestamp({{ expression }}) at time zone 'UTC' as timestamp)
{%- endmacro %}

{#- Now, as a UTC timestamp without time zone, comparable with the staged vendor timestamps. -#}
{% macro utc_now() -%}
    {{ return(adapter.dispatch('utc_now')()) }}
{%- endmacro %}

{% macro default__utc_now() -%}
    cast(now() at time zone 'UTC' as timestamp)
{%- endmacro %}

{#- Hours from one timestamp to another, as a decimal. -#}
{% macro hours_between(start_ts, end_ts) -%}
    {{ return(adapter.dispatch('hours_between')(start_ts, end_ts)) }}
{%- endmacro %}

{% macro default__hours_between(start_ts, end_ts) -%}
    round(cast(extract(epoch from ({{ end_ts }} - {{ start_ts }})) / 3600.0 as numeric), 1)
{%- endmacro %}

{% macro duckdb__hours_between(start_ts, end_ts) -%}
    round(date_diff('second', {{ start_ts }}, {{ end_ts }}) / 3600.0, 1)
{%- endmacro %}

{#- dlt writes its own timestamps as timestamptz; as UTC wall time they compare with vendor timestamps. -#}
{% macro utc_timestamp(column) -%}
    cast({{ column }} at time zone 'UTC' as timestamp)
{%- endmacro %}

{#- Lower-case hex sha256 of a text value. -#}
{% macro sha256_hex(expression) -%}
    {{ return(adapter.dispatch('sha256_hex')(expression)) }}
{%- endmacro %}

{% macro default__sha256_hex(expression) -%}
    encode(sha256(convert_to({{ expression }}, 'UTF8')), 'hex')
{%- endmacro %}

{% macro duckdb__sha256_hex(expression) -%}
    sha256({{ expression }})
{%- endmacro %}

{#- Minutes from one timestamp to another, as a decimal. -#}
{% macro minutes_between(start_ts, end_ts) -%}
    {{ return(adapter.dispatch('minutes_between')(start_ts, end_ts)) }}
{%- endmacro %}

{% macro default__minutes_between(start_ts, end_ts) -%}
    round(cast(extract(epoch from ({{ end_ts }} - {{ start_ts }})) / 60.0 as numeric), 1)
{%- endmacro %}

{% macro duckdb__minutes_between(start_ts, end_ts) -%}
    round(date_diff('second', {{ start_ts }}, {{ end_ts }}) / 60.0, 1)
{%- endmacro %}

{#- ISO-8601 text with an offset (Jira '2026-10-01T08:34:56.789-0400', OneTrust '...Z') as UTC wall time;
    null when it is not one (empty, epoch millis, a day that does not exist: macros/safe_casts.sql). -#}
{% macro iso_timestamp(column) -%}
    {{ safe_iso_timestamp(column) }}
{%- endmacro %}
