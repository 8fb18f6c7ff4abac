"""The condition builder's date field comparison: `<field>SAMEAS<other>@<unit>` ("is same") and
`<field>NSAMEAS<other>@<unit>` ("is different"), units hour, day, week, month, quarter, year.

As documented ("Evaluate equality between date values"), a unit compares one part of the two dates, not
the whole period: Day is the day of the month (the 1st of August is "same day" as the 1st of September),
Week the week of the year with weeks running Sunday to Saturday, Month the month of the year, Hour the
hour of the day; which is why the docs advise adding "is same Year". Both parts are taken in the caller's
time zone (`query` appends it: `<other>@<unit>@<zone>`) [unc: undocumented; the trend (DATEPART) reads
the user's wall clock too]. An empty value on either side matches neither operator, as with the plain
field comparisons (KB0715430). A unit not listed leaves the condition ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfoNotFoundError

from sandbox.servicenow.dates import date_part
from sandbox.servicenow.render import to_zone

_PARTS = {"hour": "hour", "day": "dayofmonth", "week": "week", "month": "month", "quarter": "quarter",
          "year": "year"}


def with_zone(op: str, value: str, zone: str) -> str:
    """The SAMEAS / NSAMEAS value `<other>@<unit>` with the caller's zone appended (others unchanged)."""
    return f"{value}@{zone}" if op in ("SAMEAS", "NSAMEAS") and value.count("@") == 1 else value


def other_field(value: str) -> str:
    return value.partition("@")[0]


def same_part(op: str, value: str, get: Callable[[int], str],
              other: Callable[[int], str]) -> Callable[[int], bool] | None:
    """The test of `<field>SAMEAS<other>@<unit>[@<zone>]` (NSAMEAS: the parts differ); None when the unit is
    not understood."""
    _, unit, zone = [*value.split("@"), "", ""][:3]
    part = _PARTS.get(unit.lower())
    if part is None:
        return None
    local = _local(zone)
    same = op == "SAMEAS"

    def test(r: int) -> bool:
        mine, theirs = get(r), other(r)
        if mine == "" or theirs == "":
            return False
        a, b = date_part(local(mine), part), date_part(local(theirs), part)
        return a is not None and b is not None and (a == b) is same

    return test


def _local(zone: str) -> Callable[[str], str]:
    try:
        return to_zone(zone) if zone else str
    except (ValueError, ZoneInfoNotFoundError):
        return str
