"""One health read at a time, and no request waiting on it for long.

A health read (:meth:`HealthReader.snapshot`) reads the warehouse, the Dagster instance and the webhook
inbox. Each of those can hang instead of failing: a PostgreSQL warehouse whose ``ops.health_checks`` a
migration or a long transaction holds locked, a Dagster storage that accepts queries and never answers.
Every page request and every scrape then waited as long as it hung, each concurrent request queued a
read of its own behind it, and the server's thread pool (shared with the webhook receiver) filled up.

:class:`BoundedSnapshots` runs the read in a background thread, at most one at a time; requests that
arrive while it runs share it. A request waits at most ``HEALTH_READ_TIMEOUT_SECONDS`` (default 5) from
the read's start; past that it is answered at once with the figures last read (or, before any, every
check *unknown*), degraded, naming the input that has not answered. The read left running is not
repeated until it ends; a PostgreSQL warehouse read is also cut off by the server at the same bound
(``statement_timeout``, see :mod:`webhooks.operations.state`).

:class:`OneBoundedCall` is that mechanism on its own (one call in flight in a background thread, shared,
waited for a bounded time from its start); :mod:`webhooks.operations.metrics` uses it too, for feeding the
new sync events into the counters.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace

from assets.health import measure
from assets.health.inputs import CONNECTORS, ConnectorHealth
from resources.flags import Flag, flag
from webhooks.operations.state import Snapshot, read_timeout
from webhooks.operations.vault_probe import UNREACHABLE

log = logging.getLogger(__name__)

NAMES = {"warehouse": "warehouse", "dagster": "Dagster instance", "inbox": "webhook inbox",
         "notifications": "notification outbox"}
FIXES = {"warehouse": "a migration or a long transaction may hold a lock on its health tables, or the database "
                      "is overloaded",
         "dagster": "check the storage DAGSTER_HOME's dagster.yaml names (is that database up and answering?)",
         "inbox": "check PROJECTX_WEBHOOK_INBOX (is its database locked or overloaded?)",
         "notifications": "is the database of the notification outbox locked or overloaded?"}
STUCK = ("the {name} has not answered for {waited:.0f} s (HEALTH_READ_TIMEOUT_SECONDS={timeout:g}): {fix}; "
         "showing {shown}")
FAILED = "the health read failed ({error}): see the service's log; showing {shown}"


class Overdue(FutureTimeout):
    """The call in flight has not ended within the bound; ``waited`` seconds since it started, ``call`` its
    number (1 for the first call made)."""

    def __init__(self, waited: float, call: int):
        super().__init__(f"no answer after {waited:.1f} s")
        self.waited, self.call = waited, call


class OneBoundedCall:
    """At most one call of ``fn`` in flight, run in a background thread; callers arriving while it runs
    share it, each waiting at most ``timeout`` seconds from the call's start."""

    def __init__(self, fn, name: str):
        self.fn, self.name = fn, name
        self._lock = threading.Lock()
        self._future: Future | None = None  # the call in flight, and when it started (time.monotonic)
        self._started = 0.0
        self.calls = 0

    def result(self, timeout: float, deadline: float | None = None):
        """The result of the call in flight (one is started if none is); raises :class:`Overdue` past the
        bound, or past ``deadline`` (a ``time.monotonic()`` instant) when that comes first (the call goes on,
        and is not repeated until it ends), or what the call raised."""
        with self._lock:
            if self._future is None:
                self._future, self._started, self.calls = Future(), time.monotonic(), self.calls + 1
                threading.Thread(target=self._run, args=(self._future,), name=self.name, daemon=True).start()
            future, started, call = self._future, self._started, self.calls
        until = started + timeout if deadline is None else min(started + timeout, deadline)
        try:
            return future.result(timeout=max(0.0, until - time.monotonic()))
        except FutureTimeout:
            raise Overdue(time.monotonic() - started, call) from None

    def _run(self, future: Future) -> None:
        try:
            value = self.fn()
        except BaseException as exc:
            with self._lock:
                self._future = None
            future.set_exception(exc)
            return
        with self._lock:
            self._future = None
        future.set_result(value)


class BoundedSnapshots:
    """The health snapshot for a request, from the one read in flight, waited for a bounded time."""

    def __init__(self, reader):
        self.reader = reader
        self._last: Snapshot | None = None  # the last read that finished
        self._call = OneBoundedCall(self._read, "health-read")

    @property
    def reads(self) -> int:
        return self._call.calls

    def get(self) -> Snapshot:
        timeout = read_timeout()
        try:
            return self._call.result(timeout)
        except Overdue as overdue:
            stage = getattr(self.reader, "stage", "warehouse")
            return self._fallback(stage, STUCK.format(
                name=NAMES.get(stage, stage), waited=overdue.waited, timeout=timeout,
                fix=FIXES.get(stage, "see the service's log"), shown=self._shown()))
        except Exception as exc:  # a bug or an input of a shape no reader expected: degraded, never a 500
            return self._fallback("snapshot", FAILED.format(error=type(exc).__name__, shown=self._shown()))

    def _read(self) -> Snapshot:
        try:
            snap = self.reader.snapshot()
        except BaseException as exc:
            log.warning("health: the health read failed: %r", exc)
            raise
        self._last = snap
        return snap

    def _shown(self) -> str:
        last = self._last
        return (f"the figures read at {last.now:%Y-%m-%d %H:%M:%S} UTC" if last is not None
                else "every check as unknown until it answers")

    def _fallback(self, problem: str, message: str) -> Snapshot:
        """The last snapshot read (else one of unknowns), with Vault's state now and ``problem`` named."""
        vault = self.reader.vault.status()  # never waits for Vault
        base = self._last or _unknowns(self.reader, message, vault.flags)
        problems = {k: v for k, v in base.problems.items() if k != "vault"}
        if vault.state == UNREACHABLE:
            problems["vault"] = vault.message
        problems[problem] = message
        return replace(base, problems=problems, vault=vault)


def _unknowns(reader, why: str, vault_flags) -> Snapshot:
    """Every connector with every check unknown (nothing read yet), its flag from the file, the
    environment and the Vault flags last read (no I/O that could hang)."""
    connectors = {}
    for connector in CONNECTORS:
        try:
            connector_flag = flag(connector, reader.env.name, vault_flags or {})
        except Exception:  # a nonsense value: the finished read will name it
            connector_flag = Flag(connector, True, "invalid setting")
        connectors[connector] = ConnectorHealth(connector, connector_flag,
                                                [measure.unknown(connector, check, why) for check in measure.CHECKS])
    notifications = measure.unknown("notifications", "notification_backlog", why)
    return Snapshot(reader.clock(), reader.env, connectors, notifications)
