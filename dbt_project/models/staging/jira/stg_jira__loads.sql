with

source as (

    {{ source_or_empty('jira', 'loads', {
        'load_id': 'varchar', 'schema_name': 'varchar', 'status': 'bigint', 'inserted_at': 'timestamp'}) }}

),

renamed as (

    select
        load_id,
        schema_name,
        status as load_status,
        {{ dlt_loaded_at('load_id') }} as started_at,
        {{ utc_timestamp('inserted_at') }} as completed_at
    from source

)

select * from renamed
