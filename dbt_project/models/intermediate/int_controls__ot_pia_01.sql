-- OT-PIA-01: every high-risk privacy impact assessment (risk level High or Very High) is approved.
-- PIAs still in progress are 'pending'; a completed PIA that was not approved fails.
with

pias as (

    select * from {{ ref('stg_onetrust__assessments') }}
    where template_type = 'PIA' and risk_level in ('High', 'Very High') and not is_deleted

),

final as (

    select
        'OT-PIA-01' as control_id,
        'onetrust_pia' as object_type,
        assessment_id as object_id,
        assessment_name as object_label,
        cast(null as varchar) as cmdb_ci_id,
        case
            when approval_state = 'APPROVED' then 'pass'
            when status = 'Completed' then 'fail'
            else 'pending'
        end as status,
        case
            when status = 'Completed' and coalesce(approval_state, '') != 'APPROVED'
                then risk_level || '-risk PIA completed with approval ' || coalesce(approval_state, 'none')
        end as reason,
        case
            when status = 'Completed' and coalesce(approval_state, '') != 'APPROVED' then completed_at
        end as failed_since
    from pias

)

select * from final
