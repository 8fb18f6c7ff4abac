{#-
    Casts of vendor text that never fail the build: a value that is not what the vendor documents
    (unparseable, a calendar date that does not exist, a sentinel year, epoch millis where ISO text is
    expected, 'P1' where a number is expected) becomes null, and the row is kept. The same rules on
    DuckDB and PostgreSQL: validated by pattern and arithmetic first, cast only when valid (CASE
    branches are evaluated in order on both, so the cast never sees a bad value).

    Accepted timestamps: years 1900-2999 (ServiceNow's '9999-12-31 23:59:59' and '0000-00-00' mean
    "never"/"unset", not a time), real calendar days, hours 00-23, minutes and seconds 00-59.
-#}

{#- True when `expression` matches `pattern` as a whole (a POSIX/RE2-compatible regex). -#}
{% macro full_match(expression, pattern) -%}
    {{ return(adapter.dispatch('full_match')(expression, pattern)) }}
{%- endmacro %}

{% macro default__full_match(expression, pattern) -%}
    ({{ expression }} ~ '^(?:{{ pattern }})$')
{%- endmacro %}

{% macro duckdb__full_match(expression, pattern) -%}
    regexp_full_match({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{#- Whether the text's leading 'YYYY-MM-DD' (already pattern-checked) is a real day of 1900-2999. -#}
{% macro _valid_ymd(text) -%}
    {%- set y = 'cast(substr(' ~ text ~ ', 1, 4) as integer)' -%}
    {%- set m = 'cast(substr(' ~ text ~ ', 6, 2) as integer)' -%}
    {%- set d = 'cast(substr(' ~ text ~ ', 9, 2) as integer)' -%}
    ({{ y }} between 1900 and 2999
        and {{ m }} between 1 and 12
        and {{ d }} between 1 and case
            when {{ m }} = 2 then
                case when ({{ y }} % 4 = 0 and {{ y }} % 100 <> 0) or {{ y }} % 400 = 0 then 29 else 28 end
            when {{ m }} in (4, 6, 9, 11) then 30
            else 31
        end)
{%- endmacro %}

{#- Whether the text's 'HH:MM:SS' from position 12 (already pattern-checked) is a real time of day. -#}
{% macro _valid_hms(text) -%}
    (cast(substr({{ text }}, 12, 2) as integer) <= 23
        and cast(substr({{ text }}, 15, 2) as integer) <= 59
        and cast(substr({{ text }}, 18, 2) as integer) <= 59)
{%- endmacro %}

{#- 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS' (ServiceNow's UTC wall time) as a timestamp; else null. -#}
{% macro safe_sn_timestamp(column) -%}
    case
        when not {{ full_match(column, '[0-9]{4}-[0-9]{2}-[0-9]{2}( [0-9]{2}:[0-9]{2}:[0-9]{2})?') }} then null
        when not {{ _valid_ymd(column) }} then null
        when length({{ column }}) = 10 then cast({{ column }} as timestamp)
        when {{ _valid_hms(column) }} then cast({{ column }} as timestamp)
    end
{%- endmacro %}

{#- ISO-8601 text, with or without an offset (Z, +HH, +HHMM, +HH:MM, hours up to 14) and fraction (kept
    to the microsecond), as UTC wall time; a bare date is midnight UTC; else null. -#}
{% macro safe_iso_timestamp(column) -%}
    {%- set offset = '(Z|[+-][0-9]{2}(:?[0-9]{2})?)' -%}
    {#- A fraction past microseconds is cut, not rounded: DuckDB cuts '.9999999', PostgreSQL rounds it
        up to the next second. -#}
    {%- set micros = 'regexp_replace(' ~ column ~ ", '([.][0-9]{6})[0-9]+', '\\1')" -%}
    case
        when not {{ full_match(column, '[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,9})?' ~ offset ~ '?)?') }}
            then null
        when not {{ _valid_ymd(column) }} then null
        when length({{ column }}) = 10 then cast({{ column }} as timestamp)
        when not {{ _valid_hms(column) }} then null
        when {{ full_match(column, '.*[+-][0-9]{2}(:?[0-9]{2})?') }}
            and cast(substr({{ column }}, length({{ column }}) - case
                when {{ full_match(column, '.*[+-][0-9]{2}') }} then 1
                when {{ full_match(column, '.*[+-][0-9]{4}') }} then 3
                else 4 end, 2) as integer) > 14
            then null
        when {{ full_match(column, '.*(Z|[+-][0-9]{2}(:?[0-9]{2})?)') }}
            then cast(cast({{ micros }} as timestamp with time zone) at time zone 'UTC' as timestamp)
        else cast(replace({{ micros }}, 'T', ' ') as timestamp)
    end
{%- endmacro %}

{#- A 'YYYY-MM-DD' date (Jira's due date); else null. -#}
{% macro safe_date(column) -%}
    case
        when not {{ full_match(column, '[0-9]{4}-[0-9]{2}-[0-9]{2}') }} then null
        when {{ _valid_ymd(column) }} then cast({{ column }} as date)
    end
{%- endmacro %}

{#- A whole number within integer range (optional sign, up to 9 digits); else null ('P1', '', '1e3'). -#}
{% macro safe_int(column) -%}
    case when {{ full_match(column, '[+-]?[0-9]{1,9}') }} then cast({{ column }} as integer) end
{%- endmacro %}

{#- A plain decimal that fits numeric(precision, scale) even once rounded; else null. -#}
{% macro safe_numeric(column, precision=10, scale=2) -%}
    case
        when {{ full_match(column, '[+-]?[0-9]{1,' ~ (precision - scale - 1) ~ '}([.][0-9]+)?') }}
            then cast({{ column }} as numeric({{ precision }}, {{ scale }}))
    end
{%- endmacro %}
