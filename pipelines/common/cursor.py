"""An update-time cursor that never loses a row to equal timestamps and never reloads an unchanged one.

Vendors stamp updates to the second, so many rows share one ``sys_updated_on``; a strict ``>``
cursor skips rows written in the boundary second after a sync read it. We re-read a safety
*overlap* window before the cursor and remember the version of every row inside that window:
a re-read row whose version we already loaded is skipped, a changed one goes through.

The cursor lives in dlt resource state, which dlt commits in the same load package as the data, so
it advances only when the load commits.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import datetime, timedelta

VENDOR_TS_FORMAT = "%Y-%m-%d %H:%M:%S"


def parse_vendor_ts(value: str) -> datetime:
    """Parse a ServiceNow-style UTC timestamp ``YYYY-MM-DD HH:MM:SS``; raise ValueError if malformed."""
    return datetime.strptime(value, VENDOR_TS_FORMAT)


class OverlapCursor:
    """Cursor over a string timestamp column, kept in ``state`` (a dlt resource state dict)."""

    def __init__(self, state: MutableMapping, *, initial_value: str, overlap_seconds: int):
        self._state = state
        self.last_value: str = state.get("last_value", initial_value)
        self._seen: dict[str, str] = dict(state.get("boundary_versions", {}))
        self._overlap = timedelta(seconds=overlap_seconds)
        self._max = self.last_value
        self._window: dict[str, tuple[str, str]] = {}
        self.skipped_unchanged = 0

    @property
    def start_value(self) -> str:
        """Where to start reading: the cursor minus the safety overlap."""
        start = parse_vendor_ts(self.last_value) - self._overlap
        return start.strftime(VENDOR_TS_FORMAT)

    def admit(self, row_id: str, cursor_value: str, version: str) -> bool:
        """True if this row version has not been loaded before; records it either way."""
        if self._seen.get(row_id) == version:
            self.skipped_unchanged += 1
            return False
        self._max = max(self._max, cursor_value)
        self._window[row_id] = (cursor_value, version)
        return True

    def commit(self) -> None:
        """Write the advanced cursor and the versions inside the new overlap window to state."""
        floor = (parse_vendor_ts(self._max) - self._overlap).strftime(VENDOR_TS_FORMAT)
        versions = {
            rid: ver for rid, ver in self._seen.items() if ver.split("|", 1)[0] >= floor
        }
        versions.update({rid: ver for rid, (ts, ver) in self._window.items() if ts >= floor})
        self._state["last_value"] = self._max
        self._state["boundary_versions"] = versions
