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
        if self._thread is None and (self._tried_at is None or now - self._tried_at >= self.max_age):
            self._started_at, self.probes = now, self.probes + 1
            self._thread = threading.Thread(target=self._probe, name="health-vault-probe", daemon=True)
            self._thread.start()
        return self._thread

    def _probe(self) -> None:
        try:
            flags, error = self._read(self.env_name), None
        except Exception as exc:  # its text names the fix and no secret (resources.secrets), never the address
            flags, error = None, " ".join(str(exc).split())[:300] or type(exc).__name__
            log.warning("health: Vault flags unreadable: %s", type(exc).__name__)
        with self._lock:
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
        if waited is not None and waited > _timeout():
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
