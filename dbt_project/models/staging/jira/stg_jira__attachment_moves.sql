-- One row per move of a Jira attachment id to another issue, as the sync saw it (append-only,
-- pipelines/jira/attachment_moves.py). The table appears with the first move: empty until then.
with

source as (

    {{ source_or_empty('jira', 'attachment_moves', {
        'attachment_id': 'varchar', 'from_issue_id': 'varchar', 'from_issue_key': 'varchar',
        'to_issue_id': 'varchar', 'to_issue_key': 'varchar', 'sha256': 'varchar', 'storage_uri': 'varchar',
        'content_status': 'varchar', 'run_id': 'varchar', 'moved_at': 'varchar', '_dlt_load_id': 'varchar'}) }}

),

renamed as (

    select
        md5(attachment_id || ':' || from_issue_id || ':' || run_id) as move_id,
        attachment_id,
        from_issue_id,
        from_issue_key,
        to_issue_id,
        to_issue_key,
        sha256,
        storage_uri,
        content_status,
        run_id,
        {{ iso_timestamp('moved_at') }} as moved_at,
        {{ dlt_loaded_at() }} as loaded_at
    from source

)

select * from renamed
