"""Vault as the health page sees it: the feature flags it holds, read in the background.

A Vault that accepts the connection and never answers held a page request for ``VAULT_TIMEOUT_SECONDS``
(default 5) every time the flags' 30-second cache ran out. Here a page request never waits for Vault:
it starts a read when the last one is 30 s old (at most one in flight, each bounded by
``VAULT_TIMEOUT_SECONDS``) and is served the flags last read, marked with their age, meanwhile. Only the
very first request waits a moment (``FIRST_WAIT_SECONDS``) so a healthy Vault's flags show at once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from resources.flags import VAULT_CACHE_SECONDS, read_vault_flags

log = logging.getLogger(__name__)

OFF, OK, CHECKING, STALE, UNREACHABLE = "off", "ok", "checking", "stale", "unreachable"
FIRST_WAIT_SECONDS = 0.2
# VAULT_TIMEOUT_SECONDS bounds each socket read, not a whole flags read (a login and a read, and a Vault
# trickling bytes keeps every socket read short): a read still running after this many timeouts is left
# behind, its answer ignored, and a new one may start; at most MAX_ABANDONED such threads at a time.
ABANDON_AFTER = 3
MAX_ABANDONED = 4


@dataclass(frozen=True)
class VaultStatus:
    """What the page shows of Vault: its state, the flags last read (None: none yet, the file's stand),
    their age in seconds, and a sentence naming the fix when Vault is unreachable."""

    state: str
    flags: dict[str, Any] | None = None
    age_seconds: float | None = None
    message: str = ""


def _timeout() -> float:
    from resources.vault_auth import vault_timeout

    try:
        return vault_timeout()
    except ValueError:  # a bad setting fails the read itself, which names it
        return 5.0


class VaultProbe:
    """The flags at ``integrations/<env>/flags``, refreshed by one background thread at a time."""

    def __init__(self, env_name: str, *, read: Callable[[str], dict[str, Any]] = read_vault_flags,
                 clock: Callable[[], float] = time.monotonic, max_age: float = VAULT_CACHE_SECONDS):
        self.env_name, self._read, self._clock, self.max_age = env_name, read, clock, max_age
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._started_at: float | None = None  # of the read in flight
        self._flags: dict[str, Any] | None = None  # the last successful read, and when
        self._flags_at: float | None = None
        self._error: str | None = None  # the last read's failure (None: it succeeded), and when it ended
        self._tried_at: float | None = None
        self._generation = 0  # of the read in flight: an abandoned read's answer is ignored
        self._abandoned: list[threading.Thread] = []
        self.probes = 0

    def status(self) -> VaultStatus:
        """Vault's state now, without waiting for it (but :data:`FIRST_WAIT_SECONDS` on the first call)."""
        if not os.environ.get("VAULT_ADDR"):
            return VaultStatus(OFF)
        with self._lock:
            first = self._tried_at is None and self._thread is None
            thread = self._start_if_due()
        if first and thread is not None:
            thread.join(FIRST_WAIT_SECONDS)
        return self._describe()

    def _start_if_due(self) -> threading.Thread | None:
        """Start a read if none is in flight and the last ended ``max_age`` ago; called under the lock."""
        now = self._clock()
        self._abandoned = [t for t in self._abandoned if t.is_alive()]
        if self._thread is not None and self._started_at is not None and \
                now - self._started_at > ABANDON_AFTER * _timeout() and len(self._abandoned) < MAX_ABANDONED:
            self._abandoned.append(self._thread)
            self._error = (f"Vault at VAULT_ADDR did not finish a read in {now - self._started_at:.0f} s "
                           f"(VAULT_TIMEOUT_SECONDS={_timeout():g} per request): check VAULT_ADDR and Vault's health")
            self._thread = self._started_at = None
            self._tried_at = None  # due again at once
        if self._thread is None and (self._tried_at is None or now - self._tried_at >= self.max_age):
            self._started_at, self.probes, self._generation = now, self.probes + 1, self._generation + 1
            self._thread = threading.Thread(target=self._probe, args=(self._generation,), name="health-vault-probe",
                                            daemon=True)
            self._thread.start()
        return self._thread

    def _probe(self, generation: int = 0) -> None:
        try:
            flags, error = self._read(self.env_name), None
        except Exception as exc:  # its text names the fix and no secret (resources.secrets), never the address
            flags, error = None, " ".join(str(exc).split())[:300] or type(exc).__name__
            log.warning("health: Vault flags unreadable: %s", type(exc).__name__)
        with self._lock:
            if generation != self._generation:
                return  # left behind as stuck: a newer read owns the state
            now = self._clock()
            if flags is not None:
                self._flags, self._flags_at = flags, now
            self._error, self._tried_at = error, now
            self._thread = self._started_at = None

    def _describe(self) -> VaultStatus:
        with self._lock:
            now = self._clock()
            age = None if self._flags_at is None else max(0.0, now - self._flags_at)
            flags, error, started = self._flags, self._error, self._started_at
        served = (f"feature flags as read from Vault {age:.0f} s ago" if age is not None
                  else "feature flags from feature_flags.yml and the environment")
        waited = None if started is None else max(0.0, self._clock() - started)
        if waited is not None and waited > 2 * _timeout():  # a login and a read, each bounded by the timeout
            return VaultStatus(UNREACHABLE, flags, age, (
                f"Vault at VAULT_ADDR has not answered for {waited:.0f} s (VAULT_TIMEOUT_SECONDS={_timeout():g}); "
                f"showing {served}: start or unseal it, or check VAULT_ADDR"))
        if error is not None:
            return VaultStatus(UNREACHABLE, flags, age, (
                f"{error}; showing {served}, read again every {self.max_age:.0f} s"))
        if flags is None:
            return VaultStatus(CHECKING, None, None, f"reading Vault (for {waited or 0:.1f} s); showing {served}")
        if waited is not None:
            return VaultStatus(STALE, flags, age, f"{served}; reading them again")
        return VaultStatus(OK, flags, age, served)
