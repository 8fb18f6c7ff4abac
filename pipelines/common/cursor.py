"""An update-time cursor that never loses a row to equal timestamps and never reloads an unchanged one.

Cursor values are UTC timestamps as strings in one consistent, sortable format per resource
(ServiceNow's ``YYYY-MM-DD HH:MM:SS``; sources for other vendors normalise to the same).
Vendors stamp updates to the second, so many rows share one ``sys_updated_on``; a strict ``>``
cursor skips rows written in the boundary second after a sync read it. We re-read a safety
*overlap* window before the cursor and remember the version of every row inside that window:
a re-read row whose version we already loaded is skipped, a changed one goes through.

The cursor lives in dlt resource state, which dlt commits in the same load package as the data, so
it advances only when the load commits.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import UTC, datetime, timedelta

VENDOR_TS_FORMAT = "%Y-%m-%d %H:%M:%S"  # as written by utc_text (strftime drops a year's leading zeros)


def utc_text(when: datetime, sep: str = " ", suffix: str = "") -> str:
    """A naive UTC datetime as ``YYYY-MM-DD HH:MM:SS``, the year always in four digits. ``strftime("%Y")`` writes
    year 999 as ``999``, which sorts after ``2026`` as text (and no ISO parser reads it back): an instant before
    year 1000 had read as newer than every other, and a delete logged at one crashed every run."""
    return (f"{when.year:04d}-{when.month:02d}-{when.day:02d}{sep}"
            f"{when.hour:02d}:{when.minute:02d}:{when.second:02d}{suffix}")


def parse_vendor_ts(value: str) -> datetime:
    """Parse a UTC cursor value: ``YYYY-MM-DD HH:MM:SS`` (ServiceNow) or any ISO-8601 form; naive = UTC.

    Raises ValueError (TypeError for non-strings) when the value is not a timestamp, also when its UTC
    time falls outside years 1-9999 (``9999-12-31T23:59:59-01:00``: Python's OverflowError, which
    callers catching ValueError let through, crashing every run on that record).
    """
    parsed = datetime.fromisoformat(value)
    try:
        return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
    except OverflowError as exc:
        raise ValueError(f"{value!r} is outside years 1-9999 in UTC") from exc


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
        # Our own clock as reading begins: the cursor never passes it (see commit).
        self._opened = utc_text(datetime.now(UTC).replace(tzinfo=None))

    @property
    def start_datetime(self) -> datetime:
        """Where to start reading (naive UTC): the cursor minus the safety overlap."""
        return parse_vendor_ts(self.last_value) - self._overlap

    @property
    def start_value(self) -> str:
        """``start_datetime`` as ``YYYY-MM-DD HH:MM:SS`` (what ServiceNow's encoded query takes)."""
        return utc_text(self.start_datetime)

    def admit(self, row_id: str, cursor_value: str, version: str) -> bool:
        """True if this row version has not been loaded before; records it either way."""
        if self._seen.get(row_id) == version:
            self.skipped_unchanged += 1
            return False
        self._max = max(self._max, cursor_value)
        self._window[row_id] = (cursor_value, version)
        return True

    def forget(self, row_id: str) -> None:
        """Undo this run's :meth:`admit` of ``row_id``: it did not load after all (rejected by a later
        check), so the next run must not take its version as loaded."""
        self._window.pop(row_id, None)

    def unchanged(self, row_id: object, cursor_value: object, version: object) -> bool:
        """True (and counted as skipped) if this is a row version loaded before, inside the overlap.

        A cheap test on raw values, before a re-read row is framed and validated at all; anything
        that is not a plain string is left for validation to judge.
        """
        if (isinstance(cursor_value, str) and cursor_value <= self.last_value
                and isinstance(row_id, str) and self._seen.get(row_id) == version):
            self.skipped_unchanged += 1
            return True
        return False

    def admit_many(self, ids: list[str], values: list[str], versions: list[str]) -> list[bool]:
        """Vectorised :meth:`admit` for a page; keeps the remembered window small as it goes."""
        keep = []
        last, seen = self.last_value, self._seen
        for rid, ts, ver in zip(ids, values, versions, strict=True):
            if ts <= last and seen.get(rid) == ver:
                self.skipped_unchanged += 1
                keep.append(False)
                continue
            keep.append(True)
            if ts > self._max:
                self._max = ts
            self._window[rid] = (ts, ver)
        if len(self._window) > 50_000:
            floor = self._floor(self._max)
            self._window = {k: v for k, v in self._window.items() if v[0] >= floor}
        return keep

    def _floor(self, value: str) -> str:
        return utc_text(parse_vendor_ts(value) - self._overlap)

    def cap(self, as_of: str | None) -> None:
        """Never advance past ``as_of`` (the vendor's clock when reading began): rows changed while
        we paged may have been read in their old version, so the next run must re-read from there."""
        if as_of and self._max > as_of:
            self._max = max(as_of, self.last_value)

    def commit(self) -> None:
        """Write the advanced cursor and the versions inside the new overlap window to state.

        Never past our own clock when the cursor was opened: one record stamped in the future (2099: a
        wrong clock at the vendor, an import) moved it there when no vendor clock capped it (no ``Date``
        header, OneTrust, which sends none), and no later change ever loaded. A cursor already in the
        future (from before) comes back to now. Both only re-read: rows whose version is known are skipped.
        """
        if self._max > self._opened:
            self._max = self._opened
        # Cursor values of one resource share one format, so string comparison orders them.
        floor = self._floor(self._max)
        versions = {
            rid: ver for rid, ver in self._seen.items() if ver.split("|", 1)[0] >= floor
        }
        versions.update({rid: ver for rid, (ts, ver) in self._window.items() if ts >= floor})
        self._state["last_value"] = self._max
        self._state["boundary_versions"] = versions
