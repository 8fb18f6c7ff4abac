with

source as (

    {{ source_or_empty('jira', 'issues', {
        'id': 'varchar', 'key': 'varchar', 'project_id': 'varchar', 'project_key': 'varchar',
        'issue_type': 'varchar', 'summary': 'varchar', 'status': 'varchar', 'status_category': 'varchar',
        'priority': 'varchar', 'resolution': 'varchar', 'assignee_account_id': 'varchar',
        'reporter_account_id': 'varchar', 'labels': 'json', 'story_points': 'varchar', 'parent_key': 'varchar',
        'epic_key': 'varchar', 'created': 'varchar', 'updated': 'varchar', 'resolutiondate': 'varchar',
        'duedate': 'varchar', '_dlt_load_id': 'varchar'}) }}

),

latest as (

    -- one row per issue id even when a load holds the issue twice (macros/dedup.sql)
    {{ latest_version('source', 'source.id', iso_timestamp('source.updated'), [], source('jira', 'issues')) }}

),

deletions as (

    select * from {{ ref('stg_jira__deletions') }}
    where entity = 'issues'

),

renamed as (

    select
        source.id as issue_id,
        source.key as issue_key,
        source.project_id,
        source.project_key,
        source.issue_type,
        source.summary,
        source.status,
        source.status_category,
        source.priority,
        source.resolution,
        source.assignee_account_id,
        source.reporter_account_id,
        source.parent_key,
        source.epic_key,
        {{ json_array_to_csv('source.labels') }} as labels,
        {{ safe_numeric('source.story_points') }} as story_points,
        {{ iso_timestamp('source.created') }} as created_at,
        {{ iso_timestamp('source.updated') }} as updated_at,
        {{ iso_timestamp('source.resolutiondate') }} as resolved_at,
        {{ safe_date('source.duedate') }} as due_date,
        {{ deleted_and_loaded_columns(updated_at=iso_timestamp('source.updated')) }}
    from latest as source  -- noqa: RF04
    left join deletions on source.id = deletions.record_id

)

select * from renamed
