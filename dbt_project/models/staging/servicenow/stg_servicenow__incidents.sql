with

source as (

    select * from {{ source('servicenow', 'incidents') }}

),

renamed as (

    select
        sys_id as incident_id,
        number as incident_number,
        short_description,
        description,
        {{ sn_int('priority') }} as priority,
        {{ sn_int('impact') }} as impact,
        {{ sn_int('urgency') }} as urgency,
        {{ sn_int('state') }} as state,
        {{ sn_bool('active') }} as is_active,
        category,
        nullif(caller_id, '') as caller_id,
        nullif(assignment_group, '') as assignment_group_id,
        nullif(assigned_to, '') as assigned_to_id,
        nullif(cmdb_ci, '') as cmdb_ci_id,
        {{ sn_timestamp('opened_at') }} as opened_at,
        {{ sn_timestamp('resolved_at') }} as resolved_at,
        {{ sn_timestamp('closed_at') }} as closed_at,
        {{ sn_timestamp('sys_created_on') }} as created_at,
        {{ sn_timestamp('sys_updated_on') }} as updated_at,
        {{ dlt_loaded_at() }} as loaded_at

    from source

)

select * from renamed
