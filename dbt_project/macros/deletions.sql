{#- Every staged vendor row: is_deleted / deleted_at from the dataset's deletions table, and loaded_at,
    when our sync last changed the row: its latest version or its deletion (the incremental cursor).

    A recorded delete applies to the row unless the vendor's own times say the row outlived it: a
    delete the vendor timed (`feed`, `webhook`) older than the row's last update (`updated_at`, the
    vendor's time) was followed by a re-creation or restore. Deletes found by absence
    (`reconciliation`) carry our detection time, not the vendor's, so only the pipelines' withdrawal
    (a record seen alive again has its delete removed) undoes them. A row loaded strictly after its
    delete was recorded is also live (rows kept from before withdrawals existed). -#}
{% macro deletion_applies(relation, deletions, updated_at) -%}
    ({{ deletions }}.record_id is not null
        and {{ deletions }}.loaded_at >= {{ dlt_loaded_at(relation ~ '._dlt_load_id') }}
        {%- if updated_at is not none %}
        and (
            {{ deletions }}.detected_by not in ('feed', 'webhook')
            or {{ updated_at }} is null
            or {{ deletions }}.deleted_at >= {{ updated_at }}
        )
        {%- endif %})
{%- endmacro %}

{% macro deleted_and_loaded_columns(relation='source', deletions='deletions', updated_at=none) -%}
        coalesce({{ deletion_applies(relation, deletions, updated_at) }}, false) as is_deleted,
        case
            when {{ deletion_applies(relation, deletions, updated_at) }}
                then {{ deletions }}.deleted_at
        end as deleted_at,
        greatest(
            {{ dlt_loaded_at(relation ~ '._dlt_load_id') }},
            coalesce({{ deletions }}.loaded_at, {{ dlt_loaded_at(relation ~ '._dlt_load_id') }})
        ) as loaded_at
{%- endmacro %}
