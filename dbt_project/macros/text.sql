{#-
    A title for a task or a notification from vendor text: control characters (NUL, tabs, line
    breaks) and bidirectional overrides/isolates (U+202A-U+202E, U+2066-U+2069, which can reverse how a
    Slack message or e-mail subject reads) become spaces, and it is cut to `max_chars` characters
    (the last one an ellipsis), so a 100 KB vendor description never reaches a notification whole.
-#}
{% macro bounded_title(expression, max_chars=250) -%}
    {%- set cleaned = title_controls_removed(expression) -%}
    case
        when length({{ cleaned }}) > {{ max_chars }}
            then left({{ cleaned }}, {{ max_chars - 1 }}) || '…'
        else {{ cleaned }}
    end
{%- endmacro %}

{% macro title_controls_removed(expression) -%}
    {{ return(adapter.dispatch('title_controls_removed')(expression)) }}
{%- endmacro %}

{#- PostgreSQL text cannot hold NUL, so the class starts at U+0001. -#}
{% macro default__title_controls_removed(expression) -%}
    regexp_replace({{ expression }}, '[\x01-\x1f\x7f\u202a-\u202e\u2066-\u2069]', ' ', 'g')
{%- endmacro %}

{% macro duckdb__title_controls_removed(expression) -%}
    regexp_replace({{ expression }}, '[\x00-\x1f\x7f\x{202A}-\x{202E}\x{2066}-\x{2069}]', ' ', 'g')
{%- endmacro %}
