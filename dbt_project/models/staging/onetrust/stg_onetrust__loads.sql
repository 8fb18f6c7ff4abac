-- onetrust's loads table (see macros/dlt_side_tables.sql).
{{ stg_loads('onetrust') }}
