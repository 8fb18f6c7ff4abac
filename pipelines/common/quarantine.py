"""Rejected records go to a per-source ``quarantine`` table with the reason and run id, never dropped."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import dlt

from pipelines.common.pages import safe_text

QUARANTINE_TABLE = "quarantine"


def quarantined(entity: str, record: Any, reason: str, run_id: str, record_id: str | None = None):
    """Wrap a rejected record so dlt routes it to the source's append-only quarantine table."""
    row = {
        "entity": entity,
        "record_id": safe_text(record_id) if record_id else "",
        "reason": reason,
        "run_id": run_id,
        "record": json.dumps(record, sort_keys=True, default=str),
        "quarantined_at": datetime.now(UTC),
    }
    hints = dlt.mark.make_hints(
        table_name=QUARANTINE_TABLE, write_disposition="append", primary_key=(), merge_key=()
    )
    return dlt.mark.with_hints(row, hints, create_table_variant=True)


# A record the sync process died on, run after run (pipelines.common.poison): held here until an operator
# deletes its row, and never re-read automatically meanwhile (pipelines.common.requeue).
POISON_REASON_PREFIX = "the sync process died "


def poison_held(entity: str) -> set[str]:
    """Keys of ``entity``'s records held in quarantine for killing the sync: ``record_id``, or for a record
    quarantined without one ``"~" + digest`` of its text (as :func:`pipelines.common.poison.record_key`)."""
    import hashlib

    try:
        with dlt.current.pipeline().sql_client() as client:
            table = client.make_qualified_table_name(QUARANTINE_TABLE)
            rows = client.execute_sql(f"select record_id, record from {table} where entity = %s and reason like %s",
                                      entity, POISON_REASON_PREFIX + "%")
    except Exception:  # no quarantine table (or no destination, no pipeline) yet
        return set()
    keys = set()
    for record_id, record in rows or []:
        if record_id:
            keys.add(record_id)
        elif isinstance(record, str):
            keys.add("~" + hashlib.blake2b(record.encode(), digest_size=12).hexdigest())
    return keys
