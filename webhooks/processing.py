"""One pass over the inbox, as the ``webhook_inbox`` sensor runs it (no Dagster imports here).

1. Settle requested runs: a successful run marks its events done; a failed or cancelled one (or
   one that never appeared within ``run_timeout`` seconds) counts a failed attempt for each.
2. Hand every due event to its handler (``webhooks.handlers``): done, a sync to request, ignored
   (the handler raised ``Ignored``: nothing to do, ever), or a failed attempt. Syncs are batched per
   job: one run for all events of one job in this pass,
   keyed by the events' seqs and attempts, so a tick re-evaluated never launches twice.
Events for a job in ``blocked_jobs`` (a new warehouse not yet fully built) wait, without an attempt.
Events for a job whose run this inbox requested is still in flight (queued, running, or requested under
``UNSEEN_GRACE`` ago and not yet seen) are parked until it ends (``EventQueue.park``, no attempt counted;
at most ``run_timeout``), then the next run reads the vendor for all of them: an event storm on one record
asks for one run at a time per job. (A run per tick had been requested while one ran: every 5 s another
whole sync queued behind it, faster than they finish.) A run not ended ``run_timeout`` after it was requested
(stuck queued, started or canceling: a dead worker, no run monitoring) holds nothing any more and counts a
failed attempt for its events, and an event whose wait ran out is never parked again: every event goes on
toward a run or the dead letter (they had waited for ever behind a run that never ends).
Parked events leave the pass's ``limit``, so a storm never starves the other sources' events.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from time import monotonic

from webhooks.handlers import Ignored, SyncRequest, handler_for
from webhooks.inbox.queue import EventQueue, InboxEvent


@dataclass(frozen=True)
class PlannedRun:
    job_name: str
    run_key: str
    tables: tuple[str, ...]
    seqs: tuple[int, ...]
    correlation_id: str  # the run's tag projectx/correlation_id and the events' audit rows


@dataclass
class PassResult:
    runs: list[PlannedRun] = field(default_factory=list)
    done: int = 0
    failed: int = 0
    dead: list[InboxEvent] = field(default_factory=list)
    waiting: int = 0  # events held back by a blocked job
    settled: int = 0  # events whose run finished this pass
    ignored: int = 0  # events their handler declared need nothing (webhooks.handlers.Ignored)
    deferred: int = 0  # due events left for the next pass when this one spent its time budget
    coalesced: int = 0  # events waiting for their job's run in flight to end (one run at a time per job)
    errors: list[str] = field(default_factory=list)


def run_key_for(job_name: str, events: list[InboxEvent]) -> str:
    digest = hashlib.sha256(",".join(f"{e.seq}:{e.attempts}" for e in events).encode()).hexdigest()[:20]
    return f"webhooks:{job_name}:{digest}"


# Seconds a pass hands events to their handlers before it leaves the rest (still due) to the next tick: the
# sensor's evaluation has 60 s (DAGSTER_SENSOR_GRPC_TIMEOUT_SECONDS). Slow handlers (a Slack click waits on
# Slack: seconds each when Slack is slow) had run the pass past it: the tick failed, its run requests were
# lost (their events waited an hour for a run never requested, then counted a failed attempt), and the pass
# still running beside the next tick handed the same events over twice.
PASS_BUDGET_SECONDS = 30.0
# A run requested this long ago and still unknown to Dagster was lost (the tick's result discarded): its events wait
# for run_timeout, but new events of its job no longer wait for it.
UNSEEN_GRACE = 300.0


def _interrupt(exc: BaseException) -> bool:
    """The process (or the tick) being stopped, not the event's fault: Ctrl-C, Dagster's interruption."""
    # (not GeneratorExit: process() is no generator, so one can only come from a handler, the event's own poison)
    return isinstance(exc, KeyboardInterrupt) or any(c.__name__ == "DagsterExecutionInterruptedError"
                                                     for c in type(exc).__mro__)


def _describe(exc: BaseException) -> str:
    """``Type: text`` of a handler's error; an exception whose ``__str__`` raises must not end the pass."""
    try:
        text = str(exc)
    except BaseException as err:  # whatever its __str__ raises, the event is the poison, not the pass
        if _interrupt(err):
            raise
        text = "<unprintable>"
    return f"{type(exc).__name__}: {text}"[:2000]


def job_of(run_key: str) -> str:
    """The job a run key of ``run_key_for`` names."""
    return run_key.split(":")[1] if run_key.count(":") >= 2 else ""


def process(queue: EventQueue, run_status: Callable[[str], str | None], *, after_seq: int = 0,
            now: float | None = None, blocked_jobs: frozenset[str] = frozenset(), run_timeout: float = 3600.0,
            limit: int = 5000, budget_seconds: float = PASS_BUDGET_SECONDS) -> PassResult:
    """``run_status(run_key)`` answers "success", "failure", "running", "queued" or None (no such run yet). A run
    queued behind its vendor's live sync is in flight however long it waits; ``run_timeout`` counts for the others."""
    now = time.time() if now is None else now
    result = PassResult()
    in_flight: dict[str, str] = {}  # job -> its newest run this inbox requested that has not ended
    for run_key, (events, launched_at) in queue.launched().items():
        status = run_status(run_key)
        age = now - (launched_at or now)
        timed_out = age > run_timeout and status != "queued"
        if status not in ("success", "failure") and not timed_out and (status is not None or age <= UNSEEN_GRACE):
            in_flight[job_of(run_key)] = run_key
            continue
        # ended (or lost): the events parked behind it are due now (released first: a pass ending before the
        # run is settled leaves it to settle, and release, again)
        queue.release(run_key, now)
        if status == "success":
            queue.mark_done([e.seq for e in events], now)
            result.settled += len(events)
        elif status == "failure" or timed_out:  # a run stuck unended had held its events for ever
            why = "failed" if status == "failure" else f"did not {'start' if status is None else 'end'} within " \
                f"{int(run_timeout)} s"
            result.dead += queue.fail(events, f"sync run {run_key} {why}", now)
            result.failed += len(events)
    queue.release_orphans(now)  # parked by an overlapping pass behind a run this one, or another, has settled
    batches: dict[str, list[tuple[InboxEvent, str]]] = {}
    done: list[int] = []
    ignored: dict[int, str] = {}
    parked: dict[str, list[int]] = {}  # run in flight -> events of its job waiting for it to end
    started, due = monotonic(), queue.due(after_seq, now, limit)
    for index, event in enumerate(due):
        if monotonic() - started > budget_seconds:  # the rest stay due for the next tick
            result.deferred = len(due) - index
            break
        try:
            requests: list[SyncRequest] | None = handler_for(event.source, event.event_type)(event)
        except Ignored as why:  # finished with its reason: not a failed attempt
            ignored[event.seq] = str(why)
            continue
        except BaseException as exc:  # any handler error is one failed attempt, with its reason
            if _interrupt(exc):
                raise
            # SystemExit (a library's sys.exit), asyncio's CancelledError...: no Exception, so they had crashed the
            # pass at this event on every tick, never counted: never dead-lettered, and the events after it waited
            message = _describe(exc)
            result.dead += queue.fail([event], message, now)
            result.failed += 1
            result.errors.append(message)
            continue
        if not requests:
            done.append(event.seq)
            continue
        held = [r for r in requests if r.job_name in blocked_jobs]
        if held:
            result.waiting += 1
            continue
        busy = next((in_flight[r.job_name] for r in requests if r.job_name in in_flight), None)
        if busy is not None and not event.overdue:  # the run after the one in flight takes it
            parked.setdefault(busy, []).append(event.seq)
            result.coalesced += 1
            continue
        for request in requests:
            batches.setdefault(request.job_name, []).append((event, request.table))
    queue.mark_done(done, now)
    result.done += len(done)
    queue.mark_ignored(ignored, now)
    for run_key, seqs in parked.items():
        queue.park(seqs, run_key, now, run_timeout)
    result.ignored += len(ignored)
    launched: set[int] = set()
    for job_name, items in sorted(batches.items()):
        events = list({e.seq: e for e, _ in items if e.seq not in launched}.values())
        if not events:  # every event of this job rides on an earlier job's run already
            continue
        key, correlation_id = run_key_for(job_name, events), str(uuid.uuid4())
        queue.mark_launched([e.seq for e in events], key, now, correlation_id)
        launched.update(e.seq for e in events)
        result.runs.append(PlannedRun(job_name, key, tuple(sorted({t for _, t in items})),
                                      tuple(e.seq for e in events), correlation_id))
    return result
