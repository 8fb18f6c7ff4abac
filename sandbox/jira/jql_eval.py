"""Compile a parsed JQL `Query` into a predicate, a sort key and an index plan over `Issue` records.

Field semantics follow Jira: `!=`/`NOT IN` never match an empty field; multi-valued fields (labels,
sprint) match if any value matches; date literals are read in the searching user's time zone
(`timefmt.jql_time`); unknown fields, values and operators raise `JQLError` with Jira's wording.
The sort key always ends with the issue id, so paging by key (keyset) is a total order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.jira import catalog as C
from sandbox.jira import custom_values
from sandbox.jira.adf import plain
from sandbox.jira.custom_compare import compare as compare_custom
from sandbox.jira.ids import is_id
from sandbox.jira.jql import BoolOp, Clause, Empty, Func, JQLError, Not, Query, Value, parse
from sandbox.jira.jql_fields import (
    CMP,
    PRIORITY_RANK,
    Context,
    match,
    missing,
    ordered,
    scalar_field,
    unsupported,
    values_of,
)
from sandbox.jira.jql_history import compile_history
from sandbox.jira.jql_more import NUMERIC_SORTS as _NUMERIC_SORTS
from sandbox.jira.jql_more import special
from sandbox.jira.jql_worklog import clause as worklog_clause
from sandbox.jira.model import Issue
from sandbox.jira.routes_roles import sees
from sandbox.jira.text_query import compile_text
from sandbox.jira.timefmt import jql_time, start_of

_ALIASES = {"issuekey": "key", "issue": "key", "label": "labels", "type": "issuetype", "cf[10020]": "sprint",
            "epic link": "parent",
            "createddate": "created", "updateddate": "updated", "resolutiondate": "resolved", "duedate": "due",
            "cf[10016]": "story point estimate", "story points": "story point estimate", "cf[10019]": "rank",
            "statuscategorychangeddate": "statuscategorychangeddate", "components": "component",
            "fixversions": "fixversion", "affectedversions": "affectedversion"}
_PERIODS = {f"{edge}of{unit}": (unit, edge == "end") for edge in ("start", "end")
            for unit in ("day", "week", "month", "year")}
_DATES = {"created": "created", "updated": "updated", "resolved": "resolved",
          "statuscategorychangeddate": "status_changed"}


class Desc:
    """Reverses the order of a sort-key component."""

    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v

    def __lt__(self, other: Desc) -> bool:
        return other.v < self.v

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Desc) and other.v == self.v

    def __hash__(self) -> int:
        return hash(self.v)


@dataclass
class Compiled:
    pred: Callable[[Issue], bool]
    sort_values: Callable[[Issue], list]  # JSON-able values (for nextPageToken)
    wrap: Callable[[list], tuple]  # values -> comparable key
    updated_range: tuple[int | None, bool, int | None, bool] | None  # (lo, lo_incl, hi, hi_incl)
    index_order: str | None  # "asc"/"desc" when the order equals the index order (updated, id)
    plain: Callable[[Issue], tuple]  # sort key without direction wrappers (for uniform directions)
    uniform: bool | None  # True/False when every sort component is DESC/ASC, else None
    scope: str = ""  # what else the result depends on besides the query text (user, watchers/votes/links)

    def key(self, issue: Issue) -> tuple:
        return self.wrap(self.sort_values(issue))


def _sortable(field: str, ctx: Context) -> Callable[[Issue], Any]:
    f = _ALIASES.get(field.lower(), field.lower())
    getters: dict[str, Callable[[Issue], Any]] = {
        "updated": lambda i: i.updated, "created": lambda i: i.created, "id": lambda i: i.id,
        "key": lambda i: (i.project, i.num), "resolved": lambda i: i.resolved, "due": lambda i: i.duedate,
        "priority": lambda i: PRIORITY_RANK.get(i.priority_id or ""), "summary": lambda i: i.summary.lower(),
        "status": lambda i: C.STATUSES[i.status_id][0], "project": lambda i: i.project,
        "issuetype": lambda i: ctx.issue_types[i.type_id][0], "resolution": lambda i: i.resolution_id,
        "rank": lambda i: i.rank, "story point estimate": lambda i: i.points,
        "statuscategorychangeddate": lambda i: i.status_changed,
    }
    if f in ("assignee", "reporter", "creator"):  # users sort by display name, as Jira lists them [unc: case]
        return lambda i, a=f: _user_key(ctx, getattr(i, a))
    if f in _NUMERIC_SORTS:
        if f in ("votes", "watchers"):
            ctx.volatile = True  # votes and watchers are not in the index's version
        return _NUMERIC_SORTS[f](ctx)
    if f not in getters:
        raise JQLError(f"Not able to sort using field '{field}'.")
    return getters[f]


def _user_key(ctx: Context, account_id: str | None) -> tuple[str, str] | None:
    if not account_id:
        return None
    user = ctx.users.get(account_id)
    return ((user.display_name if user else account_id).lower(), account_id)


def compile_query(q: Query, ctx: Context) -> Compiled:
    if q.where is None:
        raise JQLError("Unbounded JQL queries are not allowed here. Please add a search restriction to your query.")
    pred = _node(q.where, ctx)
    order = list(q.order) or [("key", True)]  # [unc] default order when none is given
    getters = [(_sortable(f, ctx), d) for f, d in order]
    if _ALIASES.get(order[-1][0].lower(), order[-1][0].lower()) not in ("id", "key"):
        getters.append((lambda i: i.id, order[-1][1]))

    def values(issue: Issue) -> list:
        return [g(issue) for g, _ in getters]

    descs = [d for _, d in getters]

    def wrap(vals: list) -> tuple:
        parts = []
        for v, d in zip(vals, descs, strict=True):
            part = (1, 0) if v is None else (0, tuple(v) if isinstance(v, list) else v)
            parts.append(Desc(part) if d else part)
        return tuple(parts)

    def plain(issue: Issue) -> tuple:
        parts = []
        for g, _ in getters:
            v = g(issue)
            parts.append((1, 0) if v is None else (0, v))
        return tuple(parts)

    names = [_ALIASES.get(f.lower(), f.lower()) for f, _ in order]
    index_order = None
    if names in (["updated"], ["updated", "id"]) and len({d for _, d in order}) == 1:
        index_order = "desc" if order[0][1] else "asc"
    uniform = descs[0] if len(set(descs)) == 1 else None
    scope = ctx.me + (f"#{ctx.relations_version}" if ctx.volatile else "")  # currentUser(), watchedIssues()
    return Compiled(pred, values, wrap, _updated_range(q.where, ctx), index_order, plain, uniform, scope)


def _updated_range(where: object, ctx: Context) -> tuple[int | None, bool, int | None, bool] | None:
    items = where.items if isinstance(where, BoolOp) and where.op == "and" else (where,)
    lo, lo_inc, hi, hi_inc = None, True, None, True
    found = False
    for c in items:
        if not (isinstance(c, Clause) and _ALIASES.get(c.field.lower(), c.field.lower()) == "updated"
                and c.op in (">", ">=", "<", "<=")):
            continue
        t = _time(c, ctx)
        found = True
        if c.op in (">", ">=") and (lo is None or t >= lo):
            lo, lo_inc = t, c.op == ">="
        elif c.op in ("<", "<=") and (hi is None or t <= hi):
            hi, hi_inc = t, c.op == "<="
    return (lo, lo_inc, hi, hi_inc) if found else None


def _node(node: object, ctx: Context) -> Callable[[Issue], bool]:
    if isinstance(node, BoolOp):
        preds = [_node(n, ctx) for n in node.items]
        if node.op == "and":
            return lambda i: all(p(i) for p in preds)
        return lambda i: any(p(i) for p in preds)
    if isinstance(node, Not):
        inner = _node(node.item, ctx)
        return lambda i: not inner(i)
    assert isinstance(node, Clause)
    return _clause(node, ctx)


def _time(c: Clause, ctx: Context, v: Value | Func | None = None) -> int:
    v = v if v is not None else c.operand
    if isinstance(v, Func):
        if v.name == "now":
            if v.args:  # `now("-30d")`, CQL's habit: Jira takes no argument here
                raise JQLError(f"Function '{v.shown}' expected '0' arguments but received '{len(v.args)}'.")
            return ctx.now_ms
        period = _PERIODS.get(v.name)
        if period is not None:
            ms = start_of(period[0], ctx.now_ms, ctx.tz, v.args[0] if v.args else None, period[1])
            if ms is None:
                raise JQLError(f"Function '{v.name}' has an invalid argument '{v.args[0][:40]}'.")  # [unc] wording
            return ms
        raise JQLError(f"Function '{v.name}' is not supported by the sandbox for field '{c.field}'.")
    ms = jql_time(v.text, ctx.tz, ctx.now_ms) if isinstance(v, Value) else None
    if ms is None:
        raise JQLError(f"Date value '{getattr(v, 'text', v)}' for field '{c.field}' is invalid. Valid formats include:"
                       " 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format"
                       " e.g. '-5d', '4w 2d'.")
    return ms


def _clause(c: Clause, ctx: Context) -> Callable[[Issue], bool]:
    field = _ALIASES.get(c.field.lower(), c.field.lower())
    if field in _DATES:
        attr = _DATES[field]
        if c.op in ("is", "is not"):
            want_empty = c.op == "is"
            return lambda i: (getattr(i, attr) is None) == want_empty
        if c.op not in CMP:
            raise unsupported(c)
        t, cmp = _time(c, ctx), CMP[c.op]
        return lambda i: getattr(i, attr) is not None and cmp(getattr(i, attr), t)
    if c.op.startswith("was") or c.op == "changed":
        return compile_history(c, field, ctx, lambda v: _time(c, ctx, v))
    made = compare_custom(c, ctx.store, lambda v: _time(c, ctx, v),  # ranges and text queries (custom_compare)
                          lambda day: jql_time(day, ctx.tz, ctx.now_ms)) if hasattr(ctx, "store") else None
    made = made or (custom_values.clause(c, ctx.store) if hasattr(ctx, "store") else None)
    if made is not None:
        return made
    extra = worklog_clause(c, field, ctx, lambda v: _time(c, ctx, v)) or special(c, field, ctx)
    if extra is not None:
        return extra
    if field in ("summary", "description", "environment", "text", "comment"):
        if c.op not in ("~", "!~"):
            raise unsupported(c)
        if isinstance(c.operand, Empty) and field in ("comment", "text"):
            raise JQLError(f"The field '{c.field}' does not support searching for EMPTY values.")
        empty = isinstance(c.operand, Empty)  # `summary ~ EMPTY`: the field is empty, as `is EMPTY` [Jira's tests]
        matches = (compile_text(c.operand.text, c.field) if isinstance(c.operand, Value)
                   else (lambda text: not text.strip()) if empty else compile_text(""))
        neg = c.op == "!~"
        store = getattr(ctx, "store", None)

        if field in ("comment", "text"):
            ctx.volatile = True  # restricted comments follow the caller's groups and roles

        def comments(i: Issue) -> str:  # comment bodies (v2 strings or v3 ADF) the caller may read
            if store is None:
                return ""
            return "\n".join(plain(x.body) for x in store.comments_of(i) if sees(ctx, ctx.me, i.project, x.visibility))

        def text_of(i: Issue) -> str:
            if field == "summary":
                return i.summary.lower()
            if field in ("description", "environment"):
                return plain(getattr(i, field)).lower()
            if field == "comment":
                return comments(i).lower()
            return (i.summary + "\n" + plain(i.description) + "\n" + plain(i.environment) + "\n"
                    + comments(i)).lower()

        return lambda i: matches(text_of(i)) != neg
    if field in ("filter", "request", "savedfilter", "searchrequest"):
        return _saved_filter(c, ctx)
    if field == "due":
        return _due(c, ctx)
    if field in ("story point estimate", "key", "id", "priority"):
        return ordered(c, field, ctx)
    getter, resolve, multi = scalar_field(c, field, ctx)
    return match(c, getter, resolve, multi)


_DUE_FORMATS = "Valid formats include: 'YYYY/MM/DD', 'YYYY-MM-DD', or a period format e.g. '-5d', '4w 2d'."


def _due(c: Clause, ctx: Context) -> Callable[[Issue], bool]:
    """`due`/`duedate`, a date without time: compared as the start of that day in the searcher's zone against the
    operand's instant, as Jira does (so `due < now()` takes what is due today, `due <= 2d` what is due within two
    days); literals, periods and the date functions as for `created`; anything else is Jira's date error."""
    def day(i: Issue) -> int | None:
        return jql_time(i.duedate, ctx.tz, ctx.now_ms) if i.duedate else None

    def instant(v: Value | Func) -> int:
        if isinstance(v, Func):
            return _time(c, ctx, v)
        ms = jql_time(v.text, ctx.tz, ctx.now_ms)
        if ms is None:
            raise JQLError(f"Date value '{v.text}' for field '{c.field}' is invalid. {_DUE_FORMATS}")
        return ms

    if c.op in ("is", "is not", "=", "!=") and isinstance(c.operand, Empty):
        return lambda i: (i.duedate is None) == (c.op in ("is", "="))
    if c.op in ("is", "is not"):
        raise unsupported(c)
    if c.op in CMP and not isinstance(c.operand, (tuple, Empty)):
        target, cmp = instant(c.operand), CMP[c.op]
        return lambda i: (d := day(i)) is not None and cmp(d, target)
    if c.op in ("in", "not in"):
        values = [v for v in values_of(c) if not isinstance(v, Empty) and not (  # a list's bare EMPTY
            isinstance(v, Value) and not v.quoted and v.text.lower() in ("empty", "null"))]
        wanted = {instant(v) for v in values}
        with_empty = isinstance(c.operand, Empty) or (isinstance(c.operand, tuple) and len(values) < len(c.operand))
        if c.op == "in":
            return lambda i: (d := day(i)) in wanted or (d is None and with_empty)
        return lambda i: (d := day(i)) is not None and d not in wanted and not with_empty
    raise unsupported(c)


def _saved_filter(c: Clause, ctx: Context) -> Callable[[Issue], bool]:
    """`filter = <id or name>`: the saved filter's own query (cycles answer Jira's error); only a filter the caller
    may see (`routes_filter_shares.sees_filter`), any other is "does not exist", as Jira Cloud answers [unc]."""
    if c.op not in ("=", "!=", "in", "not in"):
        raise unsupported(c)
    saved = ctx.work.get("filters", {})
    open_now: set[int] = ctx.__dict__.setdefault("_open_filters", set())
    preds = []
    for v in values_of(c):
        text = str(getattr(v, "text", ""))
        f = saved.get(int(text)) if is_id(text) else None
        f = f if f is not None and ctx.sees_filter(f) else None
        f = f or next((x for x in list(saved.values()) if x["name"].lower() == text.lower() and ctx.sees_filter(x)),
                      None)
        if f is None:  # also a filter the caller may not see, as Jira answers [unc: the same text]
            raise missing(c, text)
        if f["id"] in open_now:
            raise JQLError(f"Field '{c.field}' with value '{text}' matches filter '{f['name']}' and causes a "
                           "cyclical reference, this query can not be executed and should be edited.")
        open_now.add(f["id"])
        try:
            where = parse(f["jql"]).where if f["jql"].strip() else None
            preds.append(_node(where, ctx) if where is not None else (lambda i: True))
        finally:
            open_now.discard(f["id"])
    negate = c.op in ("!=", "not in")
    return lambda i: any(p(i) for p in preds) != negate
