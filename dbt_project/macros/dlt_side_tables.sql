{#-
  Staging for the tables every vendor's dlt sync writes beside its entities, one macro each so the
  three vendors' models stay one line and cannot drift apart:
  quarantine (rejected records), deletions (records the vendor no longer has), loads (dlt's load log).
-#}

{% macro stg_quarantine(vendor) %}
with

source as (

    {{ source_or_empty(vendor, 'quarantine', {
        'entity': 'varchar', 'record_id': 'varchar', 'reason': 'varchar', 'run_id': 'varchar',
        'record': 'varchar', 'quarantined_at': 'timestamp', '_dlt_load_id': 'varchar', '_dlt_id': 'varchar'}) }}

),

renamed as (

    select
        _dlt_id as quarantine_id,
        entity,
        nullif(record_id, '') as record_id,
        reason,
        run_id,
        record as record_json,
        {{ utc_timestamp('quarantined_at') }} as quarantined_at,
        {{ dlt_loaded_at() }} as loaded_at
    from source

)

select * from renamed
{% endmacro %}

{% macro stg_deletions(vendor) %}
with

source as (

    {{ source_or_empty(vendor, 'deletions', {
        'entity': 'varchar', 'record_id': 'varchar', 'deleted_at': 'timestamp', 'detected_at': 'timestamp',
        'detected_by': 'varchar', 'run_id': 'varchar', '_dlt_load_id': 'varchar'}) }}

),

renamed as (

    select
        entity,
        record_id,
        {{ utc_timestamp('deleted_at') }} as deleted_at,
        {{ utc_timestamp('detected_at') }} as detected_at,
        detected_by,
        run_id,
        {{ dlt_loaded_at() }} as loaded_at
    from source

)

select * from renamed
{% endmacro %}

{% macro stg_loads(vendor) %}
with

source as (

    {{ source_or_empty(vendor, 'loads', {
        'load_id': 'varchar', 'schema_name': 'varchar', 'status': 'bigint', 'inserted_at': 'timestamp'}) }}

),

renamed as (

    select
        load_id,
        schema_name,
        status as load_status,
        {{ dlt_loaded_at('load_id') }} as started_at,
        {{ utc_timestamp('inserted_at') }} as completed_at
    from source

)

select * from renamed
{% endmacro %}
