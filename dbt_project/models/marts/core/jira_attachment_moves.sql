-- Grain: one row per move of a Jira attachment to another issue (the evidence item's history: the
-- evidence mart shows the attachment under its latest issue only). Join evidence on evidence_id.
with

moves as (

    select * from {{ ref('stg_jira__attachment_moves') }}

),

ranked_attachments as (

    select
        attachment_id,
        issue_id,
        row_number() over (partition by attachment_id order by loaded_at desc, issue_id asc) as listing_rank
    from {{ ref('stg_jira__attachments') }}

),

attachments as (

    -- one current row per attachment: a sync that could not settle a move leaves it under both issues
    select
        attachment_id,
        issue_id
    from ranked_attachments
    where listing_rank = 1

),

final as (

    -- the join key to evidence beside the move's own key, in the order of the yml
    select  -- noqa: ST06
        moves.move_id,
        'jira-attachment-' || moves.attachment_id as evidence_id,
        moves.attachment_id,
        moves.from_issue_id,
        moves.from_issue_key,
        moves.to_issue_id,
        moves.to_issue_key,
        moves.sha256,
        moves.storage_uri,
        moves.content_status,
        moves.run_id,
        moves.moved_at,
        cast(
            row_number() over (partition by moves.attachment_id order by moves.moved_at, moves.move_id)
            as integer
        ) as move_number,
        coalesce(
            moves.moved_at = max(moves.moved_at) over (partition by moves.attachment_id), false
        ) as is_latest_move,
        attachments.issue_id as current_issue_id
    from moves
    left join attachments on moves.attachment_id = attachments.attachment_id

)

select * from final
