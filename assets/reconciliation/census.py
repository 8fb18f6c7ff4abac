"""The id census on the warehouse side: vendor ids streamed into a scratch table, compared in SQL.

Grain of ``reconciliation.census_ids``: one row per (vendor, entity, record_id) the vendor listed in
the latest census of that table; it is replaced by each census. Python holds one page of ids at a
time (the vendor's page, then a batch insert), never the table: the set differences run in the
warehouse (DuckDB spills to disk past its memory limit; PostgreSQL as usual).

Grain of ``reconciliation.drift_seen``: one row per (vendor, entity, kind, record_id) still out of
parity, with when it was first seen. A drift first seen before the vendor's latest completed sync
has survived that sync: the parity checks call it an ERROR; a newer one is a WARN the next sync may
absorb.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

SCHEMA = "reconciliation"
DDL = (
    f"create schema if not exists {SCHEMA}",
    f"""create table if not exists {SCHEMA}.census_ids (
        vendor varchar not null, entity varchar not null, record_id varchar not null)""",
    f"""create table if not exists {SCHEMA}.drift_seen (
        vendor varchar not null, entity varchar not null, kind varchar not null,
        record_id varchar not null, first_seen_at timestamp not null)""",
)
INSERT_BATCH = 10_000
MAX_IDS_SHOWN = 50


def ensure_tables(conn) -> None:
    """The census tables; on DuckDB also the memory cap of loads (PROJECTX_DUCKDB_MEMORY_LIMIT): past
    it the anti-joins spill to disk instead of growing with the table."""
    if conn.kind == "duckdb":
        conn.execute(f"set memory_limit = '{os.environ.get('PROJECTX_DUCKDB_MEMORY_LIMIT') or '384MB'}'")
    for statement in DDL:
        conn.execute(statement)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class CensusResult:
    """One table's census: counts and the ids out of parity (``gone``: in the warehouse, not at the
    vendor; ``missing``: at the vendor, not in the warehouse), each bounded by the caller's limit."""

    vendor: str
    entity: str
    vendor_count: int = 0
    warehouse_count: int = 0
    gone: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    gone_total: int = 0
    missing_total: int = 0


def _insert(conn, rows: list[tuple[str, str, str]]) -> None:
    if conn.kind == "duckdb":
        import pyarrow as pa

        vendor, entity, ids = zip(*rows, strict=True)
        batch = pa.table({"vendor": list(vendor), "entity": list(entity), "record_id": list(ids)})
        conn.raw.register("census_batch", batch)
        try:
            conn.raw.execute(f"insert into {SCHEMA}.census_ids select * from census_batch")
        finally:
            conn.raw.unregister("census_batch")
    else:
        from psycopg2.extras import execute_values

        execute_values(conn.raw.cursor(), f"insert into {SCHEMA}.census_ids values %s", rows, page_size=2000)


def load_ids(conn, vendor: str, entity: str, pages: Iterable[Iterable[str]]) -> int:
    """Replace the census of (vendor, entity) with the ids of ``pages``; returns how many."""
    ensure_tables(conn)
    conn.execute(f"delete from {SCHEMA}.census_ids where vendor = %s and entity = %s", (vendor, entity))
    buffer: list[tuple[str, str, str]] = []
    total = 0
    for page in pages:
        for rid in page:
            if rid:
                buffer.append((vendor, entity, str(rid)))
        if len(buffer) >= INSERT_BATCH:
            _insert(conn, buffer)
            total += len(buffer)
            buffer = []
    if buffer:
        _insert(conn, buffer)
        total += len(buffer)
    conn.raw.commit()
    return total


def live_rows_sql(vendor: str, entity: str, key: str, has_deletions: bool) -> str:
    """Select of the warehouse's live ids of a table: stored, and not marked deleted by a load at or
    after the row's own (a row re-loaded after its delete was restored: staging's rule, see
    macros/deletions.sql). Anti-joins are written ``not exists`` (never ``not in``): PostgreSQL plans
    those as hash anti-joins at any size."""
    deleted = (f" where not exists (select 1 from {vendor}.deletions as d where d.entity = '{entity}' "
               f"and d.record_id = s.{key} and cast(d._dlt_load_id as double precision) >= "
               f"cast(s._dlt_load_id as double precision))" if has_deletions else "")
    return f"select s.{key} as record_id from {vendor}.{entity} as s{deleted}"


def _census_sql(vendor: str, entity: str) -> str:
    return f"select record_id from {SCHEMA}.census_ids where vendor = '{vendor}' and entity = '{entity}'"


def gone_ids_sql(vendor: str, entity: str, key: str, has_deletions: bool) -> str:
    """Live ids in the warehouse the vendor did not list."""
    return (f"select l.record_id from ({live_rows_sql(vendor, entity, key, has_deletions)}) as l "
            f"where not exists (select 1 from {SCHEMA}.census_ids as c where c.vendor = '{vendor}' "
            f"and c.entity = '{entity}' and c.record_id = l.record_id)")


def missing_ids_sql(vendor: str, entity: str, key: str, has_deletions: bool) -> str:
    """Ids the vendor listed that the warehouse does not hold live."""
    return (f"select c.record_id from ({_census_sql(vendor, entity)}) as c where not exists "
            f"(select 1 from ({live_rows_sql(vendor, entity, key, has_deletions)}) as l "
            "where l.record_id = c.record_id)")


def compare(conn, vendor: str, entity: str, key: str, limit: int = MAX_IDS_SHOWN) -> CensusResult:
    """Counts and differences between the last census of (vendor, entity) and the warehouse."""
    result = CensusResult(vendor, entity)
    census = _census_sql(vendor, entity)
    result.vendor_count = int(conn.scalar(f"select count(*) from ({census}) as c") or 0)
    if not conn.table_exists(vendor, entity):
        result.missing_total = result.vendor_count
        result.missing = [r["record_id"] for r in conn.query(f"{census} order by record_id limit {limit}")]
        return result
    has_deletions = conn.table_exists(vendor, "deletions")
    live = live_rows_sql(vendor, entity, key, has_deletions)
    result.warehouse_count = int(conn.scalar(f"select count(*) from ({live}) as l") or 0)
    gone = gone_ids_sql(vendor, entity, key, has_deletions)
    missing = missing_ids_sql(vendor, entity, key, has_deletions)
    result.gone_total = int(conn.scalar(f"select count(*) from ({gone}) as g") or 0)
    result.missing_total = int(conn.scalar(f"select count(*) from ({missing}) as m") or 0)
    if limit:
        result.gone = [r["record_id"] for r in conn.query(f"{gone} order by record_id limit {limit}")]
        result.missing = [r["record_id"] for r in conn.query(f"{missing} order by record_id limit {limit}")]
    return result


def sample_ids(conn, vendor: str, entity: str, key: str, size: int, salt: str) -> list[str]:
    """A deterministic sample of live ids the vendor still lists (after a census), rotating with
    ``salt`` (the night): over successive nights every row is verified, ``size`` rows a night.
    Every row when the table is smaller."""
    if size <= 0 or not conn.table_exists(vendor, entity):
        return []
    live = live_rows_sql(vendor, entity, key, conn.table_exists(vendor, "deletions"))
    rows = conn.query(f"select l.record_id from ({live}) as l where exists (select 1 from {SCHEMA}.census_ids as c "
                      "where c.vendor = %s and c.entity = %s and c.record_id = l.record_id) "
                      f"order by md5(l.record_id || %s) limit {int(size)}", (vendor, entity, salt))
    return [r["record_id"] for r in rows]


def track_drift(conn, vendor: str, entity: str, kind: str, ids: list[str]) -> dict[str, datetime]:
    """Record ``ids`` as the current drift of this kind (forgetting ids back in parity); returns when
    each was first seen."""
    ensure_tables(conn)
    args = (vendor, entity, kind)
    seen = {r["record_id"]: r["first_seen_at"] for r in conn.query(
        f"select record_id, first_seen_at from {SCHEMA}.drift_seen where vendor = %s and entity = %s "
        "and kind = %s", args)}
    conn.execute(f"delete from {SCHEMA}.drift_seen where vendor = %s and entity = %s and kind = %s", args)
    now = _now()
    out = {rid: seen.get(rid, now) for rid in ids}
    for rid, first in out.items():
        conn.execute(f"insert into {SCHEMA}.drift_seen values (%s, %s, %s, %s, %s)", (*args, rid, first))
    conn.raw.commit()
    return out


def last_completed_sync(conn, vendor: str) -> datetime | None:
    """When the vendor's latest dlt load committed (dlt's ``_dlt_loads``, status 0), naive UTC."""
    if not conn.table_exists(vendor, "_dlt_loads"):
        return None
    value = conn.scalar(f"select max(inserted_at) from {vendor}._dlt_loads where status = 0")
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
