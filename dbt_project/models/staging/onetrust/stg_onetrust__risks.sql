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

latest as (

    -- one row per record, whatever case its id was stored in (macros/onetrust.sql)
    {{ onetrust_latest('source', 'risk_id', fingerprint_of=source('onetrust', 'risks')) }}

),

record_deletions as (

    {{ onetrust_row_deletions('latest', 'risk_id', 'deletions') }}

),

renamed as (

    select
        lower(latest.risk_id) as risk_id,
        cast(latest.number as integer) as risk_number,
        latest.name as risk_name,
        latest.description,
        {{ onetrust_label('latest.level', ['Low', 'Medium', 'High', 'Very High']) }} as risk_level,
        upper(trim(latest.state)) as risk_state,
        upper(trim(latest.type)) as risk_type,
        latest.source_type,
        {{ onetrust_uuid('latest.source_id') }} as source_id,
        latest.source_name,
        latest.category,
        {{ onetrust_uuid('latest.owner_id') }} as owner_id,
        latest.owner_name,
        {{ iso_timestamp('latest.deadline') }} as deadline_at,
        {{ iso_timestamp('latest.mitigated_date') }} as mitigated_at,
        {{ iso_timestamp('latest.created_at') }} as created_at,
        {{ iso_timestamp('latest.updated_at') }} as updated_at,
        {{ onetrust_updated_at_utc(source('onetrust', 'risks')) }} as updated_at_utc,
        {{ deleted_and_loaded_columns(
            relation='latest', deletions='record_deletions', updated_at=iso_timestamp('latest.updated_at')
        ) }}
    from latest
    left join record_deletions on latest.risk_id = record_deletions.row_id

)

select * from renamed
