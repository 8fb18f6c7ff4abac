"""Processing states of inbox events, moved by the Dagster sensor (and the replay command).

An event is ``pending`` when received. The sensor reads new ones past its cursor (``low_water``),
hands each to its handler and marks it ``done``, or ``launched`` (a sync run was requested under
``run_key``; done when that run succeeds). A handler error or a failed run counts an attempt: the
event waits ``base * 2**(attempts-1)`` seconds (capped) in ``retry``; the 10th failed attempt moves
it to ``dead`` and into ``webhook_dead_letters``, from where ``replay`` puts it back in line
(``retry``, due now) with its attempts reset. An event whose job has a run in flight is parked behind
it (``retry`` under ``run_key`` ``after:<that run>``, no attempt counted) until ``release`` (or
``release_orphans``, when another pass settled the run); one whose wait ran out is ``overdue`` when due again
and never parked again. An event its
handler declares needs nothing and never will (``webhooks.handlers.Ignored``: a Slack interaction type
nothing acts on) is ``ignored``: finished, kept, audited under that status, its reason in ``last_error``;
never retried or dead-lettered.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from webhooks.inbox.db import Database

MAX_ATTEMPTS = 10
PARKED = "after:"  # run_key of an event parked behind a run of its job: "after:<that run's key>"
COLUMNS = "seq, source, delivery_id, event_type, received_at, body, attempts"
# SQL true for a row parked behind a run (substr, not LIKE: a literal '%' would be a placeholder to psycopg2)
IS_PARKED = "substr(run_key, 1, 6) = 'after:'"
CHUNK = 500  # seqs per "where seq in (...)": a storm's batch is a few round trips, under every driver's limit


def storable(text: str, limit: int = 2000) -> str:
    """A handler's error as a ``last_error`` every inbox stores: a lone surrogate (text decoded with
    ``surrogateescape``) cannot be encoded for SQLite, and PostgreSQL text takes no NUL. Either made the
    write of the failed attempt raise, which ended the whole pass at that event on every tick: the poison
    event was never counted nor dead-lettered, and the events after it were never processed."""
    text = text[:limit].encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    return text[:limit]


# rejected-request rows kept at most: a day of the receiver's 600 a minute (864,000), about 0.5 GB
MAX_REJECTION_ROWS = 1_000_000


@dataclass(frozen=True)
class InboxEvent:
    """One accepted delivery: ``body`` is the raw JSON text the vendor signed."""

    seq: int
    source: str
    delivery_id: str
    event_type: str
    received_at: float
    body: str
    attempts: int = 0
    # due again because its wait behind a run ran out (``park``'s timeout), not released by the run's end: the run
    # is stuck or lost, so this event must not be parked again (it had waited behind a run that never ends for ever)
    overdue: bool = field(default=False, compare=False)

    def payload(self) -> Any:
        return json.loads(self.body)


class EventQueue:
    """State transitions over one inbox connection; every method is its own transaction."""

    def __init__(self, db: Database, base_backoff: float = 30.0, max_backoff: float = 3600.0) -> None:
        self.db, self.base_backoff, self.max_backoff = db, base_backoff, max_backoff

    @staticmethod
    def _chunked(statement: str, params: tuple, seqs: list[int]) -> list[tuple[str, tuple]]:
        """``statement`` ending in ``seq in ({})`` once per ``CHUNK`` seqs (set-based: not one UPDATE per row)."""
        chunks = [seqs[i:i + CHUNK] for i in range(0, len(seqs), CHUNK)]
        return [(statement.format(", ".join("?" * len(c))), (*params, *c)) for c in chunks]

    def _tx(self, statements: list[tuple[str, tuple]]) -> None:
        self.db.begin()
        try:
            for statement, params in statements:
                self.db.execute(statement, params).close()
            self.db.commit()
        except Exception:
            self.db.rollback()
            raise

    def due(self, after_seq: int = 0, now: float | None = None, limit: int = 5000) -> list[InboxEvent]:
        """Events for their handler, oldest first: new ones past the cursor, and retries whose wait is over."""
        now = time.time() if now is None else now
        rows = self.db.query(f"select {COLUMNS}, case when status = 'retry' and {IS_PARKED} then 1 else 0 end "
                             "from webhook_events where (status = 'pending' and seq > ?) "
                             "or (status = 'retry' and next_attempt_at <= ?) order by seq limit ?",
                             (after_seq, now, limit))
        self.db.commit()
        return [InboxEvent(*row[:-1], overdue=bool(row[-1])) for row in rows]

    def low_water(self) -> int:
        """The next cursor: every event at or below it has left ``pending`` (safe with late commits)."""
        (pending, top), = self.db.query("select min(case when status = 'pending' then seq end), max(seq) "
                                        "from webhook_events")
        self.db.commit()
        return int(pending - 1) if pending is not None else int(top or 0)

    def launched(self) -> dict[str, tuple[list[InboxEvent], float]]:
        """Events waiting on a requested run, by run_key, with when it was requested."""
        rows = self.db.query(f"select {COLUMNS}, run_key, launched_at from webhook_events "
                             "where status = 'launched' order by seq")
        self.db.commit()
        out: dict[str, tuple[list[InboxEvent], float]] = {}
        for row in rows:
            out.setdefault(row[-2], ([], row[-1]))[0].append(InboxEvent(*row[:-2]))
        return out

    def mark_done(self, seqs: list[int], now: float | None = None) -> None:
        """Finish these events; one parked behind a run forgets it (the audit named a run it never rode on)."""
        now = time.time() if now is None else now
        self._tx(self._chunked(f"update webhook_events set status = 'done', done_at = ?, last_error = null, run_key = "
                               f"case when {IS_PARKED} then null else run_key end where seq in ({{}})", (now,), seqs))

    def mark_ignored(self, reasons: dict[int, str], now: float | None = None) -> None:
        """Finish these events (seq -> why) as ``ignored``: kept and audited, never retried."""
        now = time.time() if now is None else now
        self._tx([(f"update webhook_events set status = 'ignored', done_at = ?, last_error = ?, run_key = case when "
                   f"{IS_PARKED} then null else run_key end where seq = ?", (now, storable(why), s))
                  for s, why in reasons.items()])

    def mark_launched(self, seqs: list[int], run_key: str, now: float | None = None,
                      correlation_id: str | None = None) -> None:
        now = time.time() if now is None else now
        self._tx(self._chunked("update webhook_events set status = 'launched', run_key = ?, launched_at = ?, "
                               "correlation_id = ? where seq in ({})", (run_key, now, correlation_id), seqs))

    def park(self, seqs: list[int], run_key: str, now: float, timeout: float) -> None:
        """Hold these events until the run ``run_key`` (of their job) ends and ``release`` frees them, at most
        ``timeout`` seconds: ``retry`` without an attempt counted, out of ``due`` meanwhile. Only events still
        waiting (another pass may have launched or finished them meanwhile: they were turned back into retry), and
        only while that run is still requested (one another pass settled meanwhile would never release them)."""
        self._tx(self._chunked("update webhook_events set status = 'retry', run_key = ?, next_attempt_at = ? "
                               "where status in ('pending', 'retry') and exists (select 1 from webhook_events l "
                               "where l.status = 'launched' and l.run_key = ?) and seq in ({})",
                               (PARKED + run_key, now + timeout, run_key), seqs))

    def release(self, run_key: str, now: float | None = None) -> None:
        """The events parked behind ``run_key`` are due now."""
        now = time.time() if now is None else now
        self._tx([("update webhook_events set next_attempt_at = ?, run_key = null where status = 'retry' and "
                   "run_key = ?", (now, PARKED + run_key))])

    def release_orphans(self, now: float | None = None) -> None:
        """Events parked behind a run no longer requested (settled by an overlapping pass after this one parked
        them) are due now, not at the end of their wait."""
        now = time.time() if now is None else now
        self._tx([(f"update webhook_events set next_attempt_at = ?, run_key = null where status = 'retry' and "
                   f"{IS_PARKED} and not exists (select 1 from webhook_events l where l.status = 'launched' and "
                   "'after:' || l.run_key = webhook_events.run_key)", (now,))])

    def backoff(self, attempts: int) -> float:
        return min(self.max_backoff, self.base_backoff * 2 ** max(0, attempts - 1))

    def fail(self, events: list[InboxEvent], error: str, now: float | None = None) -> list[InboxEvent]:
        """Count one failed attempt for each event; returns those now dead-lettered."""
        now = time.time() if now is None else now
        statements, dead = [], []
        error = storable(error)
        for ev in events:
            (attempts,) = self.db.query("select attempts from webhook_events where seq = ?", (ev.seq,))[0]
            attempts += 1
            if attempts >= MAX_ATTEMPTS:
                dead.append(ev)
                statements.append(("update webhook_events set status = 'dead', attempts = ?, last_error = ? "
                                   "where seq = ?", (attempts, error, ev.seq)))
                statements.append(("insert into webhook_dead_letters (seq, source, delivery_id, event_type, attempts,"
                                   " last_error, dead_at) values (?, ?, ?, ?, ?, ?, ?) on conflict (seq) do nothing",
                                   (ev.seq, ev.source, ev.delivery_id, ev.event_type, attempts, error, now)))
            else:
                statements.append(("update webhook_events set status = 'retry', attempts = ?, last_error = ?, "
                                   "next_attempt_at = ?, run_key = null where seq = ?",
                                   (attempts, error, now + self.backoff(attempts), ev.seq)))
        self._tx(statements)
        return dead

    def unaudited(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Events that reached done, ignored or dead and are not yet in the audit log."""
        rows = self.db.query("select seq, source, delivery_id, event_type, status, attempts, run_key, correlation_id "
                             "from webhook_events where audited_at is null and status in ('done', 'ignored', 'dead') "
                             "order by seq limit ?", (limit,))
        self.db.commit()
        keys = ("seq", "source", "delivery_id", "event_type", "status", "attempts", "run_key", "correlation_id")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def mark_audited(self, seqs: list[int], now: float | None = None) -> None:
        now = time.time() if now is None else now
        self._tx(self._chunked("update webhook_events set audited_at = ? where seq in ({})", (now,), seqs))

    def dead_letters(self) -> list[dict[str, Any]]:
        rows = self.db.query("select seq, source, delivery_id, event_type, attempts, last_error, dead_at "
                             "from webhook_dead_letters order by seq")
        self.db.commit()
        keys = ("seq", "source", "delivery_id", "event_type", "attempts", "last_error", "dead_at")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def replay(self, seqs: list[int] | None = None) -> int:
        """Put dead letters (all, or these seqs) back in line with attempts reset; returns how many."""
        chosen = [d["seq"] for d in self.dead_letters() if seqs is None or d["seq"] in set(seqs)]
        statements = []
        for seq in chosen:
            statements.append(("update webhook_events set status = 'retry', attempts = 0, next_attempt_at = 0, "
                               "run_key = null, audited_at = null where seq = ?", (seq,)))
            statements.append(("delete from webhook_dead_letters where seq = ?", (seq,)))
        if statements:
            self._tx(statements)
        return len(chosen)

    def prune_rejections(self, keep_days: float = 30, now: float | None = None,
                         keep_rows: int = MAX_REJECTION_ROWS) -> None:
        """Forget rejected-request records older than ``keep_days``, and all but the newest ``keep_rows`` (the
        counters keep the totals). The receiver records at most 600 a minute, so a month of floods from many
        addresses could keep 26 million rows (about 10 GB of inbox); the cap holds a full day at that rate."""
        now = time.time() if now is None else now
        self._tx([("delete from webhook_rejections where received_at < ?", (now - keep_days * 86400,)),
                  # by the newest id, an index look-up (an OFFSET read up to a million rows on every 5-s tick under
                  # SQLite's write lock); gaps in the ids only keep a few rows fewer
                  ("delete from webhook_rejections where id <= (select max(id) from webhook_rejections) - ?",
                   (max(keep_rows, 1),))])

    def health(self, now: float | None = None) -> dict[str, dict[str, int]]:
        """Per source: events by state, quarantined payloads, and rejected requests in the last 24 hours."""
        now = time.time() if now is None else now
        out: dict[str, dict[str, int]] = {}
        for source, status, n in self.db.query("select source, status, count(*) from webhook_events "
                                               "group by source, status"):
            out.setdefault(source, {})[status] = n
        for source, n in self.db.query("select source, count(*) from webhook_quarantine group by source"):
            out.setdefault(source, {})["quarantined"] = n
        for endpoint, n in self.db.query("select endpoint, count(*) from webhook_rejections where received_at >= ? "
                                         "group by endpoint", (now - 86400,)):
            out.setdefault(endpoint.split("_")[0], {})["rejected_24h"] = \
                out.get(endpoint.split("_")[0], {}).get("rejected_24h", 0) + n
        self.db.commit()
        return out
