with

source as (

    {{ source_or_empty('reconciliation', 'findings', {
        'run_id': 'varchar', 'detected_at': 'timestamp', 'vendor': 'varchar', 'entity': 'varchar',
        'kind': 'varchar', 'found': 'integer', 'healed': 'integer', 'unhealed': 'integer',
        'vendor_count': 'integer', 'warehouse_count': 'integer', 'example_ids': 'varchar',
        'detail': 'varchar', 'owner_queue': 'varchar', 'runbook_id': 'varchar'}) }}

),

renamed as (

    select
        run_id,
        detected_at,
        vendor,
        entity,
        kind,
        found,
        healed,
        unhealed,
        vendor_count,
        warehouse_count,
        example_ids,
        detail,
        owner_queue,
        runbook_id
    from source

)

select * from renamed
