"""The vendor-neutral reverse-sync loop, one for ServiceNow, Jira and OneTrust.

Per run: every row of an outbound mart is a record the vendor must hold; every open link whose row
left the mart is a record to close. For each, the engine plans field-level operations, then (unless
``dry_run``) carries them out and writes the link right after each record, so a crash loses nothing:
a record created but not yet linked is found again by our id at the vendor (``prefetch``) and
adopted, and an update written but not yet linked is seen as already done on the re-read.

- Unchanged rows (payload hash equal to the link's, not dead-lettered) cost no vendor call: ten reruns write nothing.
- Changed rows are re-read from the vendor right before the write (its ``updated`` stamp and, where
  it keeps one, the changelog) and merged by the conflict policy (:mod:`assets.reverse_sync.policy`).
- A failed write goes to ``dead_letters`` with its reason and is retried first-come next run, after
  every never-failed row, so failing rows cannot starve the others; only vendor-level failures count
  towards the persisted circuit breaker (:mod:`assets.reverse_sync.breaker`).
- The mass-change guard stops a run, before any vendor call, that would close or reopen more than
  ``max_change_share`` of the vendor's open linked records (at least ``min_change_guard``).
- A pilot scope on the vendor's feature flag (:mod:`resources.flags`) holds back rows outside it: no
  vendor call, no close, no dead letter; each is in the plan as ``skipped`` with the flag's name.
- Every write is audited (run id, correlation id also sent as ``X-Correlation-ID``, operation,
  vendor id, HTTP status) by :class:`assets.reverse_sync.writes.Writes`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from pipelines.common.http import VendorError
from resources.warehouse import Connection

from . import state
from .breaker import Breaker, is_connector_failure
from .policy import Change, Field, merge
from .writes import Writes

log = logging.getLogger(__name__)
SCHEMA = state.SCHEMA
ensure_tables = state.ensure_tables
OPEN, DONE = "open", "done"


@dataclass
class SyncConfig:
    dry_run: bool = False
    confirm_mass_change: bool = False
    max_change_share: float = 0.2
    min_change_guard: int = 10
    breaker_threshold: int | None = None  # None: the environment's (resources/environment.py)
    breaker_cooldown_seconds: float = 300.0
    circuit_breakers: bool | None = None  # None: the environment's switch (on in prod, per the spec's matrix)
    concurrency: int | None = None  # records written at once; None: PROJECTX_PUSH_CONCURRENCY, else 4


class MassChangeBlocked(RuntimeError):
    """The run would close or reopen too many records; nothing was written."""


@dataclass
class Snapshot:
    """A vendor record as the engine compares it: flat field values in the writer's vocabulary."""

    vendor_id: str
    number: str | None
    fields: dict[str, Any]
    updated: str | None = None
    foreign: set[str] | None = None  # fields someone else changed since the last sync (None: unknown)
    own: set[str] | None = None  # fields the integration account itself changed since then (None: unknown)


Step = tuple[str, list[Change]]


class VendorWriter(Protocol):
    vendor: str
    vendor_object: str
    policy: dict[str, Field]
    reads: bool  # False: the vendor is not re-read; the last synced values stand in for it
    # A writer may define ``keyed_creates = True`` (its create is an upsert keyed by our id: sent again after a 404)
    # and ``find_one(internal_id) -> Snapshot | None`` (the record carrying our id, looked up alone after a 404).
    # A writer with reads = False may define ``open_at_vendor(vendor_id) -> bool``: read once while
    # planning a close, so a record already closed (or gone) at the vendor plans no close, in a dry run
    # and in the real run alike (the vendor wins the status).

    def desired(self, row: dict[str, Any]) -> dict[str, Any]: ...
    def prefetch(self, internal_ids: list[str]) -> dict[str, Snapshot]: ...
    def read(self, vendor_id: str, since: str | None) -> Snapshot | None: ...
    def steps(self, changes: list[Change], creating: bool) -> list[Step]: ...
    def apply(self, step: Step, internal_id: str, vendor_id: str | None, desired: dict[str, Any],
              writes: Writes) -> tuple[str, str | None]: ...


OWED = "_left_out"  # in a link's projectx_fields: what a create went without that is no synced field (left_out.py)


def left_out_digest(digest: str, at: datetime | None = None) -> str:
    """The digest a link keeps when the write went without fields the vendor would not take (Jira: off the
    screen): the row's, marked with the hour. Within that hour the record counts as unchanged; the first push of
    the next hour plans it again (a read), and writes the fields once the vendor takes them."""
    return f"{digest}:left_out@{(at or datetime.now(UTC)):%Y-%m-%dT%H}"


def payload_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def default_steps(changes: list[Change], creating: bool) -> list[Step]:
    """create | update (fields) + close/transition (status), in that order."""
    if creating:
        return [("create", changes)] if changes else []
    fields = [c for c in changes if c.field != "status"]
    status = [c for c in changes if c.field == "status"]
    out: list[Step] = [("update", fields)] if fields else []
    out += [("close" if c.after == DONE else "transition", [c]) for c in status]
    return out


@dataclass
class SyncReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    adopted: int = 0
    closed: int = 0
    reopened: int = 0
    conflicts: int = 0
    dead_lettered: int = 0
    paused_circuit_open: int = 0
    deferred_rate_limited: int = 0  # not sent: the vendor's 429s spent the run's bounds (ratelimits.py)
    deferred_refused: int = 0  # not sent: the account's writes were refused, none succeeded (refusal.py)
    skipped_pilot_scope: int = 0
    writes: int = 0
    breaker_state: str = "closed"
    failures: list[str] = field(default_factory=list)
    stopped: str = ""  # why the push stopped sending before its last record (an account-wide refusal)
    paused_reason: str = ""  # why paused_circuit_open records were not sent: the open breaker, or a failed look-up
    plan: list[dict[str, Any]] = field(default_factory=list)

    def as_metadata(self) -> dict[str, int]:
        return {k: v for k, v in self.__dict__.items() if isinstance(v, int)}


@dataclass
class Candidate:
    internal_id: str
    desired: dict[str, Any]
    digest: str
    link: dict[str, Any] | None
    closing: bool = False


class ReverseSync:
    def __init__(self, conn: Connection, writer: VendorWriter, *, key: str, run_id: str = "local",
                 correlation_id: str | None = None, config: SyncConfig | None = None,
                 breaker_threshold: int | None = None):
        self.conn, self.writer, self.key, self.run_id = conn, writer, key, run_id
        self.config = config or SyncConfig()
        if breaker_threshold is not None:
            self.config.breaker_threshold = breaker_threshold
        self.writes = Writes(conn, writer.vendor, run_id, correlation_id)
        from resources.flags import flag

        self.flag = flag(writer.vendor, for_writes=True)  # its pilot scope, if any, limits which rows are pushed
        from .ratelimits import DEFAULT_RECORDS, DEFAULT_SECONDS, RateLimits

        # The run's 429 bounds: each run reads them from the environment again (runloop.execute).
        self.rate_limits = RateLimits(writer.vendor, DEFAULT_SECONDS, DEFAULT_RECORDS)
        ensure_tables(conn)
        conn.raw.commit()
        bind = getattr(writer, "bind", None)  # a writer keeping its own state in the warehouse (OneTrust's uploads)
        if bind is not None:
            bind(self.writes)

    def links(self) -> dict[str, dict[str, Any]]:
        return state.links(self.conn, self.writer.vendor)

    def run(self, rows: list[dict[str, Any]]) -> SyncReport:
        from .runloop import execute

        return execute(self, rows)

    def candidates(self, rows: list[dict[str, Any]], links: dict[str, dict[str, Any]],
                   dead: dict[str, dict[str, Any]], report: SyncReport) -> list[Candidate]:
        """What needs a vendor call: new, changed, reopened and closing records; dead letters last."""
        wanted = {str(r[self.key]): r for r in rows}
        order = sorted(wanted, key=lambda i: (i in dead, (dead.get(i) or {}).get("attempts", 0), i))
        twins = self.duplicate_keys(rows)
        out = []
        for internal_id in order:
            if internal_id in twins:  # which row is the truth? Not ours to guess: wait for the mart's fix
                self.refuse_duplicate(internal_id, twins[internal_id], links.get(internal_id), report)
                continue
            desired = {**self.writer.desired(wanted[internal_id]), "status": OPEN}
            digest = payload_hash(desired)
            link = links.get(internal_id)
            # A dead-lettered record is planned again even when its hash is the link's: its failed run may have
            # written part of a change (an update before its comment) that the mart has since taken back.
            if link and link["status"] == OPEN and link["payload_hash"] in (digest, left_out_digest(digest)) \
                    and internal_id not in dead:
                report.unchanged += 1
                continue
            waits = self.flag.out_of_scope(wanted[internal_id])
            if waits:  # still wanted, so neither closed nor forgotten: pushed once the scope includes it
                report.skipped_pilot_scope += 1
                report.plan.append({"internal_id": internal_id, "vendor_id": link["vendor_id"] if link else None,
                                    "operation": "update" if link else "create", "field": None, "before": None,
                                    "after": None, "reason": waits, "outcome": "skipped"})
                continue
            out.append(Candidate(internal_id, desired, digest, link))
        closing = [i for i, link in links.items() if i not in wanted and link["status"] == OPEN]
        for internal_id in sorted(closing, key=lambda i: (i in dead, i)):
            link = links[internal_id]
            out.append(Candidate(internal_id, {"status": DONE}, link["payload_hash"], link, closing=True))
        return out

    def duplicate_keys(self, rows: list[dict[str, Any]]) -> dict[str, int]:
        """Keys the outbound mart holds more than once with different values (exact repeats are one row),
        with how many distinct rows each has."""
        seen: dict[str, set[str]] = {}
        for r in rows:
            seen.setdefault(str(r[self.key]), set()).add(json.dumps(r, sort_keys=True, default=str))
        return {k: len(v) for k, v in seen.items() if len(v) > 1}

    def refuse_duplicate(self, internal_id: str, count: int, link: dict[str, Any] | None, report: SyncReport) -> None:
        """A key twice in the mart with different values: nothing written, not closed either; dead-lettered
        with a reason naming the mart (a run picking one of the rows would flip the vendor record between
        them from run to run)."""
        from .vendors import TARGETS

        table = TARGETS.get(self.writer.vendor, (f"<{self.writer.vendor} outbound mart>",))[0]
        reason = (f"outbound.{table} has {count} rows for {self.key} = {internal_id} with different values, so "
                  f"which to push is unknown and nothing was written: fix the mart to one row per {self.key}")
        report.dead_lettered += 1
        report.failures.append(f"{internal_id}: {reason}")
        report.plan.append({"internal_id": internal_id, "vendor_id": link["vendor_id"] if link else None,
                            "operation": "update" if link else "create", "field": None, "before": None,
                            "after": None, "reason": reason, "outcome": "dead_lettered"})
        if not self.config.dry_run:
            state.dead_letter(self.conn, self.writer.vendor, internal_id, "update" if link else "create",
                              {self.key: internal_id, "rows": count}, reason)

    def guard(self, candidates: list[Candidate], links: dict[str, dict[str, Any]]) -> None:
        """The mass-change guard: stop before writing when too many records would close or reopen."""
        moves = [c for c in candidates if c.closing or (c.link is not None and c.link["status"] != OPEN)]
        open_links = sum(1 for link in links.values() if link["status"] == OPEN)
        limit = max(self.config.min_change_guard, math.floor(self.config.max_change_share * open_links))
        if len(moves) <= limit or self.config.confirm_mass_change:
            return
        state.record_plan(self.conn, self.run_id, self.writer.vendor, self.config.dry_run, [
            {"internal_id": c.internal_id, "vendor_id": c.link["vendor_id"] if c.link else None,
             "operation": "close" if c.closing else "transition", "field": "status",
             "after": c.desired["status"], "outcome": "blocked_by_guard"} for c in moves])
        self.conn.raw.commit()
        raise MassChangeBlocked(
            f"{self.writer.vendor}: this run would close or reopen {len(moves)} of {open_links} open linked "
            f"records, more than the mass-change guard allows ({limit}: {self.config.max_change_share:.0%} of "
            f"them, at least {self.config.min_change_guard}). That is what an emptied or broken outbound mart "
            "looks like, so nothing was written. Check the mart; if the change is intended, rerun with the "
            "config confirm_mass_change: true (CLI: --confirm-mass-change).")

    def breaker(self) -> Breaker:
        """The vendor's persisted breaker, switched and sized by the environment unless the config says.
        Off: failures are still counted and dead-lettered, but outbound writes never pause."""
        from resources.environment import current_environment

        env, cfg = current_environment(), self.config
        return Breaker.load(self.conn, self.writer.vendor, threshold=cfg.breaker_threshold or env.breaker_threshold,
                            cooldown_seconds=cfg.breaker_cooldown_seconds,
                            enforced=env.circuit_breakers if cfg.circuit_breakers is None else cfg.circuit_breakers)

    def plan_one(self, c: Candidate, existing: dict[str, Snapshot]) -> tuple[list[Step], Any, Snapshot | None]:
        """(steps, merge result, vendor snapshot) for one candidate; vendor reads only, no writes."""
        w = self.writer
        if c.link is None:
            snap = existing.get(c.internal_id)
            if snap is None:
                creating = [Change(k, None, v) for k, v in c.desired.items()]
                return w.steps(creating, True), merge(w.policy, c.desired, {}, {}, None), None
            m = merge(w.policy, c.desired, dict(snap.fields), snap.fields, set())
            return w.steps(m.changes, False), m, snap
        base = json.loads(c.link.get("synced_fields") or "{}")
        hold = getattr(w, "hold", None)  # a record the vendor will not take now waits, before any call (Jira)
        # never a close (a workflow move is no edit). A reopen is held only while a refusal of its edit stands (the
        # move went through, the edit after it was refused: the link is still closed, and was re-sent every push)
        if hold is not None and not c.closing and not self.config.dry_run:
            hold(c.internal_id, str(c.link["vendor_id"]), c.desired, self.writes)
        if w.reads:
            snap = w.read(c.link["vendor_id"], c.link.get("vendor_updated"))
            if snap is None:  # deleted at the vendor (or unseen: Jira's 404 also means Browse was taken away, so a
                # comment an earlier push owes it stays owed; jira_notes prunes it after 30 days)
                # A writer whose create is an upsert keyed by our id (OneTrust's externalId) sends it: it lands on
                # the record holding our id, whether the 404 was a deletion or a moment's (harmless, self-healing).
                # Else an earlier re-create of it may have made a record that its link never got (a push killed
                # before the link, an answer lost): looked up by our id first (``find_one``: that record alone,
                # never the whole prefetch per 404), and adopted, or every push after the hold would make another
                # one. A search showing the linked record itself says the 404 was wrong (a record hidden for a
                # moment): neither created again (a second record) nor closed unwritten (left open at the vendor),
                # the record waits in dead letters.
                again = None
                if not getattr(w, "keyed_creates", False):
                    one = getattr(w, "find_one", None)
                    again = one(c.internal_id) if one is not None else w.prefetch([c.internal_id]).get(c.internal_id)
                if again is not None and str(again.vendor_id) == str(c.link["vendor_id"]):
                    raise VendorError(
                        f"{w.vendor} answered 404 for {w.vendor_object} {str(c.link['vendor_id'])[:80]} of "
                        f"{c.internal_id[:80]}, yet its search shows that record: taken as not deleted (neither "
                        "created again nor closed unwritten); the next push reads it again", 409)
                if c.closing:
                    return [], merge(w.policy, {}, base, {}, None), None
                if again is not None and str(again.vendor_id) != str(c.link["vendor_id"]):
                    m = merge(w.policy, c.desired, dict(again.fields), again.fields, set())
                    return w.steps(m.changes, False), m, again
                creating = [Change(k, None, v) for k, v in c.desired.items()]
                return w.steps(creating, True), merge(w.policy, c.desired, {}, {}, None), None
        else:
            snap = Snapshot(c.link["vendor_id"], c.link.get("vendor_number"), dict(base), None, set())
        sent = json.loads(c.link.get("projectx_fields") or "{}")
        m = merge(w.policy, c.desired, base, snap.fields, snap.foreign, sent)
        still_open = getattr(w, "open_at_vendor", None)
        if c.closing and not w.reads and still_open is not None and not still_open(str(c.link["vendor_id"])):
            return [], m, snap  # closed or deleted at the vendor already: nothing to write, the link closes
        owed, more = getattr(w, "owed", None), sent.get(OWED)
        extra = owed(c.internal_id, list(more), snap) if owed is not None and more and not c.closing else []
        steps = w.steps(m.changes + extra, False)
        notes = getattr(w, "with_owed", None)  # a write an earlier push owes beside the fields (Jira: a comment)
        return (notes(self.writes, str(c.link["vendor_id"]), steps, snap) if notes is not None else steps), m, snap


def plan_rows(c: Candidate, vendor_id: str | None, steps: list[Step], conflicts: list, outcome: str
              ) -> list[dict[str, Any]]:
    """One plan row per operation and field, with the conflicts that shaped it as the reason."""
    why = "; ".join(f"conflict on {x.field}: {x.winner} wins ({x.rule})" for x in conflicts) or None
    rows = []
    for operation, changes in steps:
        for ch in changes or [Change("", None, None)]:
            rows.append({"internal_id": c.internal_id, "vendor_id": vendor_id, "operation": operation,
                         "field": ch.field or None, "before": ch.before, "after": ch.after, "reason": why,
                         "outcome": outcome})
    return rows


def failure_is_connector(exc: VendorError) -> bool:
    return is_connector_failure(exc)
