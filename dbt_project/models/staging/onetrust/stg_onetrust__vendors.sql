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

latest as (

    -- one row per record, whatever case its id was stored in (macros/onetrust.sql)
    {{ onetrust_latest('source', 'vendor_id', fingerprint_of=source('onetrust', 'vendors')) }}

),

record_deletions as (

    {{ onetrust_row_deletions('latest', 'vendor_id', 'deletions') }}

),

renamed as (

    select
        lower(latest.vendor_id) as vendor_id,
        cast(latest.number as integer) as vendor_number,
        latest.name as vendor_name,
        latest.type as vendor_type,
        latest.status as vendor_status,
        latest.criticality,
        latest.tier,
        latest.country,
        {{ onetrust_uuid('latest.owner_id') }} as owner_id,
        latest.owner_name,
        latest.contact_email,
        {{ iso_timestamp('latest.created_at') }} as created_at,
        {{ iso_timestamp('latest.updated_at') }} as updated_at,
        {{ onetrust_updated_at_utc(source('onetrust', 'vendors')) }} as updated_at_utc,
        {{ deleted_and_loaded_columns(
            relation='latest', deletions='record_deletions', updated_at=iso_timestamp('latest.updated_at')
        ) }}
    from latest
    left join record_deletions on latest.vendor_id = record_deletions.row_id

)

select * from renamed
