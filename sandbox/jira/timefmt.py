"""Jira time formats: epoch milliseconds (UTC) <-> wire strings, and JQL date literals.

- Wire timestamps look like "2026-10-01T12:34:56.789+0000" (ms, offset without colon); rendered in UTC.
- Agile sprint dates look like "2026-10-01T12:34:56.789Z".
- JQL literals "yyyy-MM-dd HH:mm", "yyyy/MM/dd HH:mm", "yyyy-MM-dd", "yyyy/MM/dd" are read in the
  *searching user's* time zone (minute precision); bare integers are epoch milliseconds; relative
  offsets "-15m", "2d", "-1w" are added to now.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

# [0-9], not \d: \d takes any script's digits, so Arabic-Indic digits read as a date [round 27]
_LITERAL = re.compile(r"^([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})(?:\s+([0-9]{1,2}):([0-9]{2}))?$")
_RELATIVE = re.compile(r"^([-+]?)([0-9]{1,7})([wdhm])$")  # Jira refuses larger offsets [unc: the bound]
_UNIT_MS = {"w": 7 * 86_400_000, "d": 86_400_000, "h": 3_600_000, "m": 60_000}


def to_ms(dt: datetime) -> int:
    """Aware datetime -> epoch milliseconds."""
    return round(dt.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def jira_ts(ms: int | None) -> str | None:
    """Epoch ms -> "2026-10-01T12:34:56.789+0000" (None stays None)."""
    if ms is None:
        return None
    dt = from_ms(ms)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def sprint_ts(ms: int | None) -> str | None:
    """Epoch ms -> "2026-10-01T12:34:56.789Z" (Agile/sprint style)."""
    if ms is None:
        return None
    dt = from_ms(ms)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_jira_ts(value: str) -> int:
    """Parse "2026-10-01T12:34:56.789+0000" (or ISO with colon / Z) to epoch ms."""
    text = value.strip().replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    return to_ms(datetime.fromisoformat(text))


def date_only(ms: int) -> str:
    return from_ms(ms).strftime("%Y-%m-%d")


def jql_time(value: str, tz_name: str, now_ms: int) -> int | None:
    """A JQL date operand -> epoch ms, or None if it is not a date.

    Literal dates use the user's time zone `tz_name`; integers are epoch ms; relative offsets
    ("-15m", "-1d", "2w") count from `now_ms`.
    """
    text = value.strip()
    if re.fullmatch(r"-?[0-9]{9,15}", text):  # epoch ms within datetime's range
        return int(text)
    rel = _RELATIVE.match(text)
    if rel:
        sign = -1 if rel.group(1) == "-" else 1
        return now_ms + sign * int(rel.group(2)) * _UNIT_MS[rel.group(3)]
    m = _LITERAL.match(text)
    if not m:
        return None
    year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    hour, minute = int(m.group(4) or 0), int(m.group(5) or 0)
    try:
        local = datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(tz_name))
    except ValueError:
        return None
    return to_ms(local)


_PERIOD_OFFSET = re.compile(r"^\s*([+-]?)([0-9]{1,6})\s*([yMwdhm]?)\s*$")


def start_of(unit: str, now_ms: int, tz_name: str, offset: str | None = None, end: bool = False) -> int | None:
    """JQL startOfDay/Week/Month/Year([offset]) (endOf...: the next one's start) in the user's zone, or None
    when the offset is not one.

    `offset` counts in the function's own unit ("-1": last month) or carries one ("+15d", "2w"). Weeks
    start on Sunday, as in Jira's default (en_US) locale [unc]."""
    m = _PERIOD_OFFSET.match(offset or "0")
    if m is None:
        return None
    local = from_ms(now_ms).astimezone(ZoneInfo(tz_name)).replace(hour=0, minute=0, second=0, microsecond=0)
    own = {"day": "d", "week": "w", "month": "M", "year": "y"}[unit]
    if unit == "day":
        start = local
    elif unit == "week":
        start = local - timedelta(days=(local.weekday() + 1) % 7)
    else:
        start = local.replace(day=1) if unit == "month" else local.replace(month=1, day=1)
    try:  # an offset past year 9999 (or before year 1) is no date: None, the caller's 400
        if end:
            start = _shift(start, 1, own)
        return to_ms(_shift(start, int(m.group(2)) * (-1 if m.group(1) == "-" else 1), m.group(3) or own))
    except (ValueError, OverflowError):
        return None


def _shift(t: datetime, n: int, unit: str) -> datetime:
    if unit in ("y", "M"):
        months = t.month - 1 + n * (12 if unit == "y" else 1)
        return t.replace(year=t.year + months // 12, month=months % 12 + 1)
    return t + {"w": timedelta(weeks=n), "d": timedelta(days=n), "h": timedelta(hours=n),
                "m": timedelta(minutes=n)}[unit]


_UNITS = {"w": 5 * 8 * 3600, "d": 8 * 3600, "h": 3600, "m": 60}
_DURATION = re.compile(r"^\s*(?:([0-9]{1,12}(?:\.[0-9]{1,6})?)\s*([wdhm])\s*)+$")
_PART = re.compile(r"([0-9]{1,12}(?:\.[0-9]{1,6})?)\s*([wdhm])")


def parse_duration(text: str) -> int | None:
    """Jira duration "1w 2d 3h 30m" (5-day week, 8-hour day; a bare number is minutes) -> seconds."""
    text = str(text).strip().lower()
    if text.isascii() and text.isdecimal():
        return int(text) * 60 if len(text) <= 12 else None
    if not text or not _DURATION.match(text):
        return None
    return round(sum(float(n) * _UNITS[u] for n, u in _PART.findall(text)))


def format_duration(seconds: int) -> str:
    """Seconds -> Jira's pretty duration ("1d 2h", "30m")."""
    parts, rest = [], int(seconds)
    for unit in ("w", "d", "h", "m"):
        n, rest = divmod(rest, _UNITS[unit])
        if n:
            parts.append(f"{n}{unit}")
    return " ".join(parts) or "0m"
