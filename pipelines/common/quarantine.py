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
