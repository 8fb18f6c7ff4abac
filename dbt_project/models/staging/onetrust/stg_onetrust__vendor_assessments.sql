with

source as (

    {{ source_or_empty('onetrust', 'vendor_assessments', {
        'assessment_id': 'varchar', 'vendor_id': 'varchar', 'vendor_name': 'varchar',
        'assessment_name': 'varchar', 'template_name': 'varchar', 'status': 'varchar',
        'approval_state': 'varchar', 'risk_level': 'varchar', 'deadline': 'varchar', 'created_at': 'varchar',
        'updated_at': 'varchar', 'completed_on': 'varchar', '_dlt_load_id': 'varchar'}) }}

),

deletions as (

    select * from {{ ref('stg_onetrust__deletions') }}
    where entity = 'vendor_assessments'

),

renamed as (

    select
        source.assessment_id,
        source.vendor_id,
        source.vendor_name,
        source.assessment_name,
        source.template_name,
        source.status,
        source.approval_state,
        source.risk_level,
        {{ iso_timestamp('source.deadline') }} as deadline_at,
        {{ iso_timestamp('source.created_at') }} as created_at,
        {{ iso_timestamp('source.updated_at') }} as updated_at,
        {{ iso_timestamp('source.completed_on') }} as completed_at,
        {{ deleted_and_loaded_columns(updated_at=iso_timestamp('source.updated_at')) }}
    from source
    left join deletions on source.assessment_id = deletions.record_id

)

select * from renamed
