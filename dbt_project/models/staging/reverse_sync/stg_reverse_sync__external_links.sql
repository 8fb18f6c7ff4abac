-- Grain: one row per (vendor, internal id) that reverse sync linked to a vendor record: the record
-- the push created, or adopted (a create that went through unanswered, found by our id), for that
-- Project X id. Written by the push assets (assets/reverse_sync/state.py save_link); the status of a
-- task follows the linked record, never another record that merely carries our id (a Jira clone
-- copies the projectx:<task id> label).
-- Read by relation, not as a dbt source: the table's producer is the push, which runs after dbt,
-- and a source would make it a parent of the dbt assets (full_sync's dbt step split in two around
-- the push). A build reads the links of the pushes before it. Absent until the first push: no rows.
{%- set links = api.Relation.create(
    database=target.database, schema='reverse_sync', identifier='external_links') %}

with

source as (

    {% if execute and load_relation(links) is not none -%}
        select * from {{ links }}
    {%- else -%}
        select
            cast(null as varchar) as vendor,
            cast(null as varchar) as internal_id,
            cast(null as varchar) as vendor_object,
            cast(null as varchar) as vendor_id,
            cast(null as varchar) as vendor_number,
            cast(null as varchar) as status,
            cast(null as timestamp) as created_at,
            cast(null as timestamp) as updated_at
        where 1 = 0
    {%- endif %}

),

renamed as (

    select
        vendor,
        internal_id,
        vendor_object,
        cast(vendor_id as varchar) as vendor_id,
        vendor_number,
        status as link_status,
        cast(created_at as timestamp) as linked_at,
        cast(updated_at as timestamp) as updated_at
    from source

)

select * from renamed
