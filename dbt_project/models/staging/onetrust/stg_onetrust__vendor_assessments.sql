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

latest as (

    -- one row per record, whatever case its id was stored in (macros/onetrust.sql)
    {{ onetrust_latest('source', 'assessment_id', fingerprint_of=source('onetrust', 'vendor_assessments')) }}

),

record_deletions as (

    {{ onetrust_row_deletions('latest', 'assessment_id', 'deletions') }}

),

renamed as (

    select
        lower(latest.assessment_id) as assessment_id,
        {{ onetrust_uuid('latest.vendor_id') }} as vendor_id,
        latest.vendor_name,
        latest.assessment_name,
        latest.template_name,
        {{ onetrust_label('latest.status', ['Not Started', 'In Progress', 'Under Review', 'Completed']) }} as status,
        upper(trim(latest.approval_state)) as approval_state,
        {{ onetrust_label('latest.risk_level', ['Low', 'Medium', 'High', 'Very High']) }} as risk_level,
        {{ iso_timestamp('latest.deadline') }} as deadline_at,
        {{ iso_timestamp('latest.created_at') }} as created_at,
        {{ iso_timestamp('latest.updated_at') }} as updated_at,
        {{ onetrust_updated_at_utc(source('onetrust', 'vendor_assessments')) }} as updated_at_utc,
        {{ iso_timestamp('latest.completed_on') }} as completed_at,
        {{ deleted_and_loaded_columns(
            relation='latest', deletions='record_deletions', updated_at=iso_timestamp('latest.updated_at')
        ) }}
    from latest
    left join record_deletions on latest.assessment_id = record_deletions.row_id

)

select * from renamed
