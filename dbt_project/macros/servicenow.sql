{#- The fields every ServiceNow task table shares (incident, change_request, sc_request, sc_task). -#}
{% macro sn_task_columns(relation='source') -%}
        {{ relation }}.short_description,
        nullif({{ relation }}.description, '') as description,
        {{ sn_int(relation ~ '.state') }} as state,
        {{ sn_bool(relation ~ '.active') }} as is_active,
        {{ sn_int(relation ~ '.priority') }} as priority,
        {{ sn_int(relation ~ '.impact') }} as impact,
        {{ sn_int(relation ~ '.urgency') }} as urgency,
        nullif({{ relation }}.approval, '') as approval,
        nullif({{ relation }}.assignment_group, '') as assignment_group_id,
        nullif({{ relation }}.assigned_to, '') as assigned_to_id,
        nullif({{ relation }}.opened_by, '') as opened_by_id,
        nullif({{ relation }}.closed_by, '') as closed_by_id,
        nullif({{ relation }}.cmdb_ci, '') as cmdb_ci_id,
        nullif({{ relation }}.company, '') as company_id,
        nullif({{ relation }}.location, '') as location_id,
        nullif({{ relation }}.correlation_id, '') as correlation_id,
        nullif({{ relation }}.parent, '') as parent_id,
        {{ sn_timestamp(relation ~ '.opened_at') }} as opened_at,
        {{ sn_timestamp(relation ~ '.closed_at') }} as closed_at,
        {{ sn_timestamp(relation ~ '.due_date') }} as due_at,
{%- endmacro %}

{#- Record bookkeeping every ServiceNow table carries, plus the delete flag from servicenow.deletions.
    A record re-loaded after its deletion was recorded (restored at the vendor) is not deleted.
    load_id: the dlt load that wrote the row; staged_at: when dbt last wrote it (its run's start).
    Both drive the incremental models and tests. -#}
{% macro sn_record_columns(relation='source', deletions='deletions') -%}
        {{ sn_timestamp(relation ~ '.sys_created_on') }} as created_at,
        nullif({{ relation }}.sys_created_by, '') as created_by,
        {{ sn_timestamp(relation ~ '.sys_updated_on') }} as updated_at,
        nullif({{ relation }}.sys_updated_by, '') as updated_by,
        {{ sn_int(relation ~ '.sys_mod_count') }} as mod_count,
        {{ deleted_and_loaded_columns(relation, deletions, sn_timestamp(relation ~ '.sys_updated_on')) }},
        {{ relation }}._dlt_load_id as load_id,
        {{ run_started_timestamp() }} as staged_at
{%- endmacro %}

{#- A ServiceNow task table's raw rows; no rows, with every column staging reads (all strings, as the
    Table API sends them), when dlt never created the table because the instance has no such record
    (change requests, requests, catalog tasks). `columns`: the model's own fields; the shared ones are
    those sn_task_columns and sn_record_columns read. Incidents and CIs, which every instance has, read
    their source directly: a missing one fails the build. -#}
{% macro sn_source_or_empty(table_name, columns) -%}
    {%- set shared = ['sys_id', 'number', 'short_description', 'description', 'state', 'active', 'priority',
                      'impact', 'urgency', 'approval', 'assignment_group', 'assigned_to', 'opened_by',
                      'closed_by', 'cmdb_ci', 'company', 'location', 'correlation_id', 'parent', 'opened_at',
                      'closed_at', 'due_date', 'sys_created_on', 'sys_created_by', 'sys_updated_on',
                      'sys_updated_by', 'sys_mod_count', '_dlt_load_id'] -%}
    {%- set typed = {} -%}
    {%- for name in shared + columns -%}
        {%- do typed.update({name: 'varchar'}) -%}
    {%- endfor -%}
    {{ source_or_empty('servicenow', table_name, typed) }}
{%- endmacro %}
