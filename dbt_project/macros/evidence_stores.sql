{#- A file dropped in a watched evidence folder of a store (S3 prefix, SharePoint folder) as a row of
    the evidence mart, once the Evidence Library has stored it (scanned clean); quarantined and pending
    files are not evidence. Tagged source:<provider>; the content type is the one the library
    sniffed from the bytes. Columns in the order of the evidence mart (it stacks sources with union all). -#}
{% macro watched_store_evidence(provider, staging_model, record_table, record_id) %}
with

files as (

    select * from {{ ref(staging_model) }}
    where status in ('stored', 'deleted') and sha256 is not null

),

sniffed as (

    select
        sha256,
        max(mime_type) as mime_type
    from {{ ref('stg_evidence_stores__library_files') }}
    where status = 'stored'
    group by sha256

),

final as (

    select  -- noqa: ST06
        '{{ provider }}-file-' || files.file_id as evidence_id,
        'file' as evidence_type,
        '{{ provider }}' as source_system,
        'source:{{ provider }}' as tags,
        files.file_name as title,
        sniffed.mime_type as content_type,
        files.size_bytes,
        files.sha256,
        files.storage_uri,
        'stored' as content_status,
        '{{ record_table }}' as record_table,
        {{ record_id }} as record_id,
        cast(null as varchar) as labels,
        files.modified_at as created_at,
        files.is_deleted,
        files.loaded_at as source_loaded_at,
        cast(null as timestamp) as source_staged_at
    from files
    left join sniffed on files.sha256 = sniffed.sha256

)

select * from final
{% endmacro %}
