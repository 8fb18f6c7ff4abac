"""Healing what the census found, through the ingestion's own code paths (nothing bypasses dlt):

- ids the warehouse holds but the vendor no longer lists are marked in ``<vendor>.deletions``
  (``detected_by = 'reconciliation'``), as a delete feed would have;
- records the warehouse lacks, and records whose stored row differs from the vendor's (a change
  that left the update time as it was), are re-read by the vendor's window mode over the UTC days of
  their update times: merged on their keys, children replaced, the live cursor left alone.

A census that would mark more than ``MAX_DELETE_FRACTION`` of a table deleted is refused, as the
Jira census does: a lost permission is likelier than a mass delete. The refusal is a finding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import dlt

from assets.reconciliation.compare import TableParity
from pipelines.common import set_aside
from pipelines.common.cursor import parse_vendor_ts
from pipelines.common.deletions import DELETIONS_TABLE, deletion_rows

MAX_DELETE_FRACTION = 0.5
MAX_WINDOWS = 8  # more distinct days than this: one window from the first to the last


def refused_deletes(p: TableParity) -> bool:
    c = p.census
    return c.gone_total > max(10, MAX_DELETE_FRACTION * c.warehouse_count)


def mark_deleted(pipeline, vendor: str, parities: list[TableParity], run_id: str) -> int:
    """Write deletion rows for every table's gone ids (unless refused); returns how many."""
    batches = [(p.table.entity, p.census.gone) for p in parities if p.census.gone and not refused_deletes(p)]
    if not batches:
        return 0

    def rows() -> Iterator[Any]:
        for entity, ids in batches:
            item = deletion_rows(entity, ids, detected_by="reconciliation", run_id=run_id)
            if item is not None:
                yield item

    resource = dlt.resource(rows, name=DELETIONS_TABLE, write_disposition="merge",
                            primary_key=("entity", "record_id"))
    pipeline.run(dlt.source(lambda: [resource], name=vendor, max_table_nesting=0)(),
                 loader_file_format="parquet")
    return sum(len(ids) for _, ids in batches)


def day_windows(stamps: list[str | None]) -> list[tuple[datetime, datetime]]:
    """UTC day windows covering ``stamps`` (vendor update times); an unreadable stamp means every
    day (one window from 1970), as its record could be anywhere."""
    days: set[datetime] = set()
    for stamp in stamps:
        try:
            moment = parse_vendor_ts(stamp)
        except (TypeError, ValueError):
            return [(datetime(1970, 1, 1, tzinfo=UTC), datetime.now(UTC) + timedelta(seconds=1))]
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        days.add(moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0))
    if not days:
        return []
    ordered = sorted(days)
    if len(ordered) > MAX_WINDOWS:
        return [(ordered[0], ordered[-1] + timedelta(days=1))]
    windows: list[tuple[datetime, datetime]] = []
    for day in ordered:
        if windows and windows[-1][1] == day:
            windows[-1] = (windows[-1][0], day + timedelta(days=1))
        else:
            windows.append((day, day + timedelta(days=1)))
    return windows


def reread(pipeline, p: TableParity, source_for: Callable[[tuple[datetime, datetime]], Any]) -> int:
    """Re-read the windows of the table's missing and stale records; returns how many windows."""
    wanted = set(p.stale) | set(p.census.missing)
    stamps = [p.vendor_rows[rid].get(p.table.version) for rid in wanted if rid in p.vendor_rows]
    if p.census.missing_total > len(p.census.missing):  # more missing than fetched: read everything
        stamps.append(None)
    windows = day_windows(stamps)
    for window in windows:
        with set_aside.reported():  # a record the vendor cannot serve is quarantined; the rest of the window loads
            pipeline.run(source_for(window), loader_file_format="parquet")
    return len(windows)
