-- Grain: one row per file stored in the Evidence Library (sha256): what it is, read from its bytes
-- (MIME type, PDF pages and text excerpt, image size, e-mail headers), its scan verdict, its
-- classification (evidence_classification_rules) and where it is stored. Quarantined files are
-- never here. Join marts.evidence on sha256.
with

outcomes as (

    select * from {{ ref('stg_evidence_stores__library_files') }}
    where status = 'stored'

),

latest as (

    select
        *,
        row_number() over (partition by sha256 order by ledger_seq desc) as newest_first
    from outcomes

),

final as (

    select
        sha256,
        storage_uri,
        store_name,
        mime_type,
        size_bytes,
        page_count,
        text_excerpt,
        image_width,
        image_height,
        email_subject,
        email_from,
        email_message_id,
        evidence_class,
        control_ids,
        scan_status,
        parse_error,
        recorded_at as stored_at
    from latest
    where newest_first = 1

)

select * from final
