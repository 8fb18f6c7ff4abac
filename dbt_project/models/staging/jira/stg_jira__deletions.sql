-- jira's deletions table (see macros/dlt_side_tables.sql).
{{ stg_deletions('jira') }}
