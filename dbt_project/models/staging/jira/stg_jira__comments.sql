with

source as (

    {{ source_or_empty('jira', 'comments', {
        'id': 'varchar', 'issue_id': 'varchar', 'issue_key': 'varchar', 'author_account_id': 'varchar',
        'update_author_account_id': 'varchar', 'body_text': 'varchar', 'created': 'varchar',
        'updated': 'varchar', '_tombstone': 'boolean', '_dlt_load_id': 'varchar'}) }}

),

renamed as (

    select
        id as comment_id,
        issue_id,
        issue_key,
        author_account_id,
        update_author_account_id,
        body_text,
        {{ iso_timestamp('created') }} as created_at,
        {{ iso_timestamp('updated') }} as updated_at,
        {{ dlt_loaded_at() }} as loaded_at,
        -- a comment id Jira served under two issues in different runs (hostile data: the raw table keeps
        -- both, each issue's comments being replaced only when that issue syncs): the latest load is staged
        row_number() over (partition by id order by _dlt_load_id desc, issue_id desc) as copy_rank
    from source
    where _tombstone is null or not _tombstone

)

select
    comment_id,
    issue_id,
    issue_key,
    author_account_id,
    update_author_account_id,
    body_text,
    created_at,
    updated_at,
    loaded_at
from renamed
where copy_rank = 1
