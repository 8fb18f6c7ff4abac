"""The occurrences of a schedule entry (cmn_schedule_span) near a change's window, for the conflict check.

A span without a repeat (`repeat_type` empty) is its [start_date_time, end_date_time]. Repeats expanded
here, the span's first occurrence being its own start and each later one lasting as long:
- `daily`: every `repeat_count` days (1 when empty);
- `weekdays` / `weekends`: every Monday to Friday / Saturday and Sunday;
- `weekly`: on the `days_of_week` (digits, 1 Monday .. 7 Sunday; empty: the start's weekday) of every
  `repeat_count`-th week counted from the start's week;
until `repeat_until` (a date, inclusive; empty: for ever). Times are wall times in the schedule's time
zone, so a weekly 01:00 window stays at 01:00 local across daylight-saving changes; occurrences come back
as UTC "YYYY-MM-DD HH:MM:SS" pairs. [unc: the field names and the digit coding of days_of_week follow the
schedule form; monthly and yearly repeats are not expanded (the first occurrence only).]
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from sandbox.core.numbers import ascii_int

FMT = "%Y-%m-%d %H:%M:%S"
REPEATS = ("daily", "weekdays", "weekends", "weekly")


def occurrences(span: dict[str, str], zone: str, window: tuple[str, str],
                moment: Callable[[str, str], str]) -> list[tuple[str, str]]:
    """The span's occurrences (UTC pairs) that may touch `window` (UTC); all of a non-repeating span."""
    first = (moment(span["start_date_time"], zone), moment(span["end_date_time"], zone))
    kind = span.get("repeat_type", "")
    if kind not in REPEATS or not (window[0] and window[1]):
        return [first]
    local = (moment(span["start_date_time"], ""), moment(span["end_date_time"], ""))  # wall times as written
    try:
        start, end = (datetime.strptime(x, FMT) for x in local)
        lo, hi = (datetime.strptime(x, FMT) for x in window)
    except ValueError:
        return [first]
    length, until = end - start, _until(span.get("repeat_until", ""))
    if span["start_date_time"].strip().endswith("Z"):
        zone = ""  # written in UTC: the occurrences are too
    # ascii_int, not isdecimal() + int(): a written '٣' read as 3, 5,000 digits a 500 [round 27]
    every = ascii_int(span.get("repeat_count", "")) or 1
    days = {int(c) for c in span.get("days_of_week", "") if c in "1234567"} or {start.isoweekday()}
    out = []
    day = max(start.date(), (lo - length).date() - timedelta(days=2))
    while day <= hi.date() + timedelta(days=2) and (until is None or day <= until):
        if _matches(kind, day, start.date(), every, days):
            at = datetime.combine(day, start.time())
            out.append((moment(at.strftime(FMT), zone), moment((at + length).strftime(FMT), zone)))
        day += timedelta(days=1)
    return out


def _matches(kind: str, day: date, first: date, every: int, days: set[int]) -> bool:
    if kind == "daily":
        return (day - first).days % every == 0
    if kind == "weekdays":
        return day.isoweekday() <= 5
    if kind == "weekends":
        return day.isoweekday() >= 6
    weeks = ((day - timedelta(days=day.weekday())) - (first - timedelta(days=first.weekday()))).days // 7
    return day.isoweekday() in days and weeks % every == 0


def _until(text: str) -> date | None:
    try:
        return datetime.strptime(text.strip()[:10], "%Y-%m-%d").date() if text.strip() else None
    except ValueError:
        return None
