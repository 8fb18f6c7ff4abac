with

source as (

    select * from {{ source('servicenow', 'loads') }}

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
