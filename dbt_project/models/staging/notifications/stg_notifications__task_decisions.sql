-- Grain: one row per task decided with Slack's Approve/Deny buttons (the latest decision).
with

source as (

    select * from {{ source('notifications', 'task_decisions') }}

),

renamed as (

    select
        task_id,
        decision,
        decided_by,
        cast(decided_at as timestamp) as decided_at
    from source

)

select * from renamed
