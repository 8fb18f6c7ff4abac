with

source as (

    {{ source_or_empty('servicenow', 'quarantine', {
        'entity': 'varchar', 'record_id': 'varchar', 'reason': 'varchar', 'run_id': 'varchar',
        'record': 'varchar', 'quarantined_at': 'timestamp', '_dlt_load_id': 'varchar', '_dlt_id': 'varchar'}) }}

),

renamed as (

    select
        _dlt_id as quarantine_id,
        entity,
        nullif(record_id, '') as record_id,
        reason,
        run_id,
        record as record_json,
        {{ utc_timestamp('quarantined_at') }} as quarantined_at,
        {{ dlt_loaded_at() }} as loaded_at
    from source

)

select * from renamed
