-- Every automated control's per-object outcome, one model per control, stacked.
with

sn_inc_01 as (

    select * from {{ ref('int_controls__sn_inc_01') }}

),

sn_inc_02 as (

    select * from {{ ref('int_controls__sn_inc_02') }}

),

final as (

    select * from sn_inc_01
    union all
    select * from sn_inc_02

)

select * from final
