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
        delete from {{ this }} as evidence
        where
            evidence.source_system = 'jira'
            and evidence.evidence_type = 'attachment'
            -- exists / not exists, not in: PostgreSQL runs a large NOT IN as a subplan rescanned per row
            and exists (
                select 1 from {{ ref('stg_jira__attachments') }} as listed
                where 'jira-attachment-' || listed.attachment_id = evidence.evidence_id
            )
            and not exists (
                select 1 from {{ ref('stg_jira__attachments') }} as listed
                where
                    'jira-attachment-' || listed.attachment_id = evidence.evidence_id
                    and listed.issue_id = evidence.record_id
            )
    {%- endif -%}
{%- endmacro %}
