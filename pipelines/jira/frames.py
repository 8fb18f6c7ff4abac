"""Validated rows of one batch -> Arrow tables with the columns and types the dict path produced.

dlt writes Arrow tables straight to parquet (no per-row normalisation), which is most of what a
first sync of a large site costs otherwise. The tables keep the warehouse exactly as before: every
column text (the vendor's strings), list columns as compact JSON text in a ``json`` column, a
``_tombstone`` bool on child tables, and a ``_dlt_id`` per row, because tables first loaded from
dicts have it as NOT NULL and a later Arrow load must still fit them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import orjson
import pyarrow as pa
from dlt.common.normalizers.utils import generate_dlt_ids

ISSUE_COLUMNS = (
    "id", "key", "project_id", "project_key", "issue_type", "issue_type_id", "summary", "status", "status_id",
    "status_category", "priority", "resolution", "labels", "components", "fix_versions", "assignee_account_id",
    "reporter_account_id", "creator_account_id", "parent_id", "parent_key", "epic_key", "story_points",
    "sprint_ids", "created", "updated", "resolutiondate", "statuscategorychangedate", "duedate",
)
JSON_COLUMNS = ("labels", "components", "fix_versions", "sprint_ids")
CHILD_COLUMNS: dict[str, tuple[str, ...]] = {
    "issue_changelog": ("id", "history_id", "item_index", "issue_id", "issue_key", "author_account_id", "created",
                        "field", "field_id", "field_type", "from_value", "from_string", "to_value", "to_string"),
    "comments": ("id", "issue_id", "issue_key", "author_account_id", "update_author_account_id", "body_text",
                 "created", "updated"),
    "attachments": ("id", "issue_id", "issue_key", "filename", "mime_type", "size_bytes", "created",
                    "author_account_id", "sha256", "storage_uri", "content_status", "content_error"),
    "sprint_issues": ("sprint_id", "issue_id", "issue_key"),
}
DLT_ID = "_dlt_id"


class _KnownJsonCoercion(logging.Filter):
    """dlt warns on every batch that the ``json`` hints of JSON_COLUMNS differ from their Arrow type
    (text holding JSON, which the destination casts, as intended). Said once per batch of 1,000
    issues, it would bury real warnings in Dagster's logs; other schema warnings still go through."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("when merging arrow schema with dlt schema" in message and "resource: issues" in message)


logging.getLogger("dlt").addFilter(_KnownJsonCoercion())


def _text(values: list[Any]) -> pa.Array:
    try:
        return pa.array(values, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # an odd value in an unvalidated column: keep it as text
        return pa.array([v if v is None or isinstance(v, str) else orjson.dumps(v, default=str).decode()
                         for v in values], type=pa.string())


def table(rows: list[dict[str, Any]], columns: Sequence[str], *, required: Sequence[str] = (),
          json_columns: Sequence[str] = (), flags: Sequence[str] = ()) -> pa.Table:
    """An Arrow table of ``rows``: ``columns`` as text (``json_columns`` serialised), ``flags`` as bool."""
    arrays, fields = [], []
    for name in columns:
        values = [r.get(name) for r in rows]
        if name in json_columns:
            values = [None if v is None else orjson.dumps(v).decode() for v in values]
        arrays.append(_text(values))
        fields.append(pa.field(name, pa.string(), nullable=name not in required))
    for name in flags:
        arrays.append(pa.array([r.get(name) for r in rows], type=pa.bool_()))
        fields.append(pa.field(name, pa.bool_(), nullable=True))
    arrays.append(pa.array(generate_dlt_ids(len(rows)), type=pa.string()))
    fields.append(pa.field(DLT_ID, pa.string(), nullable=False))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))
