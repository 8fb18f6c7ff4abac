{#- Pre-hook of an incremental model whose contract widened ``column`` from integer to bigint (round 27: sizes in
    bytes pass 2 GiB). A table built before keeps its integer column (append_new_columns changes no type, and a
    contract forbids sync_all_columns): DuckDB widens it in place; on PostgreSQL the views built on the table
    hold the type, so the run warns with the one-off fix instead (a value past 2^31 would fail the insert). -#}
{% macro widen_to_bigint(column) -%}
    {%- if execute and is_incremental() -%}
        {%- set found = adapter.get_columns_in_relation(this) | selectattr('name', 'equalto', column) | list -%}
        {%- if found and found[0].dtype | lower in ('integer', 'int', 'int4', 'int32') -%}
            {%- if target.type == 'duckdb' -%}
                alter table {{ this }} alter column {{ column }} type bigint
            {%- else -%}
                {{ log("WARNING: " ~ this ~ "." ~ column ~ " is still integer on this warehouse (sizes past 2 GiB will "
                       ~ "fail the build): run `dbt build --full-refresh --select " ~ this.identifier ~ "+` once",
                       info=True) }}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
