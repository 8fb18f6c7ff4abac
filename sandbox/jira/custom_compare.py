"""JQL range comparisons (`<`, `<=`, `>`, `>=`) on created number, date and date-time custom fields, and the text
query rules of `~` on text ones, as Jira applies them to system fields (`jql_eval`):

- float: the operand must be a number ([unc] the wording of the refusal);
- datepicker: the start of the stored day in the searcher's zone against the operand's instant, as `due`;
- datetime: the stored instant against the operand's instant (literals, periods `-5d`, `now()`, `startOfDay()`...);
- textfield, url, textarea `~`/`!~`: the query is checked and searched as summary's is (`text_query`), `~ EMPTY`
  is `IS EMPTY`.
Anything else is left to `custom_values.clause`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sandbox.jira.adf import plain
from sandbox.jira.jql import Clause, Empty, Func, JQLError, Value
from sandbox.jira.model import Issue
from sandbox.jira.text_query import compile_text
from sandbox.jira.timefmt import parse_jira_ts

RANGE = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?\Z")  # not float(): 'nan', '٣'


def field_of(c: Clause, store: Any) -> dict[str, Any] | None:
    name = c.field.lower()
    num = name[3:-1] if name.startswith("cf[") and name.endswith("]") else None
    return next((f for f in list(store.work.get("fields", {}).values()) if not f.get("trashed")
                 and (str(f["num"]) == num or f["name"].lower() == name)), None)


def compare(c: Clause, store: Any, instant: Callable[[Value | Func], int],
            day: Callable[[str], int | None]) -> Callable[[Issue], bool] | None:
    """A predicate, or None when `custom_values.clause` answers the clause. `instant(v)` is the operand's epoch ms
    (Jira's date error when it is none); `day(text)` a stored "yyyy-MM-dd" as its day's start."""
    field = field_of(c, store)
    if field is None:
        return None
    fid, kind = f"customfield_{field['num']}", field["kind"]

    def stored(i: Issue) -> Any:
        return dict(i.custom).get(fid)

    if c.op in ("~", "!~") and kind in ("textfield", "url", "textarea"):
        neg = c.op == "!~"
        if isinstance(c.operand, Empty):
            return lambda i: (not plain(stored(i)).strip()) != neg
        matches = compile_text(c.operand.text if isinstance(c.operand, Value) else "", c.field)
        return lambda i: stored(i) is not None and matches(plain(stored(i)).lower()) != neg
    if c.op not in RANGE or isinstance(c.operand, (tuple, Empty)):
        return None
    cmp = RANGE[c.op]
    if kind == "float":
        text = c.operand.text if isinstance(c.operand, Value) else ""
        if not _NUMBER.match(text.strip()):
            raise JQLError(f"The value '{text}' for field '{c.field}' is invalid - please specify a number.")  # [unc]
        target = float(text)
        return lambda i: isinstance(stored(i), (int, float)) and cmp(stored(i), target)
    if kind == "datepicker":
        at = instant(c.operand)
        return lambda i: isinstance(stored(i), str) and (d := day(stored(i))) is not None and cmp(d, at)
    if kind == "datetime":
        at = instant(c.operand)

        def when(i: Issue) -> int | None:
            try:
                return parse_jira_ts(stored(i)) if isinstance(stored(i), str) else None
            except ValueError:
                return None

        return lambda i: (t := when(i)) is not None and cmp(t, at)
    raise JQLError(f"The operator '{c.op}' is not supported by the '{c.field}' field.")
