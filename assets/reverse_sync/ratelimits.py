"""A push's bounds on a vendor that keeps answering 429 (rate limited).

The HTTP client waits out each 429 (``Retry-After``, an adaptive gap) up to 20 times a request, about
100 s a record against a vendor that throttles for good, with no end for the run. A push therefore has
two bounds of its own, read when it starts (a bad value fails before any vendor call):

- ``PROJECTX_PUSH_RATE_LIMIT_SECONDS`` (default 300): seconds of 429 waits the run may spend, summed over
  the records written at once. A wait that would overrun it is not made: that request fails (its record
  is dead-lettered, the 429 counted by the breaker).
- ``PROJECTX_PUSH_RATE_LIMITED_RECORDS`` (default 3): records in a row whose write ended in 429.

Past either, the records not yet sent are *deferred*: no vendor call, a dead letter whose reason starts
``deferred:`` and names the setting, outcome ``deferred_rate_limited`` in the plan, counted in the report;
the next push sends them first-come like any dead letter. Nothing is dropped.
"""

from __future__ import annotations

import threading
from typing import Any

from pipelines.common.http import RateLimitBudget, VendorError
from resources.evidence.limits import env_int

SECONDS, RECORDS = "PROJECTX_PUSH_RATE_LIMIT_SECONDS", "PROJECTX_PUSH_RATE_LIMITED_RECORDS"
DEFAULT_SECONDS, DEFAULT_RECORDS = 300, 3


class RateLimits:
    """One run's state: the budget put on the writer's sessions, and the records rate-limited in a row."""

    def __init__(self, vendor: str, seconds: int, records: int):
        self.vendor, self.records = vendor, records
        self.budget = RateLimitBudget(seconds, f"{SECONDS}={seconds}")
        self.in_a_row = 0
        self.deferring: str | None = None  # why the records not yet sent wait for the next push
        self._lock = threading.Lock()
        self._sessions: list[Any] = []

    @classmethod
    def from_env(cls, vendor: str) -> RateLimits:
        seconds = env_int(SECONDS, DEFAULT_SECONDS, unit="a number of seconds", example="300")
        records = env_int(RECORDS, DEFAULT_RECORDS, unit="a number of records", example="3")
        return cls(vendor, seconds or DEFAULT_SECONDS, records or DEFAULT_RECORDS)

    def install(self, writer: Any) -> None:
        """Put the budget on every HTTP session the writer sends through (its own, its client's)."""
        for holder in (writer, getattr(writer, "client", None)):
            session = getattr(holder, "session", None)
            if session is not None and hasattr(session, "rate_budget") and session not in self._sessions:
                session.rate_budget = self.budget
                self._sessions.append(session)

    def uninstall(self) -> None:
        for session in self._sessions:
            session.rate_budget = None
        self._sessions.clear()

    def succeeded(self) -> None:
        with self._lock:
            self.in_a_row = 0

    def failed(self, exc: VendorError) -> None:
        """A record's write failed: count it when a 429 ended it, and decide whether to defer the rest."""
        with self._lock:
            self.in_a_row = self.in_a_row + 1 if exc.status == 429 else 0
            if self.deferring:
                return
            if self.budget.exhausted:
                self.deferring = (f"the push's budget for rate-limit waits is spent ({self.budget.seconds:.0f} s, "
                                  f"{SECONDS}; raise it to wait longer per run)")
            elif self.in_a_row >= self.records:
                self.deferring = (f"{self.in_a_row} records in a row ended rate-limited ({RECORDS}={self.records}; "
                                  "raise it to try more records per run)")

    def reason(self) -> str:
        return (f"deferred: {self.vendor} kept answering 429 (rate limited) and {self.deferring}, so this record "
                "was not sent in this run; the next push sends it")
