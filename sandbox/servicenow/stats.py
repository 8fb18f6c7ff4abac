"""Aggregate API: GET /api/now[/v1]/stats/{table}, GlideAggregate over the Table API's query.

Parameters: sysparm_query and name=value filters (as the Table API), sysparm_count=true,
sysparm_{avg,min,max,sum}_fields (comma lists; unknown fields ignored), sysparm_group_by,
sysparm_having (`aggregate^field^operator^value`, comma separated), sysparm_order_by (`field`,
`COUNT`, `AVG^field`, each optionally `^DESC`) and sysparm_display_value (true / all: group values
as labels / both).

Shapes, as an instance answers: ungrouped `{"result": {"stats": {"count": "42"}}}` (with
`"avg": {"field": "1.2500"}` etc. beside it); grouped `{"result": [{"stats": {...}, "groupby_fields":
[{"value": "1", "field": "priority"}]}, ...]}` ordered by the group values. Every number is a
string; averages carry four decimals; aggregates of no values are "". No aggregate asked: `"stats": {}`.
Date-time fields: min / max are the earliest / latest value (raw UTC "YYYY-MM-DD HH:MM:SS"; with
sysparm_display_value=true the caller's wall time, as the Table API displays it), grouped or not, and
sysparm_order_by `MIN^opened_at` orders by them; avg / sum of date-times are "" (no numbers to add).
[unc: the docs tie sysparm_display_value to the group-by values; display=all keeps the raw min/max (a
stats value is a single string); avg/sum of a date-time on an instance not seen.]
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.core.http import HTTPError, Request, Response, Router, json_response
from sandbox.core.numbers import DECIMAL
from sandbox.servicenow import acl
from sandbox.servicenow.app import build_query, check_accept, flag, user_time_zone
from sandbox.servicenow.meta_tables import class_label
from sandbox.servicenow.render import to_zone

if TYPE_CHECKING:
    from sandbox.servicenow.sandbox import ServiceNowSandbox
    from sandbox.servicenow.tables import Table, TaskView

AGGREGATES = ("avg", "min", "max", "sum")
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq, "!=": operator.ne, ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


def _number(text: str) -> float | None:
    # ASCII decimal text only, not float(): it read '٣' as 3 and took ' 3', '1_0', 'nan' and 'inf' [round 27]
    if not DECIMAL.fullmatch(text):
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None  # 1e999: int(inf) in _fmt was an OverflowError


def _fmt(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.4f}"


def aggregate(kind: str, values: list[str], numeric: bool) -> str:
    """One aggregate over raw values; empty values are NULL in the database and are skipped."""
    present = [v for v in values if v != ""]
    if kind in ("min", "max"):
        if not present:
            return ""
        pick = min if kind == "min" else max
        if numeric and all(_number(v) is not None for v in present):
            return pick(present, key=lambda v: _number(v))  # type: ignore[arg-type,return-value]
        return pick(present)
    numbers = [n for n in map(_number, present) if n is not None]
    if not numbers:
        return ""
    return f"{sum(numbers) / len(numbers):.4f}" if kind == "avg" else _fmt(sum(numbers))


def _list(query: dict[str, str], name: str, source: Any) -> list[str]:
    return [f.strip() for f in query.get(name, "").split(",") if f.strip() and source.has_field(f.strip())]


class StatsAPI:
    """The Aggregate API of one ServiceNowSandbox."""

    def __init__(self, sandbox: ServiceNowSandbox) -> None:
        self.sb = sandbox
        self.store = sandbox.store

    def register(self, router: Router) -> None:
        router.add("GET", r"/api/now(?:/v[12])?/stats/(?P<table>[A-Za-z0-9_]+)", self.stats)

    def stats(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        check_accept(req)
        q = req.query
        source = self.store.source(req.params["table"])
        if source is None:
            raise HTTPError(400, f"Invalid table {req.params['table']}", None)
        query = build_query(self.store, req, source, user)
        # fields the caller may not read (work notes, `acl`) are ignored like unknown ones
        hidden = acl.UNQUERYABLE if acl.restricted(self.store, user) else frozenset()
        wanted = {kind: [f for f in _list(q, f"sysparm_{kind}_fields", source) if f not in hidden]
                  for kind in AGGREGATES}
        count = flag(q.get("sysparm_count"))
        group_by = [f for f in _list(q, "sysparm_group_by", source) if f not in hidden]
        display = (q.get("sysparm_display_value") or "false").strip().lower()
        tz = user_time_zone(self.store, user)
        with self.store.lock:
            rows = self.store.engine.run(source, query)
            allowed = acl.row_filter(self.store, source, user)  # aggregates count what the caller may read
            rows = rows if allowed is None else [r for r in rows if allowed(r)]
            getters = {f: source.getter(f) for f in {*group_by, *(f for fs in wanted.values() for f in fs)}}
            shown = self._shown(source, display, tz)
            if not group_by:
                return json_response({"result": {"stats": shown(self._stats(source, rows, wanted, count, getters))}})
            groups: dict[tuple[str, ...], list[int]] = {}
            for r in rows:
                groups.setdefault(tuple(getters[f](r) for f in group_by), []).append(r)
            having = self._having(q.get("sysparm_having", ""), source)
            out = []
            for key, members in groups.items():
                if not all(test(members, getters) for test in having):
                    continue
                out.append((key, self._stats(source, members, wanted, count, getters)))
            self._order(out, q.get("sysparm_order_by", ""), group_by, source)
            result = [{"stats": shown(s), "groupby_fields": [self._group_value(source, f, v, display, tz)
                                                      for f, v in zip(group_by, key, strict=True)]}
                      for key, s in out]
        return json_response({"result": result})

    # --- pieces -----------------------------------------------------------------------------------
    @staticmethod
    def _numeric(source: Table | TaskView, field: str) -> bool:
        return "." not in field and source.kinds.get(field) == "integer"

    def _stats(self, source: Table | TaskView, rows: list[int], wanted: dict[str, list[str]], count: bool,
               getters: dict[str, Callable[[int], str]]) -> dict[str, Any]:
        stats: dict[str, Any] = {}
        for kind, fields in wanted.items():
            if fields:
                stats[kind] = {f: aggregate(kind, [getters[f](r) for r in rows], self._numeric(source, f))
                               for f in fields}
        if count:
            stats["count"] = str(len(rows))
        return stats

    def _having(self, text: str, source: Table | TaskView) -> list[Callable[..., bool]]:
        tests = []
        for clause in filter(None, (c.strip() for c in text.split(","))):
            parts = clause.split("^")
            if len(parts) != 4 or parts[0].lower() not in (*AGGREGATES, "count") or parts[2] not in _COMPARE:
                raise HTTPError(400, "Invalid sysparm_having", f"{clause!r} is not aggregate^field^operator^value")
            kind, field, op, literal = parts[0].lower(), parts[1], _COMPARE[parts[2]], _number(parts[3])
            if literal is None:
                raise HTTPError(400, "Invalid sysparm_having", f"{parts[3]!r} is not a number")
            if kind != "count" and not source.has_field(field):
                continue
            numeric = self._numeric(source, field)

            def test(members: list[int], getters: dict[str, Callable[[int], str]], kind: str = kind,
                     field: str = field, op: Callable[[float, float], bool] = op, literal: float = literal,
                     numeric: bool = numeric) -> bool:
                if kind == "count":
                    return op(float(len(members)), literal)
                get = getters.get(field) or source.getter(field)
                value = _number(aggregate(kind, [get(r) for r in members], numeric) or "x")
                return value is not None and op(value, literal)

            tests.append(test)
        return tests

    def _order(self, out: list[tuple[tuple[str, ...], dict[str, Any]]], text: str, group_by: list[str],
               source: Table | TaskView) -> None:
        def value_key(field: str, value: str) -> tuple[int, float | str]:
            """Empty first, then numbers, then text (date-times); `field` "" for an aggregate's value."""
            n = _number(value) if not field or self._numeric(source, field) else None
            return (0, "") if value == "" else (1, n) if n is not None else (2, value)

        out.sort(key=lambda item: [value_key(f, v) for f, v in zip(group_by, item[0], strict=True)])
        for clause in reversed([c.strip() for c in text.split(",") if c.strip()]):
            parts = clause.split("^")
            desc = parts[-1].upper() == "DESC"
            parts = parts[:-1] if desc else parts
            head = parts[0].lower() if parts else ""
            if head == "count":
                out.sort(key=lambda item: int(item[1].get("count", "0")), reverse=desc)
            elif head in AGGREGATES and len(parts) == 2:
                kind, field = head, parts[1]
                out.sort(key=lambda item: value_key("", item[1].get(kind, {}).get(field, "")), reverse=desc)
            elif parts and parts[0] in group_by:
                i = group_by.index(parts[0])
                out.sort(key=lambda item: value_key(parts[0], item[0][i]), reverse=desc)

    @staticmethod
    def _shown(source: Table | TaskView, display: str, tz: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
        """Stats as answered: with display_value=true a date-time min / max in the caller's zone (module doc)."""
        if display != "true" or not tz:
            return lambda stats: stats
        local = to_zone(tz)

        def show(stats: dict[str, Any]) -> dict[str, Any]:
            for kind in ("min", "max"):
                for field, value in stats.get(kind, {}).items():
                    f = source.schema.get(field)
                    if f is not None and f.kind == "datetime" and value:
                        stats[kind][field] = local(value)
            return stats

        return show

    def _group_value(self, source: Table | TaskView, field: str, value: str, display: str,
                     tz: str = "") -> dict[str, str]:
        """A group's value; its display value as the Table API shows it (a date-time in the caller's zone)."""
        if display not in ("true", "all"):
            return {"value": value, "field": field}
        schema_field = source.schema.get(field)
        label = value
        if schema_field is not None and schema_field.kind == "datetime" and tz:
            label = to_zone(tz)(value)
        elif field == "sys_class_name":
            label = class_label(value)
        elif schema_field is not None and schema_field.choices:
            label = schema_field.choices.get(value, value)
        elif schema_field is not None and schema_field.kind == "reference" and schema_field.ref and value:
            label = self.store.display_of(schema_field.ref, value)
        if display == "true":
            return {"value": label, "field": field}
        return {"display_value": label, "value": value, "field": field}
