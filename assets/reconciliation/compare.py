"""Census and sample comparison of one vendor's tables against the warehouse (no writes to the
vendor's data): the shared first half of the nightly job and of the on-demand parity checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from assets.reconciliation import census
from assets.reconciliation.vendors import VendorTable

DEFAULT_SAMPLE = 1000  # rows per table compared in full each night (PROJECTX_RECON_SAMPLE)


@dataclass
class TableParity:
    """Parity of one table: the census' counts and ids, and its stale rows: those of the sample that
    differ from the vendor's, and those the version census found re-dated (``redated``, also in
    ``stale`` when their compared columns differ, as a re-dated record's stamp does)."""

    table: VendorTable
    census: census.CensusResult
    sampled: int = 0
    stale: list[str] = field(default_factory=list)
    redated: list[str] = field(default_factory=list)
    vendor_rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # fetched: stale and missing

    @property
    def in_parity(self) -> bool:
        c = self.census
        return not (c.gone_total or c.missing_total or self.stale) and c.vendor_count == c.warehouse_count


def _norm(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def stored_rows(conn, table: VendorTable, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The warehouse's rows for ``ids``, only the compared columns that exist (dlt creates a column
    with its first non-null value)."""
    if not ids:
        return {}
    present = conn.columns(table.vendor, table.entity)
    cols = [c for c in table.compared if c in present]
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ", ".join(["%s"] * len(chunk))
        select = ", ".join([table.key, *cols])
        for row in conn.query(f"select {select} from {table.vendor}.{table.entity} where {table.key} in ({marks})",
                              chunk):
            out[str(row[table.key])] = row
    return out


def stale_ids(conn, table: VendorTable, ids: list[str], vendor_rows: dict[str, dict[str, Any]]) -> list[str]:
    """Ids whose vendor record differs from the stored row in a compared column."""
    stored = stored_rows(conn, table, ids)
    stale = []
    for rid in ids:
        mine, theirs = stored.get(rid), vendor_rows.get(rid)
        if mine is None or theirs is None:  # gone or missing: the census reports those
            continue
        if any(_norm(theirs.get(c)) != _norm(mine[c]) for c in mine if c != table.key):
            stale.append(rid)
    return sorted(stale)


def parity(warehouse, table: VendorTable, *, sample: int, salt: str | None = None,
           fetch_limit: int = 10_000) -> TableParity:
    """Census (ids and their vendor stamps streamed into the warehouse and compared there), the
    re-dated records it finds and the stale-row sample.

    ``fetch_limit``: how many missing (and re-dated) ids are fetched from the vendor (for their update
    time); the census still counts the missing ones all."""
    salt = salt or datetime.now(UTC).strftime("%Y-%m-%d")
    with warehouse.connect() as conn:
        census.load_ids(conn, table.vendor, table.entity, table.ids())
        result = census.compare(conn, table.vendor, table.entity, table.key, limit=fetch_limit)
        redated = census.redated(conn, table.vendor, table.entity, table.key, table.version, limit=fetch_limit)
        picked = census.sample_ids(conn, table.vendor, table.entity, table.key, sample, salt)
    checked = sorted(set(picked) | set(redated))
    fetched = table.rows(sorted(set(checked) | set(result.missing)))
    with warehouse.connect() as conn:
        stale = stale_ids(conn, table, checked, fetched) if checked else []
    stale_set = set(stale)
    keep = stale_set | set(result.missing)
    return TableParity(table, result, len(picked), stale, redated=[r for r in redated if r in stale_set],
                       vendor_rows={k: v for k, v in fetched.items() if k in keep})
