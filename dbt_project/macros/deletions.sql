{#- Every staged vendor row: is_deleted / deleted_at from the dataset's deletions table (a row re-loaded
    after its deletion was recorded was restored at the vendor, so it is not deleted) and loaded_at,
    when our sync last changed the row: its latest version or its deletion (the incremental cursor). -#}
{% macro deleted_and_loaded_columns(relation='source', deletions='deletions') -%}
        coalesce({{ deletions }}.loaded_at >= {{ dlt_loaded_at(relation ~ '._dlt_load_id') }}, false)
            as is_deleted,
        case
            when {{ deletions }}.loaded_at >= {{ dlt_loaded_at(relation ~ '._dlt_load_id') }}
                then {{ deletions }}.deleted_at
        end as deleted_at,
        greatest(
            {{ dlt_loaded_at(relation ~ '._dlt_load_id') }},
            coalesce({{ deletions }}.loaded_at, {{ dlt_loaded_at(relation ~ '._dlt_load_id') }})
        ) as loaded_at
{%- endmacro %}
