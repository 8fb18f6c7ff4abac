-- Spec 2.1: a payload that fails validation is kept as evidence, with the reason it was rejected.
-- Its content is the raw record as JSON in servicenow.quarantine; the storage URI points there.
with

quarantine as (

    select * from {{ ref('stg_servicenow__quarantine') }}

),

final as (

    -- columns in the order of the evidence mart: it stacks the evidence sources with union all
    select  -- noqa: ST06
        'servicenow-quarantine-' || quarantine_id as evidence_id,
        'rejected_payload' as evidence_type,
        'servicenow' as source_system,
        'source:servicenow' as tags,
        'Rejected ' || entity || ' record ' || coalesce(record_id, '(no id)') || ': ' || reason as title,
        'application/json' as content_type,
        cast(length(record_json) as bigint) as size_bytes,
        {{ sha256_hex('record_json') }} as sha256,
        'warehouse://servicenow/quarantine/' || quarantine_id as storage_uri,
        'stored' as content_status,
        entity as record_table,
        record_id,
        cast(null as varchar) as labels,
        quarantined_at as created_at,
        false as is_deleted,
        loaded_at as source_loaded_at,
        cast(null as timestamp) as source_staged_at
    from quarantine

)

select * from final
