"""The receiver's single writer: group commit of deliveries, so a 2xx always follows an fsync.

Request handlers ``submit`` a write and wait on its future. One thread takes every write queued so
far (up to ``max_batch``), runs them in one transaction and commits it (SQLite ``synchronous=FULL``
fsyncs the WAL; PostgreSQL fsyncs its WAL on commit) before any future resolves. Concurrent
senders therefore share fsyncs instead of queuing behind one each. If the commit fails, its writes
are tried again one by one (one write the database refuses fails alone); a write that still fails
fails its future and the handler answers 503, so the sender retries: nothing is lost.

Replays: for endpoints whose delivery id is not signed the receiver passes the digest of what the
signature covers. The digest is claimed in ``webhook_digests`` in the same transaction as the event, so
of two copies under different ids only one gets in, even from two receivers on one PostgreSQL inbox
(the second insert waits on the first's unique key, then sees it).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import queue
import threading
import time
from concurrent.futures import Future, InvalidStateError
from typing import Any

from webhooks.inbox.db import Database, open_database
from webhooks.settings import WebhookSettings

log = logging.getLogger(__name__)

INSERT_EVENT = ("insert into webhook_events (source, delivery_id, event_type, received_at, body, next_attempt_at)"
                " values (?, ?, ?, ?, ?, ?) on conflict (source, delivery_id) do nothing")
INSERT_QUARANTINE = ("insert into webhook_quarantine (source, delivery_id, event_type, reason, body_b64, received_at)"
                     " values (?, ?, ?, ?, ?, ?) on conflict (source, delivery_id) do nothing")
SELECT_BODY = "select body from webhook_events where source = ? and delivery_id = ?"
CONFLICT = "conflict"  # add_event's result for a stored delivery id arriving with a different body
REPLAY = "replay"  # add_event's result for a signed message accepted within the window under another id
EVENT = "event"  # the queue's marker for add_event (several statements, decided in the writer)
CLAIM_DIGEST = ("insert into webhook_digests (source, digest, delivery_id, received_at) values (?, ?, ?, ?) "
                "on conflict (source, digest) do nothing")
SELECT_DIGEST = "select delivery_id, received_at from webhook_digests where source = ? and digest = ?"
MOVE_DIGEST = "update webhook_digests set delivery_id = ?, received_at = ? where source = ? and digest = ?"
DROP_DIGEST = "delete from webhook_digests where source = ? and digest = ?"
PRUNE_DIGESTS = "delete from webhook_digests where received_at < ?"
PRUNE_EVERY = 60.0  # seconds between prunes of digests past the replay window
FAILURE_LOG_SECONDS = 10.0  # a commit failure is logged at most once this often per error (then counted)
INSERT_REJECTION = ("insert into webhook_rejections (received_at, endpoint, remote_addr, reason, content_length,"
                    " body_prefix_b64) values (?, ?, ?, ?, ?, ?)")


RECOVERED = "recovered"  # the key of the line saying commits work again (the others: error names)


class InboxWriter:
    """Owns the write connection and its thread; ``submit`` is thread-safe."""

    def __init__(self, settings: WebhookSettings, max_batch: int = 512) -> None:
        self.settings, self.max_batch = settings, max_batch
        self._queue: queue.Queue[tuple[str, tuple, Future] | None] = queue.Queue()
        self._db: Database | None = open_database(settings)
        self._pruned_at = 0.0
        self._logged: dict[str, float] = {}  # error name -> when its failure was last logged
        self._failed, self._unlogged = 0, 0  # writes failed since the last commit; of them, not logged
        self._thread = threading.Thread(target=self._run, name="webhook-inbox-writer", daemon=True)
        self._thread.start()

    def add_event(self, source: str, delivery_id: str, event_type: str, body: str, received_at: float,
                  replay_digest: str | None = None, replay_window: float = 0.0, same_event: bool = False) -> Future:
        """Future of True when stored, False when this delivery id was already in the inbox with this body,
        ``CONFLICT`` when it was there with another body: the new body is then kept in quarantine (in the
        same transaction) under ``<delivery id>#sha256:<its digest>``, never dropped. With a
        ``replay_digest``: ``REPLAY`` when that signed message was accepted under another delivery id less
        than ``replay_window`` seconds before ``received_at`` (nothing is stored). ``same_event``: the id names
        the event itself, inside the signed body (Slack's event_id), so another body under it is the same event
        sent again, serialized anew: False (a duplicate, nothing stored or quarantined), never ``CONFLICT``."""
        return self.submit(EVENT, (source, delivery_id, event_type, received_at, body, replay_digest, replay_window,
                                   same_event))

    def add_quarantine(self, source: str, delivery_id: str, event_type: str | None, reason: str, body_b64: str,
                       received_at: float) -> Future:
        return self.submit(INSERT_QUARANTINE, (source, delivery_id, event_type, reason[:1000], body_b64, received_at))

    def add_rejection(self, received_at: float, endpoint: str, remote_addr: str | None, reason: str,
                      content_length: int | None, body_prefix_b64: str | None) -> Future:
        return self.submit(INSERT_REJECTION, (received_at, endpoint, remote_addr, reason, content_length,
                                              body_prefix_b64))

    def submit(self, statement: str, params: tuple) -> Future:
        future: Future = Future()
        self._queue.put((statement, params, future))
        return future

    @property
    def alive(self) -> bool:
        """False once the writing thread has ended: no delivery can be stored (``/healthz`` answers 503)."""
        return self._thread.is_alive()

    def close(self, timeout: float = 10.0) -> None:
        """Finish what is queued, then close the connection."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _take_batch(self) -> tuple[list[tuple[str, tuple, Future]], bool]:
        first = self._queue.get()
        if first is None:
            return [], True
        batch, stop = [first], False
        while len(batch) < self.max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                stop = True
                break
            batch.append(item)
        # a write whose request already gave up (answered 503 after COMMIT_TIMEOUT, so its sender retries) is
        # dropped; the others are marked running, so a request giving up from now on no longer cancels them
        return [item for item in batch if item[2].set_running_or_notify_cancel()], stop

    def _run(self) -> None:
        stop = False
        while not stop:
            batch, stop = self._take_batch()
            if batch:
                try:
                    self._write(batch)
                except Exception as exc:  # the one thread that writes must outlive any batch
                    log.exception("webhook inbox writer: a batch failed unexpectedly")
                    self._fail([item for item in batch if not item[2].done()], exc)
        if self._db is not None:
            self._db.close()

    def _write(self, batch: list[tuple[str, tuple, Future]]) -> bool:
        """Commit ``batch`` in one transaction and resolve its futures; False when it failed. A failed batch
        of several writes is tried again one write at a time, so one write the database refuses (a value
        it cannot store) fails alone instead of answering 503 to every delivery committed beside it; a
        broken connection (an outage) fails the rest at once."""
        results: list[Any] = []
        try:
            if self._db is None:
                self._db = open_database(self.settings)
            self._db.begin()
            self._prune()
            for statement, params, _ in batch:
                if statement is EVENT:
                    results.append(self._event(*params))
                    continue
                cur = self._db.execute(statement, params)
                results.append(cur.rowcount == 1)
                cur.close()
            self._db.commit()
        except Exception as exc:
            self._reset_connection()
            if len(batch) > 1 and self._db is not None:
                for index, item in enumerate(batch):
                    if not self._write([item]) and self._db is None:
                        self._fail(batch[index + 1:], exc)
                        break
                return False
            self._fail(batch, exc)
            return False
        for (_, _, future), result in zip(batch, results, strict=True):
            _settle(future, result)
        if self._failed:
            # once per FAILURE_LOG_SECONDS too, and the error lines' times kept: failures that come and go (a lock
            # now and then, a disk near full) logged two lines per failed write
            now = time.monotonic()
            if now - self._logged.get(RECOVERED, -FAILURE_LOG_SECONDS) >= FAILURE_LOG_SECONDS:
                self._logged[RECOVERED] = now
                log.warning("The webhook inbox commits again, after %d failed writes%s.", self._failed,
                            f" ({self._unlogged} of them not logged one by one)" if self._unlogged else "")
                self._failed, self._unlogged = 0, 0
        return True

    def _fail(self, batch: list[tuple[str, tuple, Future]], exc: Exception) -> None:
        if not batch:
            return
        name = _error_name(exc)
        self._failed += len(batch)
        now = time.monotonic()
        if name in self._logged and now - self._logged[name] < FAILURE_LOG_SECONDS:
            # an outage fails every write, each a line of its own (a full disk with senders retrying logged hundreds
            # a second): one line per error per FAILURE_LOG_SECONDS, and the count when commits work again
            self._unlogged += len(batch)
        else:
            self._logged[name] = now
            log.error("The webhook inbox could not commit %d writes (%s%s): senders get 503 and retry; check the "
                      "inbox database (PROJECTX_WEBHOOK_INBOX or the PostgreSQL settings).", len(batch), name,
                      next((f": {hint}" for code, hint in HINTS.items()
                            if name.partition(" ")[2].startswith(code)), ""))
        for _, _, future in batch:
            _settle(future, error=RuntimeError("webhook inbox write failed"))

    def _event(self, source: str, delivery_id: str, event_type: str, received_at: float, body: str,
               digest: str | None, window: float, same_event: bool = False) -> bool | str:
        claimed = False
        if digest is not None:
            cur = self._db.execute(CLAIM_DIGEST, (source, digest, delivery_id, received_at))
            claimed = cur.rowcount == 1
            cur.close()
            if not claimed:
                rows = self._db.query(SELECT_DIGEST, (source, digest))
                owner, seen_at = rows[0] if rows else (delivery_id, received_at)
                if owner != delivery_id:
                    if seen_at >= received_at - window:
                        return REPLAY
                    self._db.execute(MOVE_DIGEST, (delivery_id, received_at, source, digest)).close()
                    claimed = True  # the last copy was accepted before the window: this is a new delivery
        params = (source, delivery_id, event_type, received_at, body, received_at)
        cur = self._db.execute(INSERT_EVENT, params)
        stored = cur.rowcount == 1
        cur.close()
        if stored:
            return True
        result = self._redelivery(params, same_event)
        if result == CONFLICT and claimed:  # that body was quarantined, not accepted: it claims nothing
            self._db.execute(DROP_DIGEST, (source, digest)).close()
        return result

    def _prune(self) -> None:
        now = time.time()
        if now - self._pruned_at >= PRUNE_EVERY:
            self._db.execute(PRUNE_DIGESTS, (now - self.settings.replay_window_seconds,)).close()
            self._pruned_at = now

    def _redelivery(self, params: tuple, same_event: bool = False) -> bool | str:
        """A delivery id already in the inbox: False for a retry (same body, or any body of ``same_event``),
        CONFLICT for another body."""
        source, delivery_id, event_type, received_at, body, _ = params
        stored = self._db.query(SELECT_BODY, (source, delivery_id))
        if not stored or stored[0][0] == body:
            return False
        if same_event:
            log.info("webhook %s event %s arrived again with other bytes (a retry serialized anew): the first copy "
                     "stands", source, delivery_id[:200])
            return False
        raw = body.encode("utf-8")
        self._db.execute(INSERT_QUARANTINE, (
            source, f"{delivery_id}#sha256:{hashlib.sha256(raw).hexdigest()}", event_type,
            f"conflict: delivery id {delivery_id[:200]} is already in the inbox with a different body; a sender "
            "must give every new body a new delivery id (a retry repeats the same bytes)",
            base64.b64encode(raw).decode(), received_at)).close()
        return CONFLICT

    def _reset_connection(self) -> None:
        try:
            if self._db is not None:
                self._db.rollback()
        except Exception:  # a broken connection: replace it on the next batch
            with contextlib.suppress(Exception):
                self._db.close()
            self._db = None


# What a failed commit's error code means, said in its log line: "OperationalError" alone told a full disk from a
# lock held by another process only by reading the database
HINTS = {"SQLITE_FULL": "the disk holding the inbox is full: free space there",
         "SQLITE_BUSY": "another process holds the inbox's write lock (a long transaction: the CLI, a sensor)",
         "SQLITE_READONLY": "the inbox file or its directory is not writable by this process",
         "53100": "the PostgreSQL server's disk is full"}


def _error_name(exc: BaseException) -> str:
    """A failed commit's exception class and, where the driver gives one, its code (SQLite's ``SQLITE_FULL``,
    ``SQLITE_BUSY``...; PostgreSQL's SQLSTATE): never its message, which may quote a value being written."""
    code = getattr(exc, "sqlite_errorname", None) or getattr(exc, "pgcode", None)
    return f"{type(exc).__name__} {code}" if isinstance(code, str) and code.isascii() and len(code) <= 40 \
        else type(exc).__name__


def _settle(future: Future, result: Any = None, error: Exception | None = None) -> None:
    """Resolve a write's future. The receiver waits ``COMMIT_TIMEOUT`` and then answers 503, which cancels
    the future: ``set_result`` on a cancelled future raised InvalidStateError in the writer thread, which
    ended it (one commit slower than 10 s, a lock held by another process, left every later delivery a
    503 until a restart). Futures are marked running when taken (``_take_batch``), so this guard is for
    any other path. A write that was taken stands (the sender's retry is then a duplicate)."""
    with contextlib.suppress(InvalidStateError):
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
