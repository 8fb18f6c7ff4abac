with

source as (

    {{ source_or_empty('onetrust', 'risks', {
        'risk_id': 'varchar', 'number': 'bigint', 'name': 'varchar', 'description': 'varchar',
        'level': 'varchar', 'state': 'varchar', 'type': 'varchar', 'source_type': 'varchar',
        'source_id': 'varchar', 'source_name': 'varchar', 'category': 'varchar', 'owner_id': 'varchar',
        'owner_name': 'varchar', 'deadline': 'varchar', 'mitigated_date': 'varchar', 'created_at': 'varchar',
        'updated_at': 'varchar', '_dlt_load_id': 'varchar'}) }}

),

deletions as (

    select * from {{ ref('stg_onetrust__deletions') }}
    where entity = 'risks'

),

renamed as (

    select
        source.risk_id,
        cast(source.number as integer) as risk_number,
        source.name as risk_name,
        source.description,
        source.level as risk_level,
        source.state as risk_state,
        source.type as risk_type,
        source.source_type,
        source.source_id,
        source.source_name,
        source.category,
        source.owner_id,
        source.owner_name,
        {{ iso_timestamp('source.deadline') }} as deadline_at,
        {{ iso_timestamp('source.mitigated_date') }} as mitigated_at,
        {{ iso_timestamp('source.created_at') }} as created_at,
        {{ iso_timestamp('source.updated_at') }} as updated_at,
        {{ deleted_and_loaded_columns(updated_at=iso_timestamp('source.updated_at')) }}
    from source
    left join deletions on source.risk_id = deletions.record_id

)

select * from renamed
