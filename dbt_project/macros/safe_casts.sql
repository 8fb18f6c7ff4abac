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

{#- The strict shapes, ranges included, so one regex rejects a bad month, day, hour, minute, second,
    offset or year outside 1900-2999; what remains for the calendar is the 29th-31st of a month. -#}

{% macro _ymd_pattern() %}{{ return('(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])') }}{% endmacro %}
{% macro _hms_pattern() %}{{ return('([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]') }}{% endmacro %}

{#- Whether the text's leading 'YYYY-MM-DD' (already pattern-checked) is a real calendar day: only the
    29th-31st need the arithmetic. (DuckDB's try_cast does this check itself: see the casts below.) -#}
{% macro _valid_ymd(text) -%}
    {%- set y = 'cast(substr(' ~ text ~ ', 1, 4) as integer)' -%}
    {%- set m = 'cast(substr(' ~ text ~ ', 6, 2) as integer)' -%}
    (substr({{ text }}, 9, 2) <= '28'
        or cast(substr({{ text }}, 9, 2) as integer) <= case
            when {{ m }} = 2 then
                case when ({{ y }} % 4 = 0 and {{ y }} % 100 <> 0) or {{ y }} % 400 = 0 then 29 else 28 end
            when {{ m }} in (4, 6, 9, 11) then 30
            else 31
        end)
{%- endmacro %}

{#- `text` (pattern-checked) cast to `type`, null when it is no real calendar day. DuckDB: try_cast, which
    refuses the 30th of February by itself; PostgreSQL has no try_cast, so the day is checked first. -#}
{% macro _calendar_cast(text, type, day_of=none) -%}
    {%- if target.type == 'duckdb' -%}
        try_cast({{ text }} as {{ type }})
    {%- else -%}
        case when {{ _valid_ymd(day_of or text) }} then cast({{ text }} as {{ type }}) end
    {%- endif -%}
{%- endmacro %}

{#- 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS' (ServiceNow's UTC wall time) as a timestamp; else null. -#}
{% macro safe_sn_timestamp(column) -%}
    case when {{ full_match(column, _ymd_pattern() ~ '( ' ~ _hms_pattern() ~ ')?') }}
        then {{ _calendar_cast(column, 'timestamp') }} end
{%- endmacro %}

{#- ISO-8601 text, with or without an offset (Z, +HH, +HHMM, +HH:MM, hours up to 14) and fraction (kept
    to the microsecond), as UTC wall time; a bare date is midnight UTC; else null. -#}
{% macro safe_iso_timestamp(column) -%}
    {#- A fraction past microseconds is cut, not rounded: DuckDB cuts '.9999999', PostgreSQL rounds it
        up to the next second. -#}
    {%- set micros = 'regexp_replace(' ~ column ~ ", '([.][0-9]{6})[0-9]+', '\\1')" -%}
    {%- set offset = '(Z|[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?)' -%}
    case
        when not {{ full_match(column, _ymd_pattern() ~ '([T ]' ~ _hms_pattern() ~ '([.][0-9]{1,9})?' ~ offset ~ '?)?') }}
            then null
        when length({{ column }}) = 10 then {{ _calendar_cast(column, 'timestamp') }}
        when {{ full_match(column, '.*' ~ offset) }}
            then cast({{ _calendar_cast(micros, 'timestamp with time zone', column) }} at time zone 'UTC' as timestamp)
        else {{ _calendar_cast("replace(" ~ micros ~ ", 'T', ' ')", 'timestamp', column) }}
    end
{%- endmacro %}

{#- A 'YYYY-MM-DD' date (Jira's due date); else null. -#}
{% macro safe_date(column) -%}
    case when {{ full_match(column, _ymd_pattern()) }} then {{ _calendar_cast(column, 'date') }} end
{%- endmacro %}

{#- A whole number within integer range (optional sign, up to 9 digits); else null ('P1', '', '1e3'). -#}
{% macro safe_int(column) -%}
    case when {{ full_match(column, '[+-]?[0-9]{1,9}') }} then cast({{ column }} as integer) end
{%- endmacro %}

{#- A whole number of up to 18 digits as bigint (sizes in bytes pass 2^31: a 3 GB attachment); else null. -#}
{% macro safe_bigint(column) -%}
    case when {{ full_match(column, '[+-]?[0-9]{1,18}') }} then cast({{ column }} as bigint) end
{%- endmacro %}

{#- A plain decimal that fits numeric(precision, scale) even once rounded; else null. -#}
{% macro safe_numeric(column, precision=10, scale=2) -%}
    {#- every whole-number digit the type holds when the fraction fits the scale (nothing to round); one
        fewer when a longer fraction is rounded (99.995 may round up to 100.00) -#}
    {%- set whole = '[+-]?[0-9]{1,' ~ (precision - scale) ~ '}([.][0-9]{1,' ~ scale ~ '})?' -%}
    {%- set rounded = '[+-]?[0-9]{1,' ~ (precision - scale - 1) ~ '}[.][0-9]+' -%}
    case
        when {{ full_match(column, whole) }} then cast({{ column }} as numeric({{ precision }}, {{ scale }}))
        when {{ full_match(column, rounded) }} then cast({{ column }} as numeric({{ precision }}, {{ scale }}))
    end
{%- endmacro %}
