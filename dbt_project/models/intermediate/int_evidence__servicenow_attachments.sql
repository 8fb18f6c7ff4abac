-- Spec 2.1: ServiceNow attachments mirrored into the Evidence Library (content already copied to
-- the evidence store by the dlt source), tagged source:servicenow.
with

attachments as (

    select * from {{ ref('stg_servicenow__attachments') }}

),

final as (

    -- columns in the order of the evidence mart: it stacks the evidence sources with union all
    select  -- noqa: ST06
        'servicenow-attachment-' || attachment_id as evidence_id,
        'attachment' as evidence_type,
        'servicenow' as source_system,
        'source:servicenow' as tags,
        file_name as title,
        content_type,
        size_bytes,
        sha256,
        storage_uri,
        content_status,
        record_table,
        record_id,
        cast(null as varchar) as labels,
        created_at,
        is_deleted,
        loaded_at as source_loaded_at,
        staged_at as source_staged_at
    from attachments
    -- the Evidence Library refused it (malware, or over its limits): in no mart
    where content_status is distinct from 'quarantined'

)

select * from final
