-- jira's loads table (see macros/dlt_side_tables.sql).
{{ stg_loads('jira') }}
