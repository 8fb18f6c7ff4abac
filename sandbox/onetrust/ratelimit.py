"""OneTrust's account-level rate limits (vendor-apis.md §3.7): 20,000 requests a minute and 200,000
an hour in production; a request over either answers 429 with `Retry-After` (seconds left in the
window), `ot-period` (`MINUTE` or `HOUR`), `ot-ratelimit-event-id`, `ot-request-made` and
`ot-requests-allowed`. Exceeding a limit blocks traffic for the rest of that minute/hour.

Windows are fixed and open with their first request [unc: OneTrust does not say whether they are
calendar-aligned]. Every `/api/` request counts, the token endpoint included.
"""

from __future__ import annotations

import threading
import time

PERIODS = (("MINUTE", 60.0), ("HOUR", 3600.0))


class RateLimiter:
    """Fixed-window counters per period; `limits` maps a period to its allowance (None: unlimited)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, list[float]] = {p: [-1e12, 0.0] for p, _ in PERIODS}

    def hit(self, limits: dict[str, int | None]) -> list[tuple[str, str]] | None:
        """Count one request; the 429 headers (without the event id) if it is over a limit, else None."""
        now = time.monotonic()
        over = None
        with self._lock:
            for period, length in PERIODS:
                window = self._windows[period]
                if now - window[0] >= length:
                    window[0], window[1] = now, 0
                window[1] += 1
                limit = limits.get(period)
                if over is None and limit and window[1] > limit:
                    wait = max(1, int(length - (now - window[0]) + 0.999))
                    over = [("Retry-After", str(wait)), ("ot-period", period),
                            ("ot-request-made", str(int(window[1]))), ("ot-requests-allowed", str(limit))]
        return over

    def reset(self) -> None:
        with self._lock:
            for window in self._windows.values():
                window[0], window[1] = -1e12, 0
