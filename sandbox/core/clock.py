"""The emulator's clock for record timestamps.

Seed data is spread over the days before a fixed anchor. Writes must look *later* than every seed
record (or incremental connectors would miss them), so the clock starts at max(anchor, real now)
and then ticks with real time. `advance()` lets tests jump forward.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

DEFAULT_ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
FORMAT = "%Y-%m-%d %H:%M:%S"


def parse_anchor(value: str | datetime | None) -> datetime:
    """Accept None, an aware/naive datetime (naive = UTC) or "YYYY-MM-DD[ HH:MM:SS]"."""
    if value is None:
        return DEFAULT_ANCHOR
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SandboxClock:
    """UTC clock: starts at max(anchor, wall clock), advances with wall time plus `advance()` jumps."""

    def __init__(self, anchor: datetime) -> None:
        self.anchor = anchor
        self._start = max(anchor, datetime.now(UTC)).replace(microsecond=0)
        self._mono = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            elapsed = time.monotonic() - self._mono + self._offset
        return self._start + timedelta(seconds=elapsed)

    def now_str(self) -> str:
        """Current time as a ServiceNow-style "YYYY-MM-DD HH:MM:SS" UTC string."""
        return self.now().strftime(FORMAT)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds
