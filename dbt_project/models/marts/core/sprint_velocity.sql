-- Grain: one row per (board, sprint). Committed = issues in the sprint; completed = those done by
-- the sprint's completion (or now, while it runs), as Jira's velocity chart counts them: an issue
-- carried over is completed only in the sprint it was done in.
with

sprints as (

    select * from {{ ref('stg_jira__sprints') }}
    where not is_deleted

),

boards as (select * from {{ ref('stg_jira__boards') }}),

members as (select * from {{ ref('stg_jira__sprint_issues') }}),

issues as (

    select * from {{ ref('stg_jira__issues') }}
    where not is_deleted

),

scored as (

    select
        members.sprint_id,
        issues.story_points,
        coalesce(
            issues.status_category = 'done'
            and issues.resolved_at <= coalesce(sprints.completed_at, {{ utc_now() }}),
            false
        ) as is_completed
    from members
    inner join issues on members.issue_id = issues.issue_id
    inner join sprints on members.sprint_id = sprints.sprint_id

),

final as (

    select
        sprints.sprint_id,
        sprints.board_id,
        boards.board_name,
        boards.project_key,
        sprints.sprint_name,
        sprints.sprint_state,
        sprints.started_at,
        sprints.ends_at,
        sprints.completed_at,
        cast(count(scored.sprint_id) as integer) as issues_committed,
        cast(count(case when scored.is_completed then 1 end) as integer) as issues_completed,
        cast(coalesce(sum(scored.story_points), 0) as numeric(12, 2)) as points_committed,
        cast(coalesce(sum(case when scored.is_completed then scored.story_points end), 0) as numeric(12, 2))
            as points_completed
    from sprints
    left join boards on sprints.board_id = boards.board_id
    left join scored on sprints.sprint_id = scored.sprint_id
    group by
        sprints.sprint_id, sprints.board_id, boards.board_name, boards.project_key, sprints.sprint_name,
        sprints.sprint_state, sprints.started_at, sprints.ends_at, sprints.completed_at

)

select * from final
