with

source as (

    {{ source_or_empty('onetrust', 'assessments', {
        'assessment_id': 'varchar', 'number': 'bigint', 'name': 'varchar', 'status': 'varchar',
        'template_type': 'varchar', 'template_name': 'varchar', 'risk_level': 'varchar',
        'approval_state': 'varchar', 'owner_id': 'varchar', 'owner_name': 'varchar', 'approver_name': 'varchar',
        'primary_inventory_id': 'varchar', 'primary_inventory_name': 'varchar', 'attestation_required': 'boolean',
        'deadline': 'varchar', 'created_at': 'varchar', 'updated_at': 'varchar', 'completed_on': 'varchar',
        '_dlt_load_id': 'varchar'}) }}

),

deletions as (

    select * from {{ ref('stg_onetrust__deletions') }}
    where entity = 'assessments'

),

latest as (

    -- one row per record, whatever case its id was stored in (macros/onetrust.sql)
    {{ onetrust_latest('source', 'assessment_id', fingerprint_of=source('onetrust', 'assessments')) }}

),

record_deletions as (

    {{ onetrust_row_deletions('latest', 'assessment_id', 'deletions') }}

),

renamed as (

    select
        lower(latest.assessment_id) as assessment_id,
        cast(latest.number as integer) as assessment_number,
        latest.name as assessment_name,
        {{ onetrust_label('latest.status', ['Not Started', 'In Progress', 'Under Review', 'Completed']) }} as status,
        upper(trim(latest.template_type)) as template_type,
        latest.template_name,
        {{ onetrust_label('latest.risk_level', ['Low', 'Medium', 'High', 'Very High']) }} as risk_level,
        upper(trim(latest.approval_state)) as approval_state,
        {{ onetrust_uuid('latest.owner_id') }} as owner_id,
        latest.owner_name,
        latest.approver_name,
        {{ onetrust_uuid('latest.primary_inventory_id') }} as primary_inventory_id,
        latest.primary_inventory_name,
        latest.attestation_required,
        {{ iso_timestamp('latest.deadline') }} as deadline_at,
        {{ iso_timestamp('latest.created_at') }} as created_at,
        {{ iso_timestamp('latest.updated_at') }} as updated_at,
        {{ onetrust_updated_at_utc(source('onetrust', 'assessments')) }} as updated_at_utc,
        {{ iso_timestamp('latest.completed_on') }} as completed_at,
        {{ deleted_and_loaded_columns(
            relation='latest', deletions='record_deletions', updated_at=iso_timestamp('latest.updated_at')
        ) }}
    from latest
    left join record_deletions on latest.assessment_id = record_deletions.row_id

)

select * from renamed
