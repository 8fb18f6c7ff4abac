with

source as (

    {{ source_or_empty('jira', 'boards', {
        'id': 'varchar', 'name': 'varchar', 'type': 'varchar', 'project_id': 'varchar',
        'project_key': 'varchar', '_dlt_load_id': 'varchar'}) }}

),

deletions as (

    select * from {{ ref('stg_jira__deletions') }}
    where entity = 'boards'

),

renamed as (

    select
        source.id as board_id,
        source.name as board_name,
        source.type as board_type,
        source.project_id,
        source.project_key,
        {{ deleted_and_loaded_columns() }}
    from source
    left join deletions on source.id = deletions.record_id

)

select * from renamed
