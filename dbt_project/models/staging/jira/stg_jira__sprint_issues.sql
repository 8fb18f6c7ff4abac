with

source as (

    {{ source_or_empty('jira', 'sprint_issues', {
        'sprint_id': 'varchar', 'issue_id': 'varchar', 'issue_key': 'varchar', '_tombstone': 'boolean',
        '_dlt_load_id': 'varchar'}) }}

),

renamed as (

    select
        sprint_id,
        issue_id,
        issue_key,
        {{ dlt_loaded_at() }} as loaded_at
    from source
    -- tombstones hard-delete on load; skip any a destination kept
    where _tombstone is null or not _tombstone

)

select * from renamed
