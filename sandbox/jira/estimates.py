"""Time tracking estimates: the `timetracking` field on create/edit and the worklog `adjustEstimate` rules.

- Set with `fields.timetracking {"originalEstimate": "2h", "remainingEstimate": "1h"}` (Jira durations, a
  bare number is minutes) or `update.timetracking [{"edit"|"set": {...}}]`. An original estimate given while the
  issue has no remaining estimate also sets the remaining one (Jira's time tracking, not "legacy mode") [unc].
- Read back as `timeoriginalestimate`/`timeestimate` (and their aggregates) in seconds, `timetracking`
  ({originalEstimate, remainingEstimate, timeSpent} and their *Seconds), `progress` (spent of spent +
  remaining) and `workratio` (spent as a percentage of the original estimate, -1 without one).
- Worklogs (`?adjustEstimate=` on add/edit/delete): `auto` (default) takes the time logged off the remaining
  estimate (never below 0; puts it back on delete; an issue without one counts as 0, so logging work on it
  leaves 0 remaining [unc: pycontribs' own test_update_and_delete_worklog expects 0 -> 1h -> 3h]), `new`
  sets `newEstimate`, `manual` takes `reduceBy` off on add and puts `increaseBy` back on delete, `leave` keeps
  it. A missing amount or unknown mode is a 400.
- Changes are changelog items `timeoriginalestimate` / `timeestimate` with seconds as strings, as Jira logs them.
Guesses [unc]: the wording of the 400 errors.
"""

from __future__ import annotations

from typing import Any

from sandbox.jira.errors import fail
from sandbox.jira.timefmt import format_duration, parse_duration

ESTIMATE_FIELDS = {"timeoriginalestimate": "original_estimate", "aggregatetimeoriginalestimate": "original_estimate",
                   "timeestimate": "remaining_estimate", "aggregatetimeestimate": "remaining_estimate"}
_KEYS = {"originalEstimate": "original_estimate", "remainingEstimate": "remaining_estimate"}


def read_timetracking(value: Any, issue: Any, errors: dict[str, str]) -> dict[str, Any]:
    """The issue attributes a `timetracking` field value sets (errors under `timetracking`)."""
    if value is None:
        return {"original_estimate": None, "remaining_estimate": None}
    if not isinstance(value, dict):
        errors["timetracking"] = "Time tracking value must be an object."
        return {}
    out: dict[str, Any] = {}
    for key, attr in _KEYS.items():
        if key not in value:
            continue
        raw = value[key]
        seconds = None if raw in (None, "") else parse_duration(str(raw))
        if raw not in (None, "") and seconds is None:
            label = "Original Estimate" if key == "originalEstimate" else "Remaining Estimate"
            errors["timetracking"] = f"{label} is invalid: use a duration such as 3w 4d 12h."
            return {}
        out[attr] = seconds
    remaining_now = issue.remaining_estimate if issue is not None else None
    if "original_estimate" in out and "remaining_estimate" not in out and remaining_now is None:
        out["remaining_estimate"] = out["original_estimate"]
    return out


def _amount(c: Any, name: str) -> int:
    text = c.q(name)
    seconds = parse_duration(text) if text not in (None, "") else None
    if seconds is None:
        raise fail(400, None, {name: f"You must supply a valid {name} (a duration such as 3h) for this mode."})
    return seconds


def adjusted(c: Any, issue: Any, logged: int, deleting: bool = False) -> int | None:
    """The remaining estimate after `logged` more seconds of work (negative: less), per `?adjustEstimate=`."""
    mode = (c.q("adjustEstimate") or "auto").lower()
    remaining = issue.remaining_estimate
    if mode == "leave":
        return remaining
    if mode == "new":
        return _amount(c, "newEstimate")
    if mode == "manual":
        change = -_amount(c, "increaseBy") if deleting else _amount(c, "reduceBy")
        return max(0, (remaining or 0) - change)
    if mode != "auto":
        raise fail(400, None, {"adjustEstimate": "adjustEstimate must be one of new, leave, manual or auto."})
    return max(0, (remaining or 0) - logged)


def value(issue: Any, f: str, spent: int) -> Any:
    """`timeoriginalestimate`, `progress`, `workratio`... of an issue with `spent` seconds logged."""
    original, remaining = issue.original_estimate, issue.remaining_estimate
    if f in ESTIMATE_FIELDS:
        return getattr(issue, ESTIMATE_FIELDS[f])
    if f in ("timespent", "aggregatetimespent"):
        return spent or None
    if f in ("progress", "aggregateprogress"):
        total = spent + (remaining or 0)
        return {"progress": spent, "total": total, **({"percent": spent * 100 // total} if total else {})}
    if f == "workratio":
        return spent * 100 // original if original else -1
    return None


def timetracking(issue: Any, spent: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    pairs = (("originalEstimate", issue.original_estimate), ("remainingEstimate", issue.remaining_estimate),
             ("timeSpent", spent or None))
    for name, seconds in pairs:
        if seconds is not None:
            out[name] = format_duration(seconds)
    for name, seconds in pairs:
        if seconds is not None:
            out[f"{name}Seconds"] = seconds
    return out


def history_items(cur: int | None, new: int | None, attr: str) -> dict[str, Any]:
    fid = "timeoriginalestimate" if attr == "original_estimate" else "timeestimate"
    text = [None if x is None else str(x) for x in (cur, new)]
    return {"field": fid, "fieldtype": "jira", "fieldId": fid, "from": text[0], "fromString": text[0],
            "to": text[1], "toString": text[1]}
