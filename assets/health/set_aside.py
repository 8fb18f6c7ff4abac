"""Records a vendor fails to serve, still set aside: how many per connector, and since when the oldest.

Why: a record the vendor serves broken on every read (a listing page that answers 5xx while it holds the record)
is quarantined and read again every run (:mod:`pipelines.common.requeue`, :mod:`pipelines.onetrust.unreadable`).
A OneTrust *slot* (a listing position: OneTrust's listings tell no id) also makes every pass of its entity
unstable: the cursor stays where it was and deletes are not reconciled until the record reads. Nothing told
on-call that one record had held a cursor for days; the sync itself succeeds every run.

How (read-only, nothing new stored): the rows of ``<connector>.quarantine`` whose reason says the vendor failed to
serve the record (:data:`REASONS`), kept only while the re-read ledger in the connector's last committed dlt state
(``_dlt_pipeline_state``) still holds their content digest (keyed: ``quarantined``; slots and other records
without a key: ``quarantined_unkeyed``): a record that loaded, or a slot that read, leaves the ledger. A record is
its entity and id (a OneTrust slot: entity, listing and position; these rows are copies of it: a vendor edit writes
a new one). Since when: the ``quarantined_at`` of its earliest row written after the newest committed state whose
ledger did not hold it (it had loaded, or was not set aside yet): an edit does not restart the age, and a record
that loaded and fails again later counts from its new failure.
Graded by :func:`finding`: yellow (a WARN asset check) once the oldest is older than
``PROJECTX_SET_ASIDE_WARN_HOURS`` (default 48).
"""

from __future__ import annotations

import bisect
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


MAX_STATES = 200  # committed states read (and decompressed) per connector and health read, at most


def _held(state: dict[str, Any]) -> set[str]:
    """Content digests the re-read ledger holds in one dlt state (keyed and unkeyed, every resource)."""
    held: set[str] = set()
    for source in (state.get("sources") or {}).values():
        for resource in ((source or {}).get("resources") or {}).values():
            if isinstance(resource, dict):
                held.update(v for v in (resource.get("quarantined") or {}).values() if v)
                held.update(resource.get("quarantined_unkeyed") or {})
    return held


class _Ledgers:
    """The re-read ledger of ``schema``'s pipeline (exactly projectx_<vendor>_<kind>, as
    ``WarehouseSettings.pipeline_name`` names it) in its committed states. Two queries per read whatever the
    history: the committed load ids with a state (no state text), then the states asked for (``fetch``: the
    newest and those just before the held records' own rows, at most :data:`MAX_STATES`), each decompressed
    once. dlt's tables carry no index and are never pruned: a query per state had scanned both every time."""

    def __init__(self, conn, schema: str) -> None:
        self.conn, self.schema = conn, schema
        self.name = pipeline_name(conn, schema)
        self.states: dict[str, set[str]] = {}
        self.loads: list[tuple[float, str]] = []
        if conn.table_exists(schema, "_dlt_pipeline_state") and conn.table_exists(schema, "_dlt_loads"):
            rows = conn.query(f"select l.load_id from {schema}._dlt_pipeline_state as s join {schema}._dlt_loads "
                              "as l on l.load_id = s._dlt_load_id where l.status = 0 and s.pipeline_name = %s",
                              (self.name,))
            self.loads = sorted({(at, r["load_id"]) for r in rows if (at := _position(r["load_id"])) is not None})

    def fetch(self, load_ids) -> None:
        from dlt.common.versioned_state import decompress_state

        room = max(0, MAX_STATES - len(self.states))  # the budget is per read, over every fetch
        wanted = sorted({i for i in load_ids if i not in self.states}, reverse=True)[:room]
        if not wanted:
            return
        marks = ", ".join(["%s"] * len(wanted))
        for r in self.conn.query(f"select state, _dlt_load_id from {self.schema}._dlt_pipeline_state where "
                                 f"pipeline_name = %s and _dlt_load_id in ({marks})", (self.name, *wanted)):
            self.states[r["_dlt_load_id"]] = _held(decompress_state(r["state"]))

    def latest(self) -> set[str]:
        if not self.loads:
            return set()
        self.fetch([self.loads[-1][1]])
        return self.states.get(self.loads[-1][1], set())

    def previous(self, at: float) -> str | None:
        """The load id of the newest committed state before the load at ``at``; None: there is none."""
        i = bisect.bisect_left(self.loads, (at, ""))
        return self.loads[i - 1][1] if i else None

    def held_at(self, load_id: str | None) -> set[str] | None:
        """Digests held in that state (None given: before the first state, nothing); None when not fetched."""
        return set() if load_id is None else self.states.get(load_id)


def _position(value: Any) -> float | None:
    """A dlt load id (seconds since the epoch, as text) as a number; None if it is not one."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _identity(row: dict[str, Any], digest: str) -> tuple[str, ...]:
    """The record a quarantine row is a copy of: its entity and id; a slot (no id): its entity, listing and
    position, as the ledger keys it; anything else (no id, no slot): its content, as the ledger keys it."""
    if row["record_id"]:
        return (row["entity"], "id", row["record_id"])
    try:
        slot = json.loads(row["record"])
    except ValueError:
        slot = None
    if isinstance(slot, dict) and "position" in slot:
        return (row["entity"], "slot", str(slot.get("listing")), str(slot["position"]))
    return (row["entity"], "digest", digest)


def figures(conn, schema: str) -> dict[str, Any] | None:
    """``{"count": n, "oldest": {...} or None}`` for one connector's schema (0 before its first quarantine).

    A record counts while the ledger of the last committed state holds one of its quarantine rows' digests.
    Since: its earliest quarantine row written after the newest committed state that did not hold it (it
    loaded then, or was not set aside yet); a vendor edit while set aside writes a new row (other content,
    other digest) but the record stays held, so its first row still counts. Rows are placed by their load
    (``_dlt_load_id``, which dlt gives every row it writes; a row without one counts from its own date)."""
    if not conn.table_exists(schema, "quarantine"):
        return {"count": 0, "oldest": None}
    ledgers = _Ledgers(conn, schema)
    held = ledgers.latest()
    if not held:
        return {"count": 0, "oldest": None}
    load = ", _dlt_load_id" if "_dlt_load_id" in conn.columns(schema, "quarantine") else ""
    rows = conn.query(f"select entity, record_id, reason, record, quarantined_at{load} from {schema}.quarantine "
                      f"where {' or '.join(['reason like %s'] * len(REASONS))}", REASONS)
    copies: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in rows:
        if not isinstance(r["record"], str):
            continue
        since = r["quarantined_at"]
        if isinstance(since, datetime) and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        digest = _digest(r["record"])
        load_id = r.get("_dlt_load_id") if load else None
        at = _position(load_id)
        if at is None and isinstance(since, datetime):
            at, load_id = since.timestamp(), None
        copies.setdefault(_identity(r, digest), []).append({**r, "digest": digest, "since": since, "at": at,
                                                            "load_id": load_id})
    still = {ident: rs for ident, rs in copies.items() if any(c["digest"] in held for c in rs)}
    # Each held record's rows, newest first: the episode it is in began with the first row whose previous
    # committed state did not hold it (the requeue writes a row whenever a record enters the ledger). A row that
    # cannot be placed (no load id, or its state past the budget) ends the search there: every row counts, so
    # the age shown is at least the real one (it warns no later than it should).
    placed = {ident: sorted((c for c in rs if c["load_id"] is not None), key=lambda c: c["at"], reverse=True)
              for ident, rs in still.items()}
    ledgers.fetch(p for rs in placed.values() for c in rs if (p := ledgers.previous(c["at"])) is not None)
    after: dict[tuple[str, ...], float | None] = {}
    for ident, rs in still.items():
        digests = {c["digest"] for c in rs}
        after[ident] = None  # every row counts, unless the episode's first row is found
        for row in placed[ident]:
            previous = ledgers.held_at(ledgers.previous(row["at"]))
            if previous is None:
                break
            if not digests & previous:
                after[ident] = row["at"] - 1e-6
                break
    out: dict[tuple[str, ...], dict[str, Any]] = {}
    for ident, rs in still.items():
        bound = after.get(ident)
        these = [c for c in rs if bound is None or c["at"] is None or c["at"] > bound]
        these = these or [c for c in rs if c["digest"] in held]
        first = min(these, key=lambda c: c["since"])
        last = max(these, key=lambda c: c["since"])  # the vendor's latest reason
        out[ident] = {"entity": first["entity"], "record_id": first["record_id"] or "",
                      "reason": last["reason"] or "", "record": last["record"], "since": first["since"]}
    if not out:
        return {"count": 0, "oldest": None}
    oldest = min(out.values(), key=lambda s: s["since"])
    return {"count": len(out), "oldest": oldest}


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
