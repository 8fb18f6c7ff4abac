with

source as (

    {{ source_or_empty('onetrust', 'vendors', {
        'vendor_id': 'varchar', 'number': 'bigint', 'name': 'varchar', 'type': 'varchar', 'status': 'varchar',
        'criticality': 'varchar', 'tier': 'varchar', 'country': 'varchar', 'owner_id': 'varchar',
        'owner_name': 'varchar', 'contact_email': 'varchar', 'created_at': 'varchar', 'updated_at': 'varchar',
        '_dlt_load_id': 'varchar'}) }}

),

deletions as (

    select * from {{ ref('stg_onetrust__deletions') }}
    where entity = 'vendors'

),

renamed as (

    select
        source.vendor_id,
        cast(source.number as integer) as vendor_number,
        source.name as vendor_name,
        source.type as vendor_type,
        source.status as vendor_status,
        source.criticality,
        source.tier,
        source.country,
        source.owner_id,
        source.owner_name,
        source.contact_email,
        {{ iso_timestamp('source.created_at') }} as created_at,
        {{ iso_timestamp('source.updated_at') }} as updated_at,
        {{ deleted_and_loaded_columns(updated_at=iso_timestamp('source.updated_at')) }}
    from source
    left join deletions on source.vendor_id = deletions.record_id

)

select * from renamed
