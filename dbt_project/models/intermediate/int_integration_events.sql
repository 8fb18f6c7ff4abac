-- Sync events per connector other than loads: records quarantined (rejected by validation) and
-- records marked deleted, one row per event. Add union branches per vendor dataset.
with

servicenow_quarantine as (

    select
        'servicenow' as connector,
        'quarantined' as event_type,
        entity,
        quarantined_at as occurred_at
    from {{ ref('stg_servicenow__quarantine') }}

),

servicenow_deletions as (

    select
        'servicenow' as connector,
        'deleted' as event_type,
        entity,
        detected_at as occurred_at
    from {{ ref('stg_servicenow__deletions') }}

),

jira_quarantine as (

    select
        'jira' as connector,
        'quarantined' as event_type,
        entity,
        quarantined_at as occurred_at
    from {{ ref('stg_jira__quarantine') }}

),

jira_deletions as (

    select
        'jira' as connector,
        'deleted' as event_type,
        entity,
        detected_at as occurred_at
    from {{ ref('stg_jira__deletions') }}

),

onetrust_quarantine as (

    select
        'onetrust' as connector,
        'quarantined' as event_type,
        entity,
        quarantined_at as occurred_at
    from {{ ref('stg_onetrust__quarantine') }}

),

onetrust_deletions as (

    select
        'onetrust' as connector,
        'deleted' as event_type,
        entity,
        detected_at as occurred_at
    from {{ ref('stg_onetrust__deletions') }}

),

final as (

    select * from servicenow_quarantine
    union all
    select * from servicenow_deletions
    union all
    select * from jira_quarantine
    union all
    select * from jira_deletions
    union all
    select * from onetrust_quarantine
    union all
    select * from onetrust_deletions

)

select * from final
