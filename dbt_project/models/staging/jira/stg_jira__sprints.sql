with

source as (

    {{ source_or_empty('jira', 'sprints', {
        'id': 'varchar', 'board_id': 'varchar', 'name': 'varchar', 'state': 'varchar', 'goal': 'varchar',
        'start_date': 'varchar', 'end_date': 'varchar', 'complete_date': 'varchar', 'created_date': 'varchar',
        '_dlt_load_id': 'varchar'}) }}

),

deletions as (

    select * from {{ ref('stg_jira__deletions') }}
    where entity = 'sprints'

),

renamed as (

    select
        source.id as sprint_id,
        source.board_id,
        source.name as sprint_name,
        source.state as sprint_state,
        nullif(source.goal, '') as goal,
        {{ iso_timestamp('source.start_date') }} as started_at,
        {{ iso_timestamp('source.end_date') }} as ends_at,
        {{ iso_timestamp('source.complete_date') }} as completed_at,
        {{ iso_timestamp('source.created_date') }} as created_at,
        {{ deleted_and_loaded_columns() }}
    from source
    left join deletions on source.id = deletions.record_id

)

select * from renamed
