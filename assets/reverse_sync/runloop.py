"""One reverse-sync run (see :mod:`assets.reverse_sync.engine` for what it guarantees).

Order: candidates (no vendor call) -> mass-change guard -> circuit breaker -> one prefetch of
records already carrying our ids (only when some record has no link) -> per record: plan (vendor
reads), then, unless a dry run, the writes, the link, the dead letter cleared, one commit. A dry run
records the same plan and writes nothing: no vendor write, no link, no dead letter, no breaker change.

Records are written ``concurrency`` at a time (``SyncConfig.concurrency``, else
``PROJECTX_PUSH_CONCURRENCY``, else 4): a vendor answers each write after a round trip, and one record
at a time made a 60-record ServiceNow push take 18 s at 300 ms. Each record is still planned, written,
linked and committed as one unit in its own thread; the connection, the report and the breaker are
touched only under the run's lock. Concurrency holds only while the breaker is closed with no failure
counted, and never exceeds its threshold: after a connector-level failure, records go one at a time
again, so the breaker opens after exactly as many failed writes as in order, never a burst more.

An account-wide write refusal (``refusal.py``: three writes in a row refused with the same 401 or 403 ACL answer,
none succeeding; writers with ``refusal_fix`` only) stops sending: the rest wait as ``deferred:``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from pipelines.common.http import VendorError
from resources.warehouse import Connection

from . import left_out, state, unsettled
from .breaker import is_connector_failure
from .ratelimits import RateLimits
from .refusal import AccountRefusal

if TYPE_CHECKING:
    from .engine import Candidate, ReverseSync, SyncReport

log = logging.getLogger(__name__)
MAX_CONCURRENCY = 8  # the connections a VendorSession keeps per host (pipelines/common/http.py pool_size)


def execute(sync: ReverseSync, rows: list[dict[str, Any]]) -> SyncReport:
    """One run under the vendor's run lock (a dry run writes nothing to the vendor and takes none)."""
    width = concurrency(sync.config)  # a bad setting fails before any vendor call
    sync.rate_limits = RateLimits.from_env(sync.writer.vendor)  # so does a bad rate-limit bound
    if sync.config.dry_run:
        return _execute(sync, rows, width)
    vendor = sync.writer.vendor
    owner = state.acquire_run_lock(sync.conn, vendor, sync.run_id)
    stop = threading.Event()
    try:
        beat = threading.Thread(target=_heartbeat, args=(sync, owner, stop, sync.conn.another()), daemon=True,
                                name=f"push-lock-{vendor}")
        beat.start()
        try:
            return _execute(sync, rows, width)
        finally:
            stop.set()
            beat.join()
    except BaseException:
        # The unit the error interrupted is dropped, not committed with the lock's release below.
        with sync.writes.lock, suppress(Exception):
            sync.conn.raw.rollback()
        raise
    finally:
        with sync.writes.lock, suppress(Exception):  # keep the error that stopped the run, if any
            state.release_run_lock(sync.conn, vendor, owner)


def _heartbeat(sync: ReverseSync, owner: str, stop: threading.Event, conn: Connection | None) -> None:
    """Refresh the run lock every HEARTBEAT_SECONDS while the push runs (a push whose lock goes unrefreshed
    for STALE_LOCK may be taken over), on a connection of its own: its commits and rollbacks never touch
    the run's open transaction (on PostgreSQL a commit on the shared connection would commit half of the
    main thread's unit, a rollback would drop it). A failed refresh is logged and tried again on a fresh
    connection. When the lock is found gone or taken over, or could not be refreshed for half of
    STALE_LOCK, ``sync.writes.lock_lost`` says why: the run submits no more records and raises LockLost
    once those in flight are done."""
    vendor = sync.writer.vendor
    last_ok = time.monotonic()
    try:
        while not stop.wait(state.HEARTBEAT_SECONDS):
            try:
                if conn is None:
                    conn = sync.conn.another()
                held = state.refresh_run_lock(conn, vendor, owner)
                conn.raw.commit()
            except Exception as exc:
                log.warning("%s: could not refresh the push lock: %s", vendor, exc)
                conn = _closed(conn)
                if time.monotonic() - last_ok > state.STALE_LOCK.total_seconds() / 2:
                    sync.writes.lock_lost = (f"its lock could not be refreshed for {time.monotonic() - last_ok:.0f} s "
                                             f"(last error: {exc}), so another push may take it over")
                    return
                continue
            if not held:
                sync.writes.lock_lost = ("its row in reverse_sync.run_locks is gone or now belongs to another push "
                                         "(its heartbeat was taken for stale, or the row was deleted)")
                return
            last_ok = time.monotonic()
    finally:
        _closed(conn)


def _closed(conn: Connection | None) -> None:
    if conn is not None:
        with suppress(Exception):
            conn.raw.rollback()
        with suppress(Exception):
            conn.raw.close()


def _lock_lost(sync: ReverseSync) -> state.LockLost:
    vendor = sync.writer.vendor
    return state.LockLost(
        f"{vendor}: push run {sync.run_id} lost its run lock: {sync.writes.lock_lost}. It stopped before its "
        "remaining records (those it wrote are linked; the rest wait for the next push). Check that the "
        f"warehouse is reachable from this worker and that nothing deletes rows of {state.SCHEMA}.run_locks, "
        "then run the push again; if another push took the lock over, let it finish first")


def _execute(sync: ReverseSync, rows: list[dict[str, Any]], width: int) -> SyncReport:
    from .engine import SyncReport

    conn, w, cfg = sync.conn, sync.writer, sync.config
    report = SyncReport()
    links = sync.links()
    dead = state.dead_letters(conn, w.vendor)
    candidates = sync.candidates(rows, links, dead, report)
    sync.guard(candidates, links)
    breaker = sync.breaker()
    sync.writes.enabled = not cfg.dry_run
    existing: dict[str, Any] | None = {}
    unlinked = [c.internal_id for c in candidates if c.link is None]
    unchecked = ""
    sync.rate_limits.install(w)
    # per run: an account-wide write refusal stops the push (refusal.py)
    sync.refusal = AccountRefusal(w, enabled=not cfg.dry_run)
    try:
        if unlinked and breaker.allows_writes:
            try:
                existing = w.prefetch(unlinked)
            except VendorError as exc:  # creating now could duplicate a record an earlier run made
                existing, unchecked = None, f"could not look for records already carrying our ids: {exc}"
                if is_connector_failure(exc):
                    breaker.failure(unchecked)
        _write_all(sync, candidates, existing, unchecked, breaker, report, width)
    except BaseException:
        # A bug or an interrupt stopped the run: what the breaker counted still holds for the next one.
        if not cfg.dry_run:
            with suppress(Exception), sync.writes.committed():  # keep the error that stopped the run
                breaker.save(conn)
        raise
    finally:
        sync.rate_limits.uninstall()
    if not cfg.dry_run:
        breaker.save(conn)
        wanted = {str(r[sync.key]) for r in rows}
        for internal_id in set(dead) - wanted - {i for i, link in links.items() if link["status"] == "open"}:
            state.clear_dead_letter(conn, w.vendor, internal_id)
    report.breaker_state = breaker.state
    report.writes = sync.writes.count
    state.record_plan(conn, sync.run_id, w.vendor, cfg.dry_run, report.plan)
    conn.raw.commit()
    if report.paused_circuit_open:  # the breaker, or a failed look-up of our ids with the breaker closed
        report.paused_reason = unchecked if breaker.allows_writes and unchecked else breaker.reason()
        log.error("%s: %s; %d records wait in dead letters", w.vendor, report.paused_reason,
                  report.paused_circuit_open)
    if report.deferred_refused:  # one line, no secret: the vendor's text is masked by writes.py
        report.stopped = sync.refusal.summary(report.deferred_refused)
        log.error("%s", report.stopped)
    if report.deferred_rate_limited:
        log.error("%s: %d records deferred to the next push: %s", w.vendor, report.deferred_rate_limited,
                  sync.rate_limits.deferring)
    return report


def _write_all(sync: ReverseSync, candidates: list[Candidate], existing: dict[str, Any] | None, unchecked: str,
               breaker: Any, report: SyncReport, width: int) -> None:
    """Each candidate written (or paused), up to ``width`` at once; returns when all are done. The first
    error that is not a vendor's (a bug, an interrupt) stops new records, waits for those in flight and
    is raised; any others are logged."""
    lock = sync.writes.lock
    running: set[Future] = set()
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix=f"push-{sync.writer.vendor}") as pool:
        try:
            for c in candidates:
                if sync.writes.lock_lost:  # another push may be writing now: start nothing more
                    break
                # One at a time once the breaker has counted a failure (or is half-open): it must open
                # after `threshold` failed writes, not after as many as were in flight.
                while running and len(running) >= min(_in_flight(breaker, lock, width),
                                                      sync.refusal.in_flight(width, _scope(sync, c))):
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    _raise_first(done)
                if sync.writes.lock_lost:
                    break
                with sync.writes.committed():
                    paused = breaker.reason() if not breaker.allows_writes else \
                        unchecked if c.link is None and existing is None else None
                    if paused is not None:
                        _pause(sync, c, paused, report)
                    elif sync.rate_limits.deferring:
                        paused = sync.rate_limits.reason()
                        _pause(sync, c, paused, report, "deferred_rate_limited")
                    elif sync.refusal.stopped_for(_scope(sync, c)):  # the account (or project) cannot write
                        paused = sync.refusal.stopped_for(_scope(sync, c))
                        _pause(sync, c, paused, report, "deferred_refused")
                if paused is None:
                    running.add(pool.submit(_one, sync, c, existing or {}, breaker, report))
        except BaseException:
            _log_also_failed(_errors(wait(running).done))
            raise
        _raise_first(wait(running).done)
    if sync.writes.lock_lost:
        raise _lock_lost(sync)


def _scope(sync: ReverseSync, c: Candidate) -> str | None:
    """The part of the vendor a refusal of ``c`` may be about (a Jira project: ``writer.refusal_scope``), or None."""
    scope_of = getattr(sync.writer, "refusal_scope", None)
    return scope_of(c.desired) if scope_of is not None else None


def _errors(done: set[Future]) -> list[BaseException]:
    return [f.exception() for f in done if f.exception() is not None]


def _raise_first(done: set[Future]) -> None:
    """Raise the first error among records that finished; log the others."""
    errors = _errors(done)
    _log_also_failed(errors[1:])
    if errors:
        raise errors[0]


def _log_also_failed(errors: list[BaseException]) -> None:
    for error in errors:
        log.error("a record written beside another that stopped the run failed too", exc_info=error)


def concurrency(cfg: Any) -> int:
    """Records written at once: the run's setting, else PROJECTX_PUSH_CONCURRENCY, else 4."""
    raw = cfg.concurrency if cfg.concurrency is not None else os.environ.get("PROJECTX_PUSH_CONCURRENCY", "4")
    try:
        width = int(raw)
    except ValueError:
        raise ValueError(f"PROJECTX_PUSH_CONCURRENCY={raw!r} is not a number: set it to how many records a push "
                         "may write at once (1 writes them in order; default 4)") from None
    if not 1 <= width <= MAX_CONCURRENCY:
        raise ValueError(f"push concurrency {width} is out of range: use 1 to {MAX_CONCURRENCY} (default 4; "
                         "each vendor client keeps that many connections open)")
    return width


def _in_flight(breaker: Any, lock: Any, width: int) -> int:
    """How many records may be in flight: ``width`` while the breaker is closed with no failure counted,
    but never more than the failures it still tolerates (so it opens after exactly ``threshold`` failed
    writes, as in order); one at a time once it has counted a failure or is half-open."""
    from .breaker import CLOSED

    with lock:
        if breaker.state != CLOSED or breaker.failures:
            return 1
        return max(1, min(width, breaker.threshold)) if breaker.enforced else width


def _pause(sync: ReverseSync, c: Candidate, reason: str, report: SyncReport,
           outcome: str = "paused_circuit_open") -> None:
    """A record not sent in this run (the breaker is open, or the vendor's rate limits deferred it): in the
    plan and, unless a dry run, in dead letters with the reason, so the next push sends it."""
    from .engine import plan_rows

    setattr(report, outcome, getattr(report, outcome) + 1)
    operation = "close" if c.closing else ("create" if c.link is None else "update")
    report.plan += plan_rows(c, c.link["vendor_id"] if c.link else None, [(operation, [])], [], outcome)
    if not sync.config.dry_run:
        text = reason if reason.startswith("deferred:") else f"paused: {reason}"
        state.dead_letter(sync.conn, sync.writer.vendor, c.internal_id, operation, c.desired, text)


def _one(sync: ReverseSync, c: Candidate, existing: dict[str, Any], breaker: Any, report: SyncReport) -> None:
    from .engine import plan_rows

    conn, w, lock = sync.conn, sync.writer, sync.writes.lock
    steps: list = []
    vendor_id = c.link["vendor_id"] if c.link else None
    try:
        steps, m, snap = sync.plan_one(c, existing)
        vendor_id = snap.vendor_id if snap else vendor_id
        if snap is not None and _new_id(c, vendor_id):  # adopting a record: never one another task holds
            sync.writes.claim(str(vendor_id), c.internal_id)
        if sync.config.dry_run:
            with lock:
                report.plan += plan_rows(c, vendor_id, steps, m.conflicts, "planned")
            return
        number = snap.number if snap else (c.link or {}).get("vendor_number")
        if snap is None and c.link is not None and not c.closing:
            vendor_id = None  # the vendor deleted it: create a new one
        for step in steps:
            vendor_id, got = w.apply(step, c.internal_id, vendor_id, c.desired, sync.writes)
            number = got or number
        with sync.writes.committed():
            for x in m.conflicts:
                state.record_conflict(conn, sync.run_id, w.vendor, c.internal_id, vendor_id, x.field, x.base,
                                      x.projectx, x.vendor, x.winner, x.rule)
            if vendor_id is not None and _new_id(c, vendor_id):  # the last guard: one task per vendor record
                sync.writes.claim(str(vendor_id), c.internal_id)
            left = left_out.left_out(w, c.internal_id)
            synced, sent, digest = left_out.without(left, m.synced, _sent(c), c.digest, snap, c.link is None)
            if vendor_id is not None:
                state.save_link(conn, w.vendor, w.vendor_object, c.internal_id, vendor_id, number, digest,
                                "closed" if c.closing else "open", synced, snap.updated if snap else None,
                                sync.run_id, existing=c.link is not None, sent=sent)
                unsettled.clear(conn, w.vendor, c.internal_id)  # linked: no create of it is in doubt any more
            state.clear_dead_letter(conn, w.vendor, c.internal_id)
            changed = {ch.field for op, chs in steps if op != "comment" for ch in chs if ch.field}
            nothing = bool(left) and c.link is not None and not c.closing and changed <= set(left)
            report.plan += left_out.mark(plan_rows(c, vendor_id, steps, m.conflicts, "done"), left, nothing)
            if nothing:
                report.unchanged += 1  # every change was left out: nothing was sent, not even the comment
            else:
                _tally(report, c, steps, snap, len(m.conflicts))
            breaker.success()
            sync.rate_limits.succeeded()
            if steps:  # a write was sent and accepted; a record needing none proves nothing about the account
                sync.refusal.success(_scope(sync, c))
    except VendorError as exc:
        reason = str(exc)
        sync.rate_limits.failed(exc)
        with sync.writes.committed():
            if sync.config.dry_run:
                report.plan += plan_rows(c, vendor_id, [("read", [])], [], "read_failed")
                report.failures.append(f"{c.internal_id}: {reason}")
                return
            operation = steps[0][0] if steps else ("close" if c.closing else "upsert")
            state.dead_letter(conn, w.vendor, c.internal_id, operation, c.desired, reason)
            report.dead_lettered += 1
            report.failures.append(f"{c.internal_id}: {reason}")
            report.plan += plan_rows(c, vendor_id, steps or [(operation, [])], [], "dead_lettered")
            if is_connector_failure(exc):
                breaker.failure(reason)
            sync.refusal.failure(exc, _scope(sync, c))


def _sent(c: Candidate) -> dict[str, Any]:
    """Project X's values at this sync, for the link's ``projectx_fields`` (a close sends only the status)."""
    import json

    before = json.loads((c.link or {}).get("projectx_fields") or "{}") if c.closing else {}
    return {**before, **c.desired}


def _new_id(c: Candidate, vendor_id: Any) -> bool:
    """True when ``vendor_id`` is not the record the candidate's link already names (a create, an adoption)."""
    return vendor_id is not None and (c.link is None or str(vendor_id) != str(c.link["vendor_id"]))


def _tally(report: SyncReport, c: Candidate, steps: list, snap: Any, conflicts: int) -> None:
    report.conflicts += conflicts
    if c.link is None:
        if snap is None:
            report.created += 1
        else:
            report.adopted += 1
    elif c.closing:
        report.closed += 1
    elif c.link["status"] != "open":
        report.reopened += 1
    elif steps:
        report.updated += 1
    else:
        report.unchanged += 1
