"""Records a vendor fails to serve, still set aside: how many per connector, and since when the oldest.

Why: a record the vendor serves broken on every read (a listing page that answers 5xx while it holds the record)
is quarantined and read again every run (:mod:`pipelines.common.requeue`, :mod:`pipelines.onetrust.unreadable`).
A OneTrust *slot* (a listing position: OneTrust's listings tell no id) also makes every pass of its entity
unstable: the cursor stays where it was and deletes are not reconciled until the record reads. Nothing told
on-call that one record had held a cursor for days; the sync itself succeeds every run.

How (read-only, nothing new stored): the rows of ``<connector>.quarantine`` whose reason says the vendor failed to
serve the record (:data:`REASONS`), kept only while the re-read ledger in the connector's last committed dlt state
(``_dlt_pipeline_state``) still holds their content digest (keyed: ``quarantined``; slots and other records
without a key: ``quarantined_unkeyed``): a record that loaded, or a slot that read, leaves the ledger. Since when:
the row's ``quarantined_at`` (a record quarantined again with other content counts from its new row).
Graded by :func:`finding`: yellow (a WARN asset check) once the oldest is older than
``PROJECTX_SET_ASIDE_WARN_HOURS`` (default 48).
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

from assets.health import measure

log = logging.getLogger(__name__)

CHECK = "set_aside"
ENV = "PROJECTX_SET_ASIDE_WARN_HOURS"
DEFAULT_HOURS = 48
# The reasons the sources give a record they set aside because the vendor failed to serve it (round 33-34:
# pipelines/{servicenow,jira,onetrust}/unreadable.py, the OneTrust export and Jira's child lists).
REASONS = ("% fails to serve %", "%: not read this run%")
SHOWN = 300  # characters of the vendor's reason quoted in a message
VENDORS = {"servicenow": "ServiceNow", "jira": "Jira", "onetrust": "OneTrust"}


def warn_hours() -> int:
    """The age past which a set-aside record warns (``PROJECTX_SET_ASIDE_WARN_HOURS``); a malformed value raises
    naming the variable and the default."""
    from pipelines.common.envvars import env_int

    return env_int(ENV, DEFAULT_HOURS, unit="hours", example="48")


def _digest(text: str) -> str:  # as pipelines.common.requeue.digest of the record (the quarantine row's text)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def pipeline_name(conn, schema: str) -> str:
    """The dlt pipeline that loads ``schema`` on this warehouse (as pipelines.common.warehouse names it)."""
    from pipelines.common.warehouse import WarehouseSettings

    return WarehouseSettings(kind=conn.kind).pipeline_name(schema)


def _ledger(conn, schema: str) -> set[str] | None:
    """Content digests the re-read ledger holds in ``schema``'s last committed dlt state (None: no state)."""
    from dlt.common.versioned_state import decompress_state

    if not (conn.table_exists(schema, "_dlt_pipeline_state") and conn.table_exists(schema, "_dlt_loads")):
        return None
    # the vendor's live pipeline, exactly (WarehouseSettings.pipeline_name: projectx_<vendor>_<kind>, the
    # warehouse's own kind: duckdb or postgres); schema is a fixed name
    rows = conn.query(f"select s.state from {schema}._dlt_pipeline_state as s join {schema}._dlt_loads as l "
                      "on l.load_id = s._dlt_load_id where l.status = 0 and s.pipeline_name = %s "
                      "order by l.load_id desc limit 1", (pipeline_name(conn, schema),))
    if not rows:
        return None
    state = decompress_state(rows[0]["state"])
    held: set[str] = set()
    for source in (state.get("sources") or {}).values():
        for resource in ((source or {}).get("resources") or {}).values():
            if isinstance(resource, dict):
                held.update(v for v in (resource.get("quarantined") or {}).values() if v)
                held.update(resource.get("quarantined_unkeyed") or {})
    return held


def figures(conn, schema: str) -> dict[str, Any] | None:
    """``{"count": n, "oldest": {...} or None}`` for one connector's schema (0 before its first quarantine)."""
    held = _ledger(conn, schema) if conn.table_exists(schema, "quarantine") else None
    if held is None:
        return {"count": 0, "oldest": None}
    rows = conn.query(f"select entity, record_id, reason, record, quarantined_at from {schema}.quarantine "
                      f"where {' or '.join(['reason like %s'] * len(REASONS))}", REASONS)
    still: dict[str, dict[str, Any]] = {}
    for r in rows:
        key = _digest(r["record"]) if isinstance(r["record"], str) else None
        if key is None or key not in held:
            continue
        since = r["quarantined_at"]
        if isinstance(since, datetime) and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        if key not in still or since < still[key]["since"]:
            still[key] = {"entity": r["entity"], "record_id": r["record_id"] or "", "reason": r["reason"] or "",
                          "record": r["record"], "since": since}
    if not still:
        return {"count": 0, "oldest": None}
    oldest = min(still.values(), key=lambda s: s["since"])
    return {"count": len(still), "oldest": oldest}


def _named(oldest: dict[str, Any]) -> str:
    """The record as the quarantine names it: its id, else (a OneTrust slot) its listing and position."""
    if oldest["record_id"]:
        return f"{oldest['entity']} record {oldest['record_id']}"
    try:
        slot = json.loads(oldest["record"])
    except ValueError:
        slot = None
    if isinstance(slot, dict) and "position" in slot:
        return (f"{oldest['entity']} record at position {slot['position']} of the listing {slot.get('listing')} "
                "(the listing tells no id)")
    return f"{oldest['entity']} record without an id"


def finding(connector: str, figure: dict[str, Any] | None, now: datetime, hours: int | None = None) -> measure.Finding:
    """Graded: green while none is set aside or the oldest is younger than ``hours``; yellow past it."""
    if figure is None or "error" in figure:
        why = ("the warehouse could not be read now" if figure is None else
               f"the quarantine or the sync state of {connector} cannot be read ({figure['error']})")
        return measure.unknown(connector, CHECK, f"{why}: set-aside records unknown")
    if hours is None:
        try:
            hours = warn_hours()
        except ValueError as exc:  # the figures still go out (/metrics); only the grade is unknown
            count, oldest = figure["count"], figure["oldest"]
            age = max(0.0, (now - oldest["since"]).total_seconds()) if count and oldest else 0.0
            return measure.Finding(connector, CHECK, measure.UNKNOWN, age, None, str(exc), {"count": count})
    bound = hours * 3600
    count, oldest = figure["count"], figure["oldest"]
    if not count or oldest is None:
        return measure.Finding(connector, CHECK, measure.GREEN, 0.0, float(bound),
                               "no record is set aside", {"count": 0})
    since = oldest["since"]
    age = max(0.0, (now - since).total_seconds())
    named = _named(oldest)
    unkeyed = not oldest["record_id"]
    holds = ("while it stays, this entity's cursor does not advance and its deletes are not reconciled; "
             if unkeyed and connector == "onetrust" else "")
    runbook = measure.RUNBOOKS.get(connector)
    vendor = VENDORS.get(connector, connector)
    fix = (f"have the record repaired at {vendor} (its admin or support: every read of it answers an error, quoted "
           f"below) or deleted there; nothing to do here: the sync reads it again on every run and it leaves the "
           f"quarantine once it loads{f' (runbook {runbook})' if runbook else ''}")
    light = measure.YELLOW if age > bound else measure.GREEN
    message = (f"{connector}: {count} record(s) {vendor} fails to serve set aside; the oldest, the {named}, since "
               f"{since.strftime('%Y-%m-%d %H:%M')} UTC ({age / 86400:.1f} days; warns past {hours} h, "
               f"{ENV}): {holds}fix: {fix}. Reason: {oldest['reason'][:SHOWN]}")
    detail = {"count": count, "oldest_since": since.isoformat(), "oldest_entity": oldest["entity"],
              "oldest_record": named, "warn_hours": hours, "holds_cursor": bool(holds)}
    return measure.Finding(connector, CHECK, light, age, float(bound), message, detail)


def read_all(conn, connectors) -> dict[str, dict[str, Any] | None]:
    """:func:`figures` per connector; one that cannot be read (a state written by another dlt) is
    ``{"error": its type}``, logged."""
    out = {}
    # PostgreSQL aborts the whole transaction on a failed query: every later query of the health read (the
    # other figures, ops.health_checks, the alerts) would fail too. Each connector's read runs in a savepoint,
    # rolled back on failure (as Connection._create_if_missing); DuckDB's connection here is autocommit.
    guarded = conn.kind == "postgres" and not getattr(conn.raw, "autocommit", False)
    for connector in connectors:
        if guarded:
            conn.execute("savepoint set_aside")
        try:
            out[connector] = figures(conn, connector)
        except Exception as exc:  # the health read never fails on one figure
            if guarded:
                conn.execute("rollback to savepoint set_aside")
            log.warning("health: the set-aside records of %s cannot be read: %s", connector, type(exc).__name__)
            out[connector] = {"error": type(exc).__name__}
        if guarded:
            conn.execute("release savepoint set_aside")
    return out
