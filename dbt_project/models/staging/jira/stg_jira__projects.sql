with

source as (

    {{ source_or_empty('jira', 'projects', {
        'id': 'varchar', 'key': 'varchar', 'name': 'varchar', 'project_type_key': 'varchar',
        'lead_account_id': 'varchar', 'description': 'varchar', '_dlt_load_id': 'varchar'}) }}

),

deletions as (

    select * from {{ ref('stg_jira__deletions') }}
    where entity = 'projects'

),

renamed as (

    select
        source.id as project_id,
        source.key as project_key,
        source.name as project_name,
        source.project_type_key,
        source.lead_account_id,
        nullif(source.description, '') as description,
        {{ deleted_and_loaded_columns() }}
    from source
    left join deletions on source.id = deletions.record_id

)

select * from renamed
