-- Spec 2.2: comments on Jira issues relevant to compliance controls (labelled control:<id>) are
-- evidence; the text stays in the warehouse (jira.comments), the storage URI points there.
with

comments as (

    select * from {{ ref('stg_jira__comments') }}

),

issues as (

    select * from {{ ref('stg_jira__issues') }}
    where ',' || labels || ',' like '%,control:%'

),

final as (

    -- columns in the order of the evidence mart: it stacks the evidence sources with union all
    select  -- noqa: ST06
        'jira-comment-' || comments.comment_id as evidence_id,
        'comment' as evidence_type,
        'jira' as source_system,
        'source:jira' as tags,
        'Comment on ' || comments.issue_key as title,
        'text/plain' as content_type,
        cast(length(comments.body_text) as bigint) as size_bytes,
        {{ sha256_hex('comments.body_text') }} as sha256,
        'warehouse://jira/comments/' || comments.comment_id as storage_uri,
        'stored' as content_status,
        'issue' as record_table,
        comments.issue_id as record_id,
        issues.labels,
        comments.created_at,
        issues.is_deleted,
        greatest(comments.loaded_at, issues.loaded_at) as source_loaded_at,
        cast(null as timestamp) as source_staged_at
    from comments
    inner join issues on comments.issue_id = issues.issue_id

)

select * from final
