{#-
    Pre-hook of the incremental evidence mart: a Jira attachment's evidence row stays under the issue
    that lists the attachment now. When the sync moves an attachment id to another issue (Jira keeps the
    id when an issue moves; jira.attachment_moves keeps the history), the new issue's row replaces the old
    one through the merge on evidence_id only if that issue is control evidence too (labelled control:<id>);
    otherwise the row under the issue it left would stay, linked to that issue's controls. This deletes
    every Jira attachment row whose attachment staging now lists under another issue (a full refresh
    builds the same: the old issue no longer lists it). Attachments no issue lists any more are left
    as they are. A no-op on a full refresh.
-#}
{% macro drop_jira_attachments_moved_away() -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where
            source_system = 'jira'
            and evidence_type = 'attachment'
            and evidence_id in (
                select 'jira-attachment-' || attachment_id from {{ ref('stg_jira__attachments') }}
            )
            and evidence_id || ':' || record_id not in (
                select 'jira-attachment-' || attachment_id || ':' || issue_id
                from {{ ref('stg_jira__attachments') }}
                where attachment_id is not null and issue_id is not null
            )
    {%- endif -%}
{%- endmacro %}
