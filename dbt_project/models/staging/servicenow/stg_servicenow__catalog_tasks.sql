with

source as (

    select * from {{ source('servicenow', 'catalog_tasks') }}

),

deletions as (

    select * from {{ ref('stg_servicenow__deletions') }}
    where entity = 'catalog_tasks'

),

renamed as (

    select
        source.sys_id as catalog_task_id,
        source.number as catalog_task_number,
        {{ sn_task_columns() }}
        nullif(source.request, '') as request_id,
        nullif(source.request_item, '') as request_item_id,
        {{ sn_record_columns() }}
    from source
    left join deletions on source.sys_id = deletions.record_id

)

select * from renamed
