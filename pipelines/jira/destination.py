"""Reads of this pipeline's own dataset that the Jira resources need (empty when nothing is loaded yet).

Filters are inlined, not bound, because dlt's SQL clients differ in placeholder style; every inlined
value is a validated project key, never vendor free text.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import dlt

from pipelines.common.deletions import DELETIONS_TABLE

log = logging.getLogger(__name__)


def _query(sql_template: str, *tables: str) -> list[tuple] | None:
    """Rows of ``sql_template`` with ``{0}``, ``{1}``... replaced by the qualified ``tables``; None if
    a table does not exist yet."""
    pipeline = dlt.current.pipeline()
    try:
        with pipeline.sql_client() as client:
            names = [client.make_qualified_table_name(t) for t in tables]
            return list(client.execute_sql(sql_template.format(*names)) or [])
    except Exception as exc:  # table or dataset not created yet: nothing stored
        log.debug("Jira: destination query skipped (%s)", type(exc).__name__)
        return None


def stored_issue_ids(project_keys: Sequence[str]) -> set[str]:
    """Ids of stored issues in these projects not already marked deleted."""
    keys = ", ".join(f"'{k}'" for k in project_keys)
    rows = _query(
        "select id from {0} where project_key in (" + keys + ") and id not in "
        "(select record_id from {1} where entity = 'issues')", "issues", DELETIONS_TABLE)
    if rows is None:  # the deletions table may not exist yet
        rows = _query("select id from {0} where project_key in (" + keys + ")", "issues")
    return {str(r[0]) for r in rows or []}


def stored_content() -> dict[str, tuple[str, str]]:
    """Attachment id -> (sha256, storage URI) of content already stored (never downloaded twice)."""
    rows = _query("select id, sha256, storage_uri from {0} where content_status = 'stored'", "attachments")
    return {str(r[0]): (r[1], r[2]) for r in rows or []}


def attachment_owners(attachment_ids: Sequence[str]) -> list[tuple[str, str, str]]:
    """(attachment id, issue id, issue key) of the stored rows of these attachment ids (digits only: ids
    that are not are left out, never inlined)."""
    ids = ", ".join(f"'{i}'" for i in attachment_ids if i.isascii() and i.isdigit())
    if not ids:
        return []
    rows = _query("select id, issue_id, issue_key from {0} where id in (" + ids + ")", "attachments")
    return [(str(r[0]), str(r[1]), str(r[2])) for r in rows or []]


def attachment_rows_of(issue_ids: Sequence[str], columns: Sequence[str]) -> list[dict] | None:
    """The stored attachment rows (``columns``) of these issues (digits only), tombstones left out; None
    when they cannot be read (the caller must then change nothing: an empty answer would delete rows)."""
    ids = ", ".join(f"'{i}'" for i in issue_ids if i.isascii() and i.isdigit())
    if not ids:
        return []
    rows = _query("select " + ", ".join(columns) + " from {0} where issue_id in (" + ids + ") "
                  "and id not like '-%'", "attachments")
    return None if rows is None else [dict(zip(columns, r, strict=True)) for r in rows]
