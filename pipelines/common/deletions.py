"""Deletes are captured and marked, never lost: one ``deletions`` table per source dataset.

A row says which record of which entity the vendor no longer has, when the vendor deleted it
(``deleted_at``, the vendor's time when it says so; else when we found it gone), when we learned it
and how (``feed`` = the vendor's own delete signal, ``reconciliation`` = an id sweep found it missing,
``webhook`` = a delete event). The staged record keeps its last known values; staging joins this table
to flag it deleted, comparing vendor times (a delete counts if it is not older than the record's last
update: a record re-created or restored after its delete is live).

The table holds the *current* deletes: a record seen alive at the vendor again (restored, or re-created
with the same id) has its row withdrawn (:func:`withdrawn_rows`, a dlt hard delete), so a later delete
of it is recorded afresh. Within one load the newest row per record wins (``detected_at``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import dlt

DELETIONS_TABLE = "deletions"


def deletion_rows(entity: str, ids: Iterable[str], *, detected_by: str, run_id: str,
                  deleted_at: datetime | None = None):
    """dlt items for the ``deletions`` table (merged on entity + record_id)."""
    now = datetime.now(UTC)
    rows = [
        {"entity": entity, "record_id": rid, "deleted_at": deleted_at or now, "detected_at": now,
         "detected_by": detected_by, "run_id": run_id, WITHDRAWN: False}
        for rid in ids
    ]
    return _item(rows)


def withdrawn_rows(entity: str, ids: Iterable[str], *, run_id: str):
    """dlt items removing the deletions of these records: the vendor has them again."""
    now = datetime.now(UTC)
    rows = [{"entity": entity, "record_id": rid, "deleted_at": None, "detected_at": now, "detected_by": "restored",
             "run_id": run_id, WITHDRAWN: True} for rid in ids]
    return _item(rows)


WITHDRAWN = "_withdrawn"
_COLUMNS = {WITHDRAWN: {"data_type": "bool", "nullable": True, "hard_delete": True},
            "detected_at": {"data_type": "timestamp", "nullable": True, "dedup_sort": "desc"},
            "deleted_at": {"data_type": "timestamp", "nullable": True}}


def _item(rows: list[dict]):
    if not rows:
        return None
    hints = dlt.mark.make_hints(table_name=DELETIONS_TABLE, write_disposition="merge",
                                primary_key=("entity", "record_id"), merge_key=(), columns=_COLUMNS)
    return dlt.mark.with_hints(rows, hints, create_table_variant=True)


def destination_ids(table: str, id_column: str) -> set[str]:
    """Ids currently stored in this pipeline's dataset table (empty if it does not exist yet).

    Used by reconciliation sweeps: ids stored here but absent at the vendor were deleted there.
    """
    return {r[0] for r in destination_rows(table, id_column)}


def destination_rows(table: str, *columns: str) -> list[tuple]:
    """``columns`` of every row stored in this pipeline's dataset table; [] when the dataset, the table or a
    column does not exist yet."""
    pipeline = dlt.current.pipeline()
    try:
        with pipeline.sql_client() as client:
            name = client.make_qualified_table_name(table)
            return list(client.execute_sql(f"select {', '.join(columns)} from {name}") or [])
    except Exception:  # table or dataset not created yet: nothing stored
        return []


def destination_has_rows(table: str) -> bool:
    """Whether this pipeline's dataset already holds rows in ``table`` (False if it does not exist)."""
    pipeline = dlt.current.pipeline()
    try:
        with pipeline.sql_client() as client:
            rows = client.execute_sql(f"select 1 from {client.make_qualified_table_name(table)} limit 1")
    except Exception:  # no dataset or table yet
        return False
    return bool(rows)


def known_deletion_times(entity: str) -> dict[str, float]:
    """record_id -> deleted_at (epoch seconds) already in this dataset's deletions table for ``entity``.

    A delete signal read again (the overlap window, or a window rerun) that matches is not sent
    again: re-sending it would stamp it as newer than a later restore and flag the record deleted."""
    pipeline = dlt.current.pipeline()
    try:
        with pipeline.sql_client() as client:
            name = client.make_qualified_table_name(DELETIONS_TABLE)
            rows = client.execute_sql(f"select record_id, deleted_at from {name} where entity = %s", entity)
    except Exception:  # no deletions table yet
        return {}
    return {rid: at.timestamp() for rid, at in rows or [] if at is not None}
