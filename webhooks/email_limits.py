"""Bounds on what the e-mail bridge keeps in quarantine, and the Message-ID key scoped by sender.

Every message the bridge rejects (unparseable, past the MIME limits, a sender not on
``EMAIL_BRIDGE_ALLOWED_SENDERS``, a Message-ID conflict) is kept with its raw bytes for review: without
a bound a peer could fill the disk with junk. So, within a rolling hour, at most
``EMAIL_BRIDGE_QUARANTINE_PER_HOUR`` (default 100) rejected messages and
``EMAIL_BRIDGE_QUARANTINE_MB_PER_HOUR`` (default 100) MB of them per peer (the connecting IP) and per
envelope sender; past that the DATA is answered ``450 4.7.1`` with the time to retry after: the
sending server queues the message and retries, nothing is stored and nothing is lost. The first
rejected message of a window is always admitted, whatever its size. Past ``EMAIL_BRIDGE_QUARANTINE_MAX_MB``
(default 2048) MB of raw quarantined bytes in all (the bridge's own copies, by distinct sha256, of rows
still in ``quarantine``: deleting reviewed rows frees room, seen within a minute) a rejected message is
answered ``452 4.3.1``. Valid evidence from allowed senders never reaches quarantine, so these limits
never refuse it. Each refusal is counted (``QuarantineLimits.refused``) and logged at warning once per
window per peer or sender. The counts of the window live in memory (a restart forgets them); the
sizes live in the spool's ``quarantine_sizes`` table (the bridge's own, never copied to the warehouse).

Message-IDs are de-duplicated per sender: the ``messages`` key is ``from:<sender> <Message-ID>`` (the
From address lower-cased and percent-encoded, so the key is unambiguous), and a forger who sends a
partner's future Message-ID first claims only its own key. Spools written before this kept the bare
Message-ID as the key: such a row still de-duplicates the same sender's retry (same fingerprint: the
retry keeps the old key, so its evidence ids are the old ones), and a different content under it is held
as before when that row's evidence came from this sender (or from no one known), else it is another
sender's message under its own key.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

from resources.evidence.limits import env_int

log = logging.getLogger(__name__)
PER_HOUR = 100
MB_PER_HOUR = 100
MAX_MB = 2048
WINDOW = 3600.0
RECOUNT_SECONDS = 60.0  # the total is read again from the spool at most this often
SIZES_SCHEMA = "create table if not exists quarantine_sizes (sha256 text primary key, size_bytes integer not null)"


class QuarantineRefused(Exception):
    """A rejected message past a quarantine bound: ``reply`` is the SMTP answer (4xx, retry later)."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


class QuarantineLimits:
    """Per-peer and per-sender rolling-window bounds and a total cap on quarantined bytes."""

    def __init__(self, per_window: int | None = None, bytes_per_window: int | None = None,
                 max_bytes: int | None = None, window: float = WINDOW,
                 clock: Callable[[], float] = time.time) -> None:
        self.per_window = int(per_window if per_window is not None
                              else env_int("EMAIL_BRIDGE_QUARANTINE_PER_HOUR", PER_HOUR, unit="a number of messages",
                                      example="100", minimum=0))
        mb_per_hour = env_int("EMAIL_BRIDGE_QUARANTINE_MB_PER_HOUR", MB_PER_HOUR, unit="a number of MB",
                              example="100", minimum=0)
        self.bytes_per_window = int(bytes_per_window if bytes_per_window is not None else mb_per_hour * 2**20)
        self.max_bytes = int(max_bytes if max_bytes is not None
                             else env_int("EMAIL_BRIDGE_QUARANTINE_MAX_MB", MAX_MB, unit="a number of MB",
                                     example="2048", minimum=0) * 2**20)
        self.window, self.clock = window, clock
        self.refused: Counter[str] = Counter()  # "peer", "sender", "full": refusals since start
        self._events: dict[tuple[str, str], deque[tuple[float, int]]] = {}
        self._warned: dict[tuple[str, str], float] = {}
        self._total: int | None = None
        self._counted_at = 0.0
        self._swept_at = 0.0
        self._lock = threading.Lock()

    def attach(self, db: sqlite3.Connection, own_dir: Path) -> None:
        """Create the sizes table and fill it for quarantine rows written before it (their files' sizes)."""
        db.execute(SIZES_SCHEMA)
        prefix = own_dir.resolve().as_uri() + "/"
        rows = db.execute("select distinct sha256, storage_uri from quarantine where sha256 not in "
                          "(select sha256 from quarantine_sizes)").fetchall()
        for digest, uri in rows:
            if uri.startswith(prefix):
                path = Path(unquote(urlparse(uri).path))
                size = path.stat().st_size if path.is_file() else 0
                db.execute("insert or ignore into quarantine_sizes values (?, ?)", (digest, size))
        db.commit()

    def admit(self, db: sqlite3.Connection, peer: str | None, sender: str, digest: str, size: int) -> None:
        """Record one rejected message about to be quarantined, or raise QuarantineRefused (nothing
        recorded). The caller holds the spool's lock; ``db`` is the spool."""
        with self._lock:
            now = self.clock()
            self._sweep(now)
            known = db.execute("select 1 from quarantine_sizes where sha256 = ?", (digest,)).fetchone()
            added = 0 if known else size
            total = self._current_total(db, now)
            if added and total + added > self.max_bytes:
                self._refuse("full", "", now, "452 4.3.1 The quarantine for rejected mail is full "
                             "(EMAIL_BRIDGE_QUARANTINE_MAX_MB): message not accepted, try again later")
            keys = [("sender", sender)] + ([("peer", peer)] if peer else [])
            for key in keys:
                events = self._events.get(key, deque())
                while events and events[0][0] <= now - self.window:
                    events.popleft()
                count, held = len(events), sum(s for _, s in events)
                if count >= self.per_window or (count and held + size > self.bytes_per_window):
                    retry = datetime.fromtimestamp(events[0][0] + self.window, UTC).strftime("%H:%M:%S")
                    who = "this peer" if key[0] == "peer" else "this envelope sender"
                    self._refuse(key[0], key[1], now,
                                 f"450 4.7.1 Too many rejected messages from {who} (limit {self.per_window} "
                                 f"messages / {self.bytes_per_window // 2**20} MB per hour): "
                                 f"not accepted, try again after {retry} UTC")
            for key in keys:
                self._events.setdefault(key, deque()).append((now, size))
            if added:
                db.execute("insert or ignore into quarantine_sizes values (?, ?)", (digest, size))
                self._total = total + added

    def _current_total(self, db: sqlite3.Connection, now: float) -> int:
        if self._total is None or now - self._counted_at >= RECOUNT_SECONDS or now < self._counted_at:
            self._total = int(db.execute("select coalesce(sum(size_bytes), 0) from quarantine_sizes where sha256 in "
                                         "(select sha256 from quarantine)").fetchone()[0])
            self._counted_at = now
        return self._total

    def _refuse(self, kind: str, who: str, now: float, reply: str) -> None:
        self.refused[kind] += 1
        key = (kind, who)
        if key not in self._warned or now - self._warned[key] >= self.window:
            self._warned[key] = now
            log.warning("e-mail bridge: rejected mail refused with %s (%s %s; %d refused so far): %s",
                        reply[:3], kind, who or "-", self.refused[kind], reply)
        raise QuarantineRefused(reply)

    def _sweep(self, now: float) -> None:
        """Forget events older than the window (every key's, at most once a minute)."""
        if now - self._swept_at < RECOUNT_SECONDS and now >= self._swept_at:
            return
        self._swept_at = now
        for key in list(self._events):
            events = self._events[key]
            while events and events[0][0] <= now - self.window:
                events.popleft()
            if not events:
                del self._events[key]
        for key in [k for k, t in self._warned.items() if now - t >= self.window]:
            del self._warned[key]


def scoped_key(sender: str, message_id: str) -> str:
    """The ``messages`` key of a Message-ID: scoped by the From address (lower-cased, percent-encoded)."""
    return f"from:{quote(sender, safe='@.+-_=')} {message_id}"


def claim(db: sqlite3.Connection, sender: str, message_key: str, fingerprint: str, received: str,
          by_message_id: bool) -> tuple[str, bool]:
    """Look the message up and claim its key; returns (the key its evidence ids derive from, reused:
    seen before with different content). The caller holds the spool's lock and commits."""
    key = scoped_key(sender, message_key) if by_message_id else message_key
    seen = db.execute("select fingerprint from messages where message_key = ?", (key,)).fetchone()
    if seen is None and by_message_id:  # a row of a spool written before the key was scoped
        legacy = db.execute("select fingerprint from messages where message_key = ?", (message_key,)).fetchone()
        if legacy is not None:
            if legacy[0] == fingerprint:
                return message_key, False
            senders = {r[0] for r in db.execute("select distinct source_email from evidence where message_key = ?",
                                                (message_key,))}
            if not senders or sender in senders:
                return message_key, True
    reused = seen is not None and seen[0] != fingerprint
    if not reused:
        db.execute("insert or ignore into messages values (?, ?, ?)", (key, fingerprint, received))
    return key, reused
