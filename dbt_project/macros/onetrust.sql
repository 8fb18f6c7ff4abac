{#-
    OneTrust ids are UUIDs, and UUIDs are case-insensitive. The pipeline stores them lower-cased
    (pipelines/onetrust/rows.py, uuid_key), but loads from before it did may hold a record under an
    upper-case id beside its lower-case twin (dlt merged on the exact string). The raw tables stay as
    loaded; staging keeps one row per record, keyed lower-case, so every layer above sees it once.
-#}

{#- A UUID in its canonical (lower-case) form; any other value as it is, as the pipeline does. -#}
{% macro onetrust_uuid(column) -%}
    case
        when {{ column }} similar to '[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}'
            then lower({{ column }})
        else {{ column }}
    end
{%- endmacro %}

{#- The rows of `relation`, one per record (`id_column` compared case-insensitively): the newest by
    OneTrust's modified time, then the later load, then the lower-case spelling, then the fingerprint of
    the raw row's text (two versions with identical stamps; `fingerprint_of`: the raw source relation,
    macros/dedup.sql). Deterministic, the same on every run and on both warehouses: nothing is rewritten. -#}
{% macro onetrust_latest(relation, id_column, updated_at='updated_at', fingerprint_of=none) -%}
    {%- set id = relation ~ '.' ~ id_column -%}
    {{ latest_version(relation, 'lower(' ~ id ~ ')', iso_timestamp(relation ~ '.' ~ updated_at),
                      ['case when ' ~ id ~ ' = lower(' ~ id ~ ') then 1 else 0 end'], fingerprint_of) }}
{%- endmacro %}

{#- The delete recorded for each row of `latest` (at most one: the latest loaded), as `row_id` and
    the columns of `deletions`. A delete recorded under the lower-case id is the record's, whatever
    spelling its row has; one under another spelling belongs to that spelling's row only: a full pass
    after ids were lower-cased finds the old upper-case id missing from the listing (which now lists
    the lower-case one) and records it deleted, while the record itself lives on. -#}
{% macro onetrust_row_deletions(latest, id_column, deletions) -%}
    select *
    from (
        select
            {{ latest }}.{{ id_column }} as row_id,
            {{ deletions }}.*,
            row_number() over (
                partition by {{ latest }}.{{ id_column }} order by {{ deletions }}.loaded_at desc
            ) as deletion_rank
        from {{ latest }}
        inner join {{ deletions }}
            on
                lower({{ deletions }}.record_id) = lower({{ latest }}.{{ id_column }})
                and (
                    {{ deletions }}.record_id = lower({{ deletions }}.record_id)
                    or {{ deletions }}.record_id = {{ latest }}.{{ id_column }}
                )
    ) as matched
    where deletion_rank = 1
{%- endmacro %}

{#- A OneTrust label in its documented spelling whatever case (or surrounding blanks) it arrived in
    ('completed', 'COMPLETED ' -> 'Completed'); a value outside `values` is kept as sent, for the
    warn-severity accepted_values tests to report. -#}
{% macro onetrust_label(column, values) -%}
    case lower(trim({{ column }}))
        {%- for value in values %}
        when '{{ value | lower }}' then '{{ value }}'
        {%- endfor %}
        else {{ column }}
    end
{%- endmacro %}

{#- The instant OneTrust last modified a record, as a timestamp (UTC): the raw `updated_at_utc` the pipeline
    adds to each row (pipelines/onetrust/rows.py, newest_wins; the instant its copies are ordered by), else, for
    rows loaded before it existed (or a table loaded before, without the column), `updated_at` parsed. -#}
{% macro onetrust_updated_at_utc(source_relation, latest='latest') -%}
    {%- set has_column = execute and load_relation(source_relation) is not none
        and (adapter.get_columns_in_relation(source_relation) | selectattr('name', 'equalto', 'updated_at_utc')
             | list | length) > 0 -%}
    {%- if has_column -%}
        coalesce({{ iso_timestamp(latest ~ '.updated_at_utc') }}, {{ iso_timestamp(latest ~ '.updated_at') }})
    {%- else -%}
        {{ iso_timestamp(latest ~ '.updated_at') }}
    {%- endif -%}
{%- endmacro %}
