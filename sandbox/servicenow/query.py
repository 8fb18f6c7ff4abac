"""ServiceNow encoded queries (`sysparm_query`): parsing and evaluation against a table.

Grammar handled: conditions `<field><op><value>` joined by `^` (AND), `^OR` (OR with the previous
condition), `^NQ` (new OR'ed block), `ORDERBY<f>` / `ORDERBYDESC<f>`, trailing `^EQ`; `^^` escapes a
literal caret. Operators: = != > >= < <= IN, NOT IN, LIKE, NOTLIKE, STARTSWITH, ENDSWITH, ISEMPTY,
ISNOTEMPTY, ANYTHING, EMPTYSTRING, BETWEEN (a@b), SAMEAS, NSAMEAS, plus CONTAINS / DOES NOT CONTAIN.
`javascript:gs.dateGenerate('d','t')` and a few relative helpers are resolved (UTC). As on a real
instance, conditions on unknown fields and unknown operators are ignored, not errors.
Integer fields compare numerically, everything else (datetimes too) as strings; LIKE-style
operators ignore case.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

_OPS = ("NOT IN", "NOTLIKE", "NOT LIKE", "DOES NOT CONTAIN", "ISNOTEMPTY", "ISEMPTY", "ANYTHING",
        "EMPTYSTRING", "STARTSWITH", "ENDSWITH", "NSAMEAS", "SAMEAS", "BETWEEN", "CONTAINS", "LIKE", "IN",
        "!=", ">=", "<=", "=", ">", "<")
_COND = re.compile(r"([a-z0-9_.]+)(" + "|".join(re.escape(o) for o in _OPS) + r")(.*)\Z", re.S)
_DATE_GENERATE = re.compile(r"javascript:\s*gs\.dateGenerate\(\s*'([^']*)'\s*,\s*'([^']*)'\s*\)")
_RELATIVE = re.compile(r"javascript:\s*gs\.(\w+)\(\s*(-?\d*)\s*\)")
_CARET = "\x00"


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: str


@dataclass(frozen=True)
class Query:
    """blocks (OR'ed, from ^NQ) of terms (AND'ed) of alternatives (OR'ed, from ^OR); then ordering."""

    blocks: tuple[tuple[tuple[Condition, ...], ...], ...]
    order: tuple[tuple[str, bool], ...]  # (field, descending)


def resolve_value(value: str, now: datetime) -> str:
    """Evaluate the javascript: helpers connectors use; other values pass through."""
    if not value.startswith("javascript:"):
        return value
    m = _DATE_GENERATE.match(value)
    if m:
        return f"{m.group(1)} {m.group(2) or '00:00:00'}".strip()
    m = _RELATIVE.match(value)
    if not m:
        return value
    name, n = m.group(1), int(m.group(2) or 0)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    moments = {
        "nowNoTZ": now, "nowDateTime": now, "now": now,
        "minutesAgo": now - timedelta(minutes=n), "minutesAgoStart": now - timedelta(minutes=n),
        "hoursAgo": now - timedelta(hours=n), "hoursAgoStart": now - timedelta(hours=n),
        "daysAgo": now - timedelta(days=n), "daysAgoStart": day - timedelta(days=n),
        "daysAgoEnd": day - timedelta(days=n) + timedelta(seconds=86399),
        "beginningOfToday": day, "endOfToday": day + timedelta(seconds=86399),
        "beginningOfYesterday": day - timedelta(days=1),
    }
    moment = moments.get(name)
    return value if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def parse(text: str, now: datetime) -> Query:
    """Parse an encoded query; unparseable parts are dropped like ServiceNow does."""
    text = (text or "").replace("^^", _CARET)
    blocks: list[tuple[tuple[Condition, ...], ...]] = []
    order: list[tuple[str, bool]] = []
    for block_text in text.split("^NQ"):
        terms: list[list[Condition]] = []
        for raw in block_text.split("^"):
            part = raw.replace(_CARET, "^").strip()
            if not part or part == "EQ" or part.startswith(("GROUPBY", "RLQUERY", "ENDRLQUERY", "JOIN")):
                continue
            if part.startswith("ORDERBYDESC"):
                order.append((part[11:], True))
                continue
            if part.startswith("ORDERBY"):
                order.append((part[7:], False))
                continue
            is_or = part.startswith("OR") and terms
            m = _COND.match(part[2:] if is_or else part)
            if m is None:
                continue
            cond = Condition(m.group(1), m.group(2), resolve_value(m.group(3), now))
            if is_or:
                terms[-1].append(cond)
            else:
                terms.append([cond])
        blocks.append(tuple(tuple(t) for t in terms))
    return Query(tuple(b for b in blocks if b) or ((),), tuple(order))


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def predicate(cond: Condition, get: Callable[[int], str], numeric: bool,
              other: Callable[[int], str] | None = None) -> Callable[[int], bool]:
    """Compile one condition into row -> bool."""
    op, v = cond.op, cond.value
    low = v.lower()
    if op in ("IN", "NOT IN"):
        members = frozenset(x.strip() for x in v.split(","))
        if op == "IN":
            return lambda r: get(r) in members
        return lambda r: get(r) not in members
    if op in (">", ">=", "<", "<=", "=", "!=") and numeric and _number(v) is not None:
        n = _number(v)
        cmp = {">": float.__gt__, ">=": float.__ge__, "<": float.__lt__, "<=": float.__le__,
               "=": float.__eq__, "!=": float.__ne__}[op]

        def num(r: int) -> bool:
            raw = get(r)
            x = _number(raw) if raw != "" else None
            return (op == "!=") if x is None else cmp(x, n)  # type: ignore[arg-type]

        return num
    simple: dict[str, Callable[[int], bool]] = {
        "=": lambda r: get(r) == v,
        "!=": lambda r: get(r) != v,
        ">": lambda r: get(r) > v,
        ">=": lambda r: get(r) >= v,
        "<": lambda r: get(r) < v,
        "<=": lambda r: get(r) <= v,
        "LIKE": lambda r: low in get(r).lower(),
        "CONTAINS": lambda r: low in get(r).lower(),
        "NOTLIKE": lambda r: low not in get(r).lower(),
        "NOT LIKE": lambda r: low not in get(r).lower(),
        "DOES NOT CONTAIN": lambda r: low not in get(r).lower(),
        "STARTSWITH": lambda r: get(r).lower().startswith(low),
        "ENDSWITH": lambda r: get(r).lower().endswith(low),
        "ISEMPTY": lambda r: get(r) == "",
        "EMPTYSTRING": lambda r: get(r) == "",
        "ISNOTEMPTY": lambda r: get(r) != "",
        "ANYTHING": lambda r: True,
    }
    if op == "BETWEEN":
        lo, _, hi = v.partition("@")
        return lambda r: lo <= get(r) <= hi
    if op in ("SAMEAS", "NSAMEAS") and other is not None:
        same = op == "SAMEAS"
        return lambda r: (get(r) == other(r)) is same
    return simple.get(op, lambda r: True)
