"""JQL's worklog fields, as Atlassian's JQL field reference lists them: `worklogDate` (the day a worklog was
*started*, compared as a date: `= "2026-11-01"` takes the worklogs started that day in the searcher's zone;
operators = != > >= < <= IN NOT IN), `worklogAuthor` (who logged it: accountIds, `currentUser()`,
`membersOf()`; = != IN NOT IN) and `worklogComment` (text search: ~ !~). Only worklogs the searcher may see
count (a worklog restricted to a group or role he is not in is invisible to him, as on GET /worklog).

`clause(c, field, ctx, instant)` answers a predicate for one of these fields, or None for any other.
`instant(value)` is the caller's reading of a date operand (literal, period or date function) as epoch ms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.jira.adf import plain
from sandbox.jira.jql import Clause, Empty, JQLError, Value
from sandbox.jira.jql_fields import CMP, match, scalar_field, unsupported, values_of
from sandbox.jira.model import Issue
from sandbox.jira.routes_roles import sees
from sandbox.jira.text_query import compile_text
from sandbox.jira.timefmt import jql_time

if TYPE_CHECKING:
    from sandbox.jira.jql_fields import Context

FIELDS = ("worklogdate", "worklogauthor", "worklogcomment")
_DAY_MS = 86_400_000


def clause(c: Clause, field: str, ctx: Context, instant: Callable[[Any], int]) -> Callable[[Issue], bool] | None:
    if field not in FIELDS:
        return None
    ctx.volatile = True  # worklogs are not issue attributes the index versions
    logs = ctx.work.setdefault("worklogs", {})

    def visible(i: Issue) -> list[dict[str, Any]]:
        return [w for w in logs.get(i.id, ()) if sees(ctx, ctx.me, i.project, w.get("visibility"))]

    if field == "worklogauthor":
        _, resolve_user, _ = scalar_field(c, "assignee", ctx)
        if c.op in ("is", "is not"):
            raise unsupported(c)
        return match(c, lambda i: {w["author"] for w in visible(i)}, resolve_user, True)
    if field == "worklogcomment":
        if c.op not in ("~", "!~"):
            raise unsupported(c)
        if not isinstance(c.operand, Value):
            raise JQLError(f"The field '{c.field}' does not support searching for EMPTY values.")
        matches, negate = compile_text(c.operand.text, c.field), c.op == "!~"
        # [unc] `!~`: issues with a visible worklog none of whose comments match (as `comment !~` reads its own)
        return lambda i: bool(visible(i)) and any(matches(plain(w.get("comment")).lower())
                                                  for w in visible(i)) != negate
    return _dates(c, ctx, visible, instant)


def _dates(c: Clause, ctx: Context, visible: Callable[[Issue], list[dict[str, Any]]],
           instant: Callable[[Any], int]) -> Callable[[Issue], bool]:
    """A worklog's day: its `started` instant at the start of that day in the searcher's zone, as `due` reads a
    date [unc: Jira indexes the worklog's start date; the day boundary in the searcher's zone is our reading]."""
    if c.op in ("is", "is not") or isinstance(c.operand, Empty):
        raise unsupported(c)

    def day_of(ms: int) -> int:
        return _start_of_day(ms, ctx)

    def days(i: Issue) -> set[int]:
        return {day_of(w["started"]) for w in visible(i)}

    def operand_day(v: Any) -> int:
        """The day an operand names: a date out of datetime's range (`999999999999999`, `"9999999w"`) is Jira's
        invalid-date error, not a 500."""
        ms = instant(v)
        if not _MIN_MS <= ms <= _MAX_MS:
            raise JQLError(f"Date value '{getattr(v, 'text', getattr(v, 'shown', v))}' for field '{c.field}' is "
                           "invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', "
                           "'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.")
        return day_of(ms)

    if c.op in CMP and not isinstance(c.operand, tuple):
        # every operator compares days (`>= -1w` at 15:00 takes a worklog started at 16:00 seven days ago)
        # [unc: Jira indexes the worklog's start date]
        target, cmp = operand_day(c.operand), CMP[c.op]
        if c.op == "=":
            return lambda i: target in days(i)
        if c.op == "!=":
            return lambda i: bool(days(i)) and target not in days(i)  # [unc] != on a multi-valued date
        return lambda i: any(cmp(d, target) for d in days(i))
    if c.op in ("in", "not in"):
        wanted = {operand_day(v) for v in values_of(c)}
        if c.op == "in":
            return lambda i: not wanted.isdisjoint(days(i))
        return lambda i: bool(days(i)) and wanted.isdisjoint(days(i))
    raise unsupported(c)


# datetime's range with a day to spare on either side, so every zone's local day exists (0001-01-01 UTC is
# year 0 in America/New_York: fromtimestamp raised, a 500)
_MIN_MS = -62_135_596_800_000 + _DAY_MS  # 0001-01-02T00:00Z
_MAX_MS = 253_402_300_799_999 - _DAY_MS  # 9999-12-30T23:59:59.999Z


def _start_of_day(ms: int, ctx: Context) -> int:
    """The start of `ms`'s day in the searcher's zone; a stored instant outside datetime's range is clamped."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    ms = min(max(ms, _MIN_MS), _MAX_MS)
    try:
        local = datetime.fromtimestamp(ms / 1000, ZoneInfo(ctx.tz))
    except (ValueError, OverflowError, OSError):
        return ms - ms % _DAY_MS
    start = jql_time(f"{local.year:04d}-{local.month:02d}-{local.day:02d}", ctx.tz, ctx.now_ms)
    return start if start is not None else ms - ms % _DAY_MS
