"""Date parts of encoded queries: `javascript:gs.*` moments and the date operators the condition
builder (and PySNC users copying its queries) emit.

- moments: gs.dateGenerate('d','t'|'start'|'end'), nowNoTZ/nowDateTime, minutes/hours/days/months/
  quarters/years AgoStart/AgoEnd(n), beginningOf*/endOf* for Today, Yesterday, Tomorrow,
  {This,Last,Next,Current}{Minute,Hour,Week,Month,Quarter,Year}, Last<n>{Minutes,Hours,Days,Months}.
- `ON<label>@<start>@<end>` / `NOTON...`: inside / outside [start, end] (labels without the two
  javascript bounds: Today, Yesterday, Tomorrow, This/Last/Next week|month|quarter|year,
  Last 7|30|90 days, Current hour|minute).
- `RELATIVE{GT,GE,LT,LE,EE}@<unit>@<ago|ahead>@<n>`: compared with now -/+ n units (EE: within that
  unit, e.g. the whole day). Units minute, hour, day/dayofweek, week, month, quarter, year.
- `DATEPART<label>@javascript:gs.datePart('<part>','<value>','<EE|GT|GE|LT|LE|NE>')`: parts dayofweek
  (monday..sunday), month (january..december), year, quarter, hour, dayofmonth, week.
Days, weeks, months... are the calling user's (its sys_user.time_zone; `now` comes in that zone, as
an instance evaluates the helpers in the session's time zone) and the bounds are compared as the UTC
values they stand for; gs.dateGenerate's date and time are the user's wall time too. DATEPART takes
the part of a date-time in the user's zone too (a Sunday-evening incident in New York is a Sunday there
though stored as Monday UTC; the zone rides in the rewritten value, `part@value@op@zone`), as the
condition builder's trend ("on Monday", "at 9 am") reads the user's wall clock [unc: documented for
display only; a date field has no time and no zone]. Guessed where the vendor documents
nothing: This/Last/Next week start on Monday; "Last 7 days" runs from the start of the day six days
ago to the end of today; RELATIVE with day units compares with the exact moment (not the day's start); the datePart
values accepted are the ones listed above. DATEPART's weeks and days run Sunday to Saturday, as the
documented "is same Week as" field comparison's do: week n of a year starts on its n-th Sunday, the
days before the first Sunday being week 0 (the trend offers "Week 0".."Week 53", which ISO weeks never
give), and "on or after Monday" leaves Sunday out [unc: the numbering of MySQL's WEEK(d), mode 0, which
that range and the Sunday week match; the instance's property glide.ui.date_format.first_day_of_week
is not modelled]. A month value may be the condition builder's three-letter name ('jan').
"""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import UTC, datetime, timedelta

from sandbox.core.numbers import ascii_int

FMT = "%Y-%m-%d %H:%M:%S"
_CALL = re.compile(r"javascript:\s*gs\.(\w+)\(\s*(.*?)\s*\)\s*;?\s*\Z", re.S)
_ARG = re.compile(r"""'([^']*)'|"([^"]*)"|(-?\d+)""")
_PERIOD = re.compile(r"(beginning|end)Of(This|Last|Next|Current)?(Today|Yesterday|Tomorrow|Minute|Hour|Week|Month"
                     r"|Quarter|Year|(\d+)(Minutes|Hours|Days|Months))\Z")
_AGO = re.compile(r"(minutes|hours|days|months|quarters|years)Ago(Start|End)?\Z")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
_STEP = {"minute": "minute", "minutes": "minute", "hour": "hour", "hours": "hour", "day": "day", "days": "day",
         "dayofweek": "day", "week": "week", "weeks": "week", "month": "month", "months": "month",
         "quarter": "quarter", "quarters": "quarter", "year": "year", "years": "year"}
_LABELS = {"today": ("day", 0), "yesterday": ("day", -1), "tomorrow": ("day", 1), "current minute": ("minute", 0),
           "current hour": ("hour", 0), "this week": ("week", 0), "last week": ("week", -1),
           "next week": ("week", 1), "this month": ("month", 0), "last month": ("month", -1),
           "next month": ("month", 1), "this quarter": ("quarter", 0), "last quarter": ("quarter", -1),
           "next quarter": ("quarter", 1), "this year": ("year", 0), "last year": ("year", -1),
           "next year": ("year", 1)}


def count(text: str) -> int | None:
    """A count of units in a query (``daysAgo(n)``, ``RELATIVEGT@day@ago@n``, ``Last n days``): ASCII digits with
    an optional sign, saturated (not int(): 5,000 digits raised ValueError); None when not one ('²', '--1')."""
    return ascii_int(text, cap=2**31, signed=True)


def utc(moment: datetime) -> str:
    """A moment as the stored (UTC) "YYYY-MM-DD HH:MM:SS" value."""
    return (moment.astimezone(UTC) if moment.tzinfo else moment).strftime(FMT)


def shift(moment: datetime, unit: str, n: int) -> datetime:
    """moment moved by n units (months clamp the day, as calendars do)."""
    if unit in ("minute", "hour", "day", "week"):
        return moment + timedelta(**{unit + "s": n})
    months = n * {"month": 1, "quarter": 3, "year": 12}[unit]
    y, m = divmod(moment.month - 1 + months, 12)
    year, month = moment.year + y, m + 1
    return moment.replace(year=year, month=month, day=min(moment.day, monthrange(year, month)[1]))


def start_of(moment: datetime, unit: str) -> datetime:
    m = moment.replace(microsecond=0)
    if unit == "minute":
        return m.replace(second=0)
    if unit == "hour":
        return m.replace(minute=0, second=0)
    day = m.replace(hour=0, minute=0, second=0)
    if unit == "day":
        return day
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return day.replace(day=1, month=(day.month - 1) // 3 * 3 + 1)
    return day.replace(day=1, month=1)


def window(now: datetime, unit: str, n: int) -> tuple[datetime, datetime]:
    """[start, end] (end inclusive, to the second) of the unit n units from the one holding now."""
    begin = start_of(shift(start_of(now, unit), unit, n), unit)
    return begin, shift(begin, unit, 1) - timedelta(seconds=1)


def _args(text: str) -> list[str]:
    return [a or b or c for a, b, c in _ARG.findall(text)]


def moment(value: str, now: datetime) -> datetime | None:
    """The instant a `javascript:gs.<helper>(...)` value stands for, or None if not understood."""
    m = _CALL.match(value)
    if m is None:
        return None
    name, args = m.group(1), _args(m.group(2))
    if name == "dateGenerate" and args:
        when = (args[1] if len(args) > 1 else "") or "00:00:00"
        when = {"start": "00:00:00", "end": "23:59:59"}.get(when, when)
        try:
            return datetime.strptime(f"{args[0]} {when}", FMT).replace(tzinfo=now.tzinfo)
        except ValueError:
            return None
    if name in ("nowNoTZ", "nowDateTime", "now"):
        return now.replace(microsecond=0)
    n = (count(args[0]) or 0) if args else 0
    ago = _AGO.match(name)
    if ago:
        unit, edge = _STEP[ago.group(1)], ago.group(2)
        then = shift(now.replace(microsecond=0), unit, -n)
        if edge is None:
            return then
        begin, end = window(then, unit, 0)
        return begin if edge == "Start" else end
    period = _PERIOD.match(name)
    if period is None:
        return None
    edge, which, what = period.group(1), period.group(2), period.group(3)
    if period.group(4):  # beginningOfLast7Days / endOfLast15Minutes: a span ending now (or today)
        unit, many = _STEP[period.group(5).lower()], count(period.group(4))
        if many is None:  # '٣' matched \d
            return None
        if edge == "end":
            return window(now, unit, 0)[1] if unit in ("day", "month") else now.replace(microsecond=0)
        base = start_of(now, unit) if unit in ("day", "month") else now.replace(microsecond=0)
        return shift(base, unit, -(many - 1) if unit in ("day", "month") else -many)
    if what in ("Today", "Yesterday", "Tomorrow"):
        unit, n = "day", {"Today": 0, "Yesterday": -1, "Tomorrow": 1}[what]
    else:
        unit, n = what.lower(), {"Last": -1, "Next": 1}.get(which or "", 0)
    begin, end = window(now, unit, n)
    return begin if edge == "beginning" else end


def resolve(value: str, now: datetime) -> str:
    """A javascript: date helper as its UTC "YYYY-MM-DD HH:MM:SS" literal; other values unchanged."""
    if not value.startswith("javascript:"):
        return value
    try:
        at = moment(value, now)
    except (OverflowError, ValueError):  # gs.daysAgo(10**20): past datetime's years, not understood
        at = None
    return value if at is None else utc(at)


def rewrite(op: str, value: str, now: datetime) -> tuple[str, str] | None:
    """A date operator as a plain one (BETWEEN / NOTBETWEEN / > >= < <= / DATEPART), or None."""
    if op in ("ON", "NOTON"):
        label, _, bounds = value.partition("@")
        lo, _, hi = bounds.partition("@")
        if not hi:
            found = _LABELS.get(label.strip().lower())
            last = re.fullmatch(r"last ([0-9]+) days", label.strip().lower())
            if found is None and last is None:
                return None
            if last is not None:
                begin = start_of(now, "day") - timedelta(days=count(last.group(1)) - 1)
                span = (begin, window(now, "day", 0)[1])
            else:
                span = window(now, *found)  # type: ignore[misc]
            lo, hi = (utc(x) for x in span)
        return ("BETWEEN" if op == "ON" else "NOTBETWEEN"), f"{resolve(lo, now)}@{resolve(hi, now)}"
    if op.startswith("RELATIVE"):
        parts = value.split("@")
        if len(parts) != 4 or parts[1].lower() not in _STEP or count(parts[3]) is None:
            return None
        unit, n = _STEP[parts[1].lower()], count(parts[3]) * (-1 if parts[2].lower() == "ago" else 1)
        then = shift(now.replace(microsecond=0), unit, n)
        cmp = op[8:]
        if cmp == "EE":
            begin, end = window(then, unit, 0)
            return "BETWEEN", f"{utc(begin)}@{utc(end)}"
        symbol = {"GT": ">", "GE": ">=", "LT": "<", "LE": "<="}.get(cmp)
        return None if symbol is None else (symbol, utc(then))
    if op == "DATEPART":
        call = value.partition("@")[2]
        m = _CALL.match(call)
        args = _args(m.group(2)) if m and m.group(1) == "datePart" else []
        if len(args) != 3:
            return None
        zone = getattr(now.tzinfo, "key", "")  # a ZoneInfo's name; UTC / fixed offsets read as stored
        return "DATEPART", "@".join([*(a.lower() for a in args), zone])
    return None


def date_part(text: str, part: str) -> int | None:
    """The part of a "YYYY-MM-DD[ HH:MM:SS]" value as a number (None when empty or unparseable)."""
    try:
        when = datetime.strptime(text, FMT) if len(text) > 10 else datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        return None
    return {"dayofweek": (when.weekday() + 1) % 7, "month": when.month - 1, "year": when.year, "hour": when.hour,
            "quarter": (when.month - 1) // 3 + 1, "dayofmonth": when.day,
            "week": int(when.strftime("%U"))}.get(part)


def part_value(part: str, value: str) -> int | None:
    """The number a datePart value stands for: days Sunday 0 .. Saturday 6, months January 0 .. December 11
    (full names or the condition builder's three-letter ones, "jan"), others as written."""
    if part == "dayofweek" and value in WEEKDAYS:
        return (WEEKDAYS.index(value) + 1) % 7
    if part == "month":
        found = [i for i, name in enumerate(MONTHS) if value in (name, name[:3])]
        if found:
            return found[0]
    return count(value)
