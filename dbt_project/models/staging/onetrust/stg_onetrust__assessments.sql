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

renamed as (

    select
        source.assessment_id,
        cast(source.number as integer) as assessment_number,
        source.name as assessment_name,
        source.status,
        source.template_type,
        source.template_name,
        source.risk_level,
        source.approval_state,
        source.owner_id,
        source.owner_name,
        source.approver_name,
        source.primary_inventory_id,
        source.primary_inventory_name,
        source.attestation_required,
        {{ iso_timestamp('source.deadline') }} as deadline_at,
        {{ iso_timestamp('source.created_at') }} as created_at,
        {{ iso_timestamp('source.updated_at') }} as updated_at,
        {{ iso_timestamp('source.completed_on') }} as completed_at,
        {{ deleted_and_loaded_columns(updated_at=iso_timestamp('source.updated_at')) }}
    from source
    left join deletions on source.assessment_id = deletions.record_id

)

select * from renamed
