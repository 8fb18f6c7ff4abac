-- Completed dlt loads per connector, from each dataset's _dlt_loads table (status 0 = loaded).
-- Add a union branch per vendor dataset.
with

servicenow as (

    select
        'servicenow' as connector,
        load_id,
        started_at,
        completed_at
    from {{ ref('stg_servicenow__loads') }}
    where load_status = 0

),

jira as (

    select
        'jira' as connector,
        load_id,
        started_at,
        completed_at
    from {{ ref('stg_jira__loads') }}
    where load_status = 0

),

onetrust as (

    select
        'onetrust' as connector,
        load_id,
        started_at,
        completed_at
    from {{ ref('stg_onetrust__loads') }}
    where load_status = 0

),

final as (

    select * from servicenow
    union all
    select * from jira
    union all
    select * from onetrust

)

select * from final
