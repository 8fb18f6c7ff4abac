-- jira's quarantine table (see macros/dlt_side_tables.sql).
{{ stg_quarantine('jira') }}
