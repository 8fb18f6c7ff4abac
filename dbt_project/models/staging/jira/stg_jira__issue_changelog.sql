with

source as (

    {{ source_or_empty('jira', 'issue_changelog', {
        'id': 'varchar', 'history_id': 'varchar', 'item_index': 'varchar', 'issue_id': 'varchar',
        'issue_key': 'varchar', 'author_account_id': 'varchar', 'created': 'varchar', 'field': 'varchar',
        'field_id': 'varchar', 'field_type': 'varchar', 'from_value': 'varchar', 'from_string': 'varchar',
        'to_value': 'varchar', 'to_string': 'varchar', '_tombstone': 'boolean', '_dlt_load_id': 'varchar'}) }}

),

renamed as (

    select
        id as changelog_item_id,
        history_id,
        cast(item_index as integer) as item_index,
        issue_id,
        issue_key,
        author_account_id,
        {{ iso_timestamp('created') }} as changed_at,
        field,
        field_id,
        field_type,
        from_value,
        from_string,
        to_value,
        to_string,
        {{ dlt_loaded_at() }} as loaded_at,
        -- a history item Jira served under two issues in different runs: the latest load is staged (see
        -- stg_jira__comments)
        row_number() over (partition by id order by _dlt_load_id desc, issue_id desc) as copy_rank
    from source
    where _tombstone is null or not _tombstone

)

select
    changelog_item_id,
    history_id,
    item_index,
    issue_id,
    issue_key,
    author_account_id,
    changed_at,
    field,
    field_id,
    field_type,
    from_value,
    from_string,
    to_value,
    to_string,
    loaded_at
from renamed
where copy_rank = 1
