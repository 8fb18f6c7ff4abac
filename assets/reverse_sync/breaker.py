"""A circuit breaker per connector, persisted in ``reverse_sync.circuit_breakers`` across runs.

Grain: one row per vendor (``state`` closed | open | half_open, consecutive connector-level
``failures``, ``opened_at``, ``last_error``). Only failures that say the *vendor* is unwell count:
5xx, rate limits and auth failures that outlived the HTTP client's retries, and connection errors.
A 4xx about one record (400 validation, 404, 409) dead-letters that record and counts nothing, so
one bad row can never pause a connector.

- closed: writes go; ``threshold`` consecutive connector failures open it.
- open: degraded mode. Outbound writes pause (inbound syncs continue), until ``cooldown_seconds``
  after ``opened_at``; then the next run is half-open.
- half_open: the run tries writes; the first success closes the breaker, the first connector
  failure opens it again for another cool-down.

Not ``enforced`` (the environment's ``circuit_breakers`` switch is off, as outside production):
failures are counted and reported, the failing writes are dead-lettered, but the breaker never
opens, so outbound writes never pause.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pipelines.common.http import VendorAuthError, VendorError
from resources.warehouse import Connection

from .state import SCHEMA, now

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
ROW_LEVEL_STATUSES = frozenset({400, 404, 409, 410, 412, 413, 415, 422})


def is_connector_failure(exc: VendorError) -> bool:
    """True when the failure says the vendor (not the record) is the problem."""
    from .writes import RecordRefused

    if isinstance(exc, RecordRefused):  # a 403 with the vendor's reason about this record (writes.py)
        return False
    if isinstance(exc, VendorAuthError):
        return True
    return exc.status is None or exc.status not in ROW_LEVEL_STATUSES


@dataclass
class Breaker:
    vendor: str
    state: str = CLOSED
    failures: int = 0
    opened_at: datetime | None = None
    last_error: str | None = None
    threshold: int = 5
    cooldown_seconds: float = 300.0
    enforced: bool = True

    @classmethod
    def load(cls, conn: Connection, vendor: str, *, threshold: int, cooldown_seconds: float,
             enforced: bool = True) -> Breaker:
        rows = conn.query(f"select * from {SCHEMA}.circuit_breakers where vendor = %s", (vendor,))
        b = cls(vendor, threshold=threshold, cooldown_seconds=cooldown_seconds, enforced=enforced)
        if rows:
            r = rows[0]
            b.state, b.failures, b.opened_at, b.last_error = r["state"], r["failures"], r["opened_at"], r["last_error"]
        if not enforced:  # switched off (an open state left from when it was on no longer pauses anything)
            b.state, b.opened_at = CLOSED, None
        if b.state == OPEN and b.opened_at is not None and now() - b.opened_at >= timedelta(seconds=cooldown_seconds):
            b.state = HALF_OPEN
        return b

    @property
    def allows_writes(self) -> bool:
        return self.state != OPEN

    def reason(self) -> str:
        if self.opened_at is None:  # not open (a caller asking while it is closed must not fail on the time)
            return (f"circuit {self.state} for {self.vendor} after {self.failures} consecutive failures (last: "
                    f"{self.last_error})")
        until = self.opened_at + timedelta(seconds=self.cooldown_seconds)
        return (f"circuit open for {self.vendor} after {self.failures} consecutive failures (last: "
                f"{self.last_error}); outbound writes pause until {until:%Y-%m-%d %H:%M:%S} UTC, then one "
                "half-open run tries again")

    def success(self) -> None:
        self.state, self.failures, self.last_error = CLOSED, 0, None

    def failure(self, error: str) -> None:
        self.failures += 1
        self.last_error = error[:500]
        if self.enforced and (self.state == HALF_OPEN or self.failures >= self.threshold):
            self.state, self.opened_at = OPEN, now()

    def save(self, conn: Connection) -> None:
        conn.execute(f"delete from {SCHEMA}.circuit_breakers where vendor = %s", (self.vendor,))
        conn.execute(f"insert into {SCHEMA}.circuit_breakers values (%s, %s, %s, %s, %s, %s)",
                     (self.vendor, self.state, self.failures, self.opened_at, self.last_error, now()))
