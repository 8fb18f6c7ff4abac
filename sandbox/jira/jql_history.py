"""JQL history operators, read from each issue's changelog: `WAS [NOT] [IN]` and `CHANGED`, with the
predicates AFTER, BEFORE, ON, DURING (a, b), BY user(s), and for CHANGED also FROM and TO.

Fields: status, assignee, reporter, priority, resolution (Jira's history-searchable system fields here).
An issue's value before its first change of the field is that change's `from` (its current value when it
never changed), set at creation by its creator. `WAS` matches when a value held at some time inside the
predicates' window was wanted (and set by a BY user); `WAS NOT` is its negation; `CHANGED` matches a
change inside the window (by a BY user, from a FROM value, to a TO value).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.jira import catalog as C
from sandbox.jira.jql import Clause, Empty, Func, JQLError, Value
from sandbox.jira.jql_fields import missing, scalar_field

if TYPE_CHECKING:
    from sandbox.jira.jql import _Parser
    from sandbox.jira.jql_fields import Context
    from sandbox.jira.model import Issue

PREDICATES = ("from", "to", "after", "before", "on", "during", "by")
ATTRS = {"status": "status_id", "assignee": "assignee", "reporter": "reporter", "priority": "priority_id",
         "resolution": "resolution_id"}
DAY_MS = 86_400_000
END = 1 << 62


def parse(p: _Parser, name: str) -> Clause:
    """The rest of a clause from its WAS/CHANGED word on (the parser stands on it)."""
    word = p.take()[1].lower()
    op, operand = "changed", Empty()
    if word == "was":
        if p.kw("not"):
            p.i += 1
            op = "was not"
        else:
            op = "was"
        if p.kw("in"):
            p.i += 1
            op += " in"
        operand = p.operand()
    preds = []
    while (t := p.peek()) is not None and t[0] == "word" and t[1].lower() in PREDICATES:
        p.i += 1
        preds.append((t[1].lower(), p.operand()))
    return Clause(name, op, operand, tuple(preds))


def compile_history(c: Clause, field: str, ctx: Context, to_ms: Callable[[Any], int]) -> Callable[[Issue], bool]:
    attr = ATTRS.get(field)
    if attr is None:
        word = "CHANGED" if c.op == "changed" else c.op.upper()
        raise JQLError(f"The operator '{word}' is not supported by the '{c.field}' field.")
    resolve = _resolver(c, field, ctx)
    _, resolve_user, _ = scalar_field(c, "assignee", ctx)
    lo, hi, by, frm, to = -END, END, None, None, None
    for kind, operand in c.predicates:
        if kind in ("from", "to"):
            if not c.op == "changed":
                raise JQLError(f"The '{kind.upper()}' predicate is only supported by the 'CHANGED' operator.")
            frm, to = (_values(operand, resolve), to) if kind == "from" else (frm, _values(operand, resolve))
        elif kind == "by":
            by = _values(operand, resolve_user)
        elif kind == "during":
            if not (isinstance(operand, tuple) and len(operand) == 2):
                raise JQLError("The 'DURING' predicate needs two dates: DURING (start, end).")
            lo, hi = max(lo, to_ms(operand[0])), min(hi, to_ms(operand[1]) + 1)
        else:
            t = to_ms(operand)
            if kind == "after":
                lo = max(lo, t)
            elif kind == "before":
                hi = min(hi, t)
            else:  # ON: that day
                lo, hi = max(lo, t), min(hi, t + DAY_MS)

    def spans(i: Issue) -> list[tuple[int, int, Any, Any, dict[str, Any] | None]]:
        """(start, end, value, who set it, the change item) for each value the field held."""
        changes = sorted(((h.created, h.author, it) for h in ctx.history_of(i) for it in h.items
                          if it.get("fieldId") == field), key=lambda x: x[0])
        value = changes[0][2].get("from") if changes else getattr(i, attr)
        start, who, item, out = i.created, i.creator or i.reporter, None, []
        for t, author, it in changes:
            out.append((start, t, value, who, item))
            start, value, who, item = t, it.get("to"), author, it
        out.append((start, END, value, who, item))
        return out

    if c.op == "changed":
        if not isinstance(c.operand, Empty):
            raise JQLError("The 'CHANGED' operator takes no value; use FROM and TO.")

        def changed(i: Issue) -> bool:
            return any(item is not None and lo <= start < hi and (by is None or who in by)
                       and (frm is None or item.get("from") in frm) and (to is None or item.get("to") in to)
                       for start, _end, _value, who, item in spans(i))

        return changed
    wanted = _values(c.operand, resolve)
    negate = "not" in c.op

    def was(i: Issue) -> bool:
        held = any(value in wanted and start < hi and end > lo and (by is None or who in by)
                   for start, end, value, who, _item in spans(i))
        return held != negate

    return was


def _resolver(c: Clause, field: str, ctx: Context) -> Callable[[Value | Func], Any]:
    if field == "priority":
        def priority(v: Value | Func) -> Any:
            text = str(getattr(v, "text", "")).lower()
            pid = C.PRIORITY_BY_NAME.get(text, text if text in C.PRIORITIES else None)
            if pid is None:
                raise missing(c, str(getattr(v, "text", v)))
            return pid

        return priority
    _, resolve, _ = scalar_field(c, field, ctx)
    if field != "resolution":
        return resolve
    return lambda v: None if isinstance(v, Value) and v.text.lower() == "unresolved" else resolve(v)


def _values(operand: Any, resolve: Callable[[Value | Func], Any]) -> set[Any]:
    out: set[Any] = set()
    for v in operand if isinstance(operand, tuple) else (operand,):
        got = None if isinstance(v, Empty) else resolve(v)
        out.update(got) if isinstance(got, set) else out.add(got)
    return out
