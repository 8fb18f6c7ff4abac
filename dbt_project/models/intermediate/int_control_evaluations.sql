-- Every automated control's per-object outcome, one model per control, stacked.
-- To add a control: a row in the control_catalog seed, a model int_controls__<id> with these
-- columns, and one more union branch here.
-- A table, not a view: control_results, the remediation tasks, the outbound marts and their tests
-- all read it, and each would otherwise evaluate every control over the staged records again.
{{ config(materialized='table') }}

with

sn_inc_01 as (

    select * from {{ ref('int_controls__sn_inc_01') }}

),

sn_inc_02 as (

    select * from {{ ref('int_controls__sn_inc_02') }}

),

sn_chg_01 as (

    select * from {{ ref('int_controls__sn_chg_01') }}

),

sn_cmdb_01 as (

    select * from {{ ref('int_controls__sn_cmdb_01') }}

),

ot_ven_01 as (

    select * from {{ ref('int_controls__ot_ven_01') }}

),

ot_pia_01 as (

    select * from {{ ref('int_controls__ot_pia_01') }}

),

final as (

    select * from sn_inc_01
    union all
    select * from sn_inc_02
    union all
    select * from sn_chg_01
    union all
    select * from sn_cmdb_01
    union all
    select * from ot_ven_01
    union all
    select * from ot_pia_01

)

select * from final
