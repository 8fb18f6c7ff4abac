-- Spec 2.5: e-mail submissions become evidence tagged with the source address; the body and every
-- attachment of one message share record_id (the message), which links them. The message is its sender
-- and its Message-ID: the bridge de-duplicates per sender, so another sender's copy of a Message-ID (a
-- forgery, or a partner reusing one) is a message of its own, never linked with the first.
with

bridge as (

    select * from {{ ref('stg_email_bridge__evidence') }}

),

final as (

    -- columns in the order of the evidence mart: it stacks the evidence sources with union all
    select  -- noqa: ST06
        evidence_id,
        case when evidence_type = 'email_attachment' then 'attachment' else 'email_body' end as evidence_type,
        'email' as source_system,
        tags,
        title,
        content_type,
        cast(size_bytes as bigint) as size_bytes,
        sha256,
        storage_uri,
        'stored' as content_status,
        'email_message' as record_table,
        lower(source_email) || ' ' || message_key as record_id,
        'adapter:' || adapter as labels,
        received_at as created_at,
        false as is_deleted,
        received_at as source_loaded_at,
        cast(null as timestamp) as source_staged_at
    from bridge

)

select * from final
