-- dlt writes an assessment's answers as its child table and replaces them when the assessment
-- changes; _dlt_parent_id is the parent row's _dlt_id. Only the answers of the assessment row staged
-- (the newest, whatever case its id was stored in: macros/onetrust.sql) are kept. An answer has no
-- stamp of its own: updated_at_utc is its assessment's (answers are replaced when the assessment changes).

with

source as (

    {{ source_or_empty('onetrust', 'assessments__responses', {
        'section_id': 'varchar', 'section_name': 'varchar', 'question_id': 'varchar',
        'question_sequence': 'bigint', 'question': 'varchar', 'response_id': 'varchar', 'response': 'varchar',
        'response_type': 'varchar', 'justification': 'varchar', '_dlt_parent_id': 'varchar',
        '_dlt_list_idx': 'bigint', '_dlt_id': 'varchar'}) }}

),

assessments as (

    {{ source_or_empty('onetrust', 'assessments', {
        'assessment_id': 'varchar', 'updated_at': 'varchar', 'updated_at_utc': 'varchar', '_dlt_id': 'varchar',
        '_dlt_load_id': 'varchar'}) }}

),

latest as (

    {{ onetrust_latest('assessments', 'assessment_id', fingerprint_of=source('onetrust', 'assessments')) }}

),

renamed as (

    select
        source._dlt_id as assessment_response_id,
        lower(latest.assessment_id) as assessment_id,
        source._dlt_list_idx as response_index,
        source.section_id,
        source.section_name,
        source.question_id,
        cast(source.question_sequence as integer) as question_sequence,
        source.question,
        source.response_id,
        source.response,
        source.response_type,
        nullif(source.justification, '') as justification,
        {{ onetrust_updated_at_utc(source('onetrust', 'assessments')) }} as updated_at_utc,
        {{ dlt_loaded_at('latest._dlt_load_id') }} as loaded_at
    from source
    inner join latest on source._dlt_parent_id = latest._dlt_id

)

select * from renamed
