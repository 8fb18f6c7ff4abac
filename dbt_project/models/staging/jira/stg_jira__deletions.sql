with

source as (

    {{ source_or_empty('jira', 'deletions', {
        'entity': 'varchar', 'record_id': 'varchar', 'deleted_at': 'timestamp', 'detected_at': 'timestamp',
        'detected_by': 'varchar', 'run_id': 'varchar', '_dlt_load_id': 'varchar'}) }}

),

renamed as (

    select
        entity,
        record_id,
        {{ utc_timestamp('deleted_at') }} as deleted_at,
        {{ utc_timestamp('detected_at') }} as detected_at,
        detected_by,
        run_id,
        {{ dlt_loaded_at() }} as loaded_at
    from source

)

select * from renamed
