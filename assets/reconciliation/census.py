"""The id census on the warehouse side: vendor ids streamed into a scratch table, compared in SQL.

Grain of ``reconciliation.census_ids``: one row per (vendor, entity, record_id) the vendor listed in
the latest census of that table, with the record's last-updated stamp as the vendor wrote it
(``version``; NULL where the listing gave none); it is replaced by each census. Python holds one page
of ids at a time (the vendor's page, then a batch insert), never the table: the set differences run
in the warehouse (DuckDB spills to disk past its memory limit; PostgreSQL as usual).

The version census (:func:`redated`) finds what no incremental sync can see: a record whose vendor
stamp differs from the stored one and is older than the vendor's latest completed sync by more than
:data:`REDATE_MARGIN` (a restore from backup that re-dates records to before the cursor's overlap, a
change the cursor passed). The stamps compare as the vendor wrote them and as the sync stored them
(both the raw vendor string), so the comparison is in SQL, bounded by the caller's limit; only the
candidates are parsed.

Grain of ``reconciliation.drift_seen``: one row per (vendor, entity, kind, record_id) still out of
parity, with when it was first seen. A drift first seen before the vendor's latest completed sync
has survived that sync: the parity checks call it an ERROR; a newer one is a WARN the next sync may
absorb.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

SCHEMA = "reconciliation"
DDL = (
    f"create schema if not exists {SCHEMA}",
    f"""create table if not exists {SCHEMA}.census_ids (
        vendor varchar not null, entity varchar not null, record_id varchar not null, version varchar)""",
    f"""create table if not exists {SCHEMA}.drift_seen (
        vendor varchar not null, entity varchar not null, kind varchar not null,
        record_id varchar not null, first_seen_at timestamp not null)""",
)
INSERT_BATCH = 10_000
MAX_IDS_SHOWN = 50
# How much older than the vendor's latest completed sync a differing stamp must be before the census
# calls it re-dated: the syncs' cursors re-read 5-10 minutes behind themselves, and a long sync's
# changes made while it read are the next sync's, not drift.
REDATE_MARGIN = timedelta(hours=1)
SCAN_FACTOR = 20  # differing stamps looked at per re-dated record asked for (same instants in other forms)


def ensure_tables(conn) -> None:
    """The census tables; on DuckDB also the memory cap of loads (PROJECTX_DUCKDB_MEMORY_LIMIT): past
    it the anti-joins spill to disk instead of growing with the table."""
    if conn.kind == "duckdb":
        conn.execute(f"set memory_limit = '{os.environ.get('PROJECTX_DUCKDB_MEMORY_LIMIT') or '384MB'}'")
    for statement in DDL:
        conn.execute(statement)
    # A census table from before the version column gets it in place (the table is scratch, but an
    # operator may be reading it); only then: PostgreSQL's ALTER locks the table even when it has it.
    if "version" not in conn.columns(SCHEMA, "census_ids"):
        conn.execute(f"alter table {SCHEMA}.census_ids add column version varchar")


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


def _insert(conn, rows: list[tuple[str, str, str, str | None]]) -> None:
    if conn.kind == "duckdb":
        import pyarrow as pa

        vendor, entity, ids, versions = zip(*rows, strict=True)
        batch = pa.table({"vendor": list(vendor), "entity": list(entity), "record_id": list(ids),
                          "version": pa.array(list(versions), type=pa.string())})
        conn.raw.register("census_batch", batch)
        try:
            conn.raw.execute(f"insert into {SCHEMA}.census_ids (vendor, entity, record_id, version) "
                             "select vendor, entity, record_id, version from census_batch")
        finally:
            conn.raw.unregister("census_batch")
    else:
        from psycopg2.extras import execute_values

        execute_values(conn.raw.cursor(), f"insert into {SCHEMA}.census_ids (vendor, entity, record_id, version) "
                       "values %s", rows, page_size=2000)


def load_ids(conn, vendor: str, entity: str, pages: Iterable[Iterable[str | tuple[str, str | None]]]) -> int:
    """Replace the census of (vendor, entity) with the ids of ``pages`` (each an id, or an
    ``(id, version)`` pair: the record's last-updated stamp as the vendor wrote it); returns how many."""
    ensure_tables(conn)
    conn.execute(f"delete from {SCHEMA}.census_ids where vendor = %s and entity = %s", (vendor, entity))
    buffer: list[tuple[str, str, str, str | None]] = []
    total = 0
    for page in pages:
        for item in page:
            rid, version = item if isinstance(item, tuple) else (item, None)
            if rid:
                buffer.append((vendor, entity, str(rid), version if isinstance(version, str) and version else None))
        if len(buffer) >= INSERT_BATCH:
            _insert(conn, buffer)
            total += len(buffer)
            buffer = []
    if buffer:
        _insert(conn, buffer)
        total += len(buffer)
    conn.raw.commit()
    return total


def live_rows_sql(vendor: str, entity: str, key: str, has_deletions: bool, version: str | None = None) -> str:
    """Select of the warehouse's live ids of a table: stored, and not marked deleted by a load at or
    after the row's own (a row re-loaded after its delete was restored: staging's rule, see
    macros/deletions.sql). Anti-joins are written ``not exists`` (never ``not in``): PostgreSQL plans
    those as hash anti-joins at any size."""
    deleted = (f" where not exists (select 1 from {vendor}.deletions as d where d.entity = '{entity}' "
               f"and d.record_id = s.{key} and cast(d._dlt_load_id as double precision) >= "
               f"cast(s._dlt_load_id as double precision))" if has_deletions else "")
    stamp = f", s.{version} as version, s._dlt_load_id as load_id" if version else ""
    return f"select s.{key} as record_id{stamp} from {vendor}.{entity} as s{deleted}"


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


def _parsed(stamp: Any) -> datetime | None:
    from pipelines.common.cursor import parse_vendor_ts

    try:
        return parse_vendor_ts(stamp)
    except (TypeError, ValueError):
        return None


def redated(conn, vendor: str, entity: str, key: str, version: str, *, limit: int) -> list[str]:
    """Live ids whose vendor stamp (from the last census) differs from the stored one and is older than
    the table's reach by more than :data:`REDATE_MARGIN`: changes no cursor will read.

    The reach is the newest stamp the table stores (where its cursor stands, on the vendor's clock, per
    table: a table whose sync lags reaches less far), but never past the vendor's latest completed load
    or our own clock (a stored stamp from 2099 moves no reach). Left out: a stamp that names the stored
    instant in another form (another UTC offset, more fractional digits), one that is no timestamp,
    and a record quarantined since its row was loaded (the sync refused its newer version, or holds it
    for crashing the sync: re-reading it every night would change nothing). Differing stamps are
    looked at oldest first, at most ``SCAN_FACTOR * limit`` of them, until ``limit`` are found."""
    synced = last_completed_sync(conn, vendor)
    if limit <= 0 or synced is None or version not in conn.columns(vendor, entity):
        return []
    live = live_rows_sql(vendor, entity, key, conn.table_exists(vendor, "deletions"), version=version)
    newest = _parsed(conn.scalar(f"select max(cast(l.version as varchar)) from ({live}) as l"))
    if newest is None:
        return []
    cutoff = min(newest, synced, _now()) - REDATE_MARGIN
    held = ""
    if {"record_id", "entity", "_dlt_load_id"} <= conn.columns(vendor, "quarantine"):
        held = (f"and not exists (select 1 from {vendor}.quarantine as q where q.entity = '{entity}' "
                f"and q.record_id = c.record_id and cast(q._dlt_load_id as double precision) >= "
                f"cast(l.load_id as double precision)) ")
    rows = conn.query(f"select distinct c.record_id, c.version, cast(l.version as varchar) as stored "
                      f"from {SCHEMA}.census_ids as c join ({live}) as l on l.record_id = c.record_id "
                      "where c.vendor = %s and c.entity = %s and c.version is not null and l.version is not null "
                      f"and c.version <> cast(l.version as varchar) {held}"
                      f"order by c.version, c.record_id limit {int(limit) * SCAN_FACTOR}", (vendor, entity))
    out: set[str] = set()
    for row in rows:
        moment = _parsed(row["version"])
        if moment is not None and moment < cutoff and _parsed(row["stored"]) != moment:
            out.add(str(row["record_id"]))
            if len(out) >= limit:
                break
    return sorted(out)


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
