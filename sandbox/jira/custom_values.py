"""Values of the custom fields made through POST /field (`routes_field_admin`) on issues.

An issue keeps them in `Issue.custom` (sorted `(field id, stored value)` pairs, copy-on-write like the rest).
Kinds and what a client sends / gets back:

- textfield, url: a string. textarea: a string (v2) or an ADF document (v3), read back in the caller's version.
- float: a number. datepicker: "yyyy-MM-dd". datetime: a Jira timestamp string. labels: a list of strings.
- select, radiobuttons: `{"value"}` or `{"id"}` of an option of the field's contexts -> `{"self","value","id"}`.
  multiselect, multicheckboxes: a list of those. A disabled or unknown option is a field error.
- userpicker: `{"accountId"}` -> a user bean; multiuserpicker: a list of them.
Other kinds (cascading selects, group, project and version pickers, read-only fields) cannot be set here
(a field error naming the sandbox). `null` clears a value. Changes are changelog items with `fieldtype: custom`.

JQL on these fields (`cf[N]` or the field name): `~`/`!~` on text kinds, `=`, `!=`, `IN`, `NOT IN` on every kind
(option values, account ids, numbers, dates and strings compared as given), `IS [NOT] EMPTY`; ranges on number
and date kinds and the text query rules are `custom_compare`'s (tried first).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.jira.adf import as_version, plain, valid_adf
from sandbox.jira.ids import is_id
from sandbox.jira.jql import Clause, Empty, JQLError, Value

if TYPE_CHECKING:
    from sandbox.jira.model import Issue

TEXT = {"textfield", "url", "textarea"}
SINGLE_OPTION = {"select", "radiobuttons"}
MULTI_OPTION = {"multiselect", "multicheckboxes"}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


def created(store: Any, fid: str) -> dict[str, Any] | None:
    """The field record of a custom field made through the API (not trashed), or None."""
    raw = fid.removeprefix("customfield_")
    field = store.work.get("fields", {}).get(int(raw)) if is_id(raw) and fid != raw else None
    return field if field is not None and not field.get("trashed") else None


def created_ids(store: Any) -> list[str]:
    return [f"customfield_{n}" for n, f in list(store.work.get("fields", {}).items()) if not f.get("trashed")]


def options_of(store: Any, field: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Every option of the field's contexts by id."""
    out: dict[int, dict[str, Any]] = {}
    for ctx in store.work.get("field_contexts", {}).get(field["num"], {}):
        out.update(store.work.get("field_options", {}).get(ctx, {}))
    return out


def _option(store: Any, field: dict[str, Any], ref: Any) -> int:
    options = options_of(store, field)
    ident = str(ref.get("id") or "") if isinstance(ref, dict) else ""
    value = ref.get("value") if isinstance(ref, dict) else ref
    found = options.get(int(ident)) if is_id(ident) else next(
        (o for o in options.values() if not o.get("parent") and o["value"] == value), None)
    if found is None:
        raise ValueError(f"Option value '{ident or value}' is not valid")
    if found["disabled"]:
        raise ValueError(f"Option '{found['value']}' is disabled")
    return int(found["id"])


def _user(store: Any, ref: Any) -> str:
    account = ref.get("accountId") if isinstance(ref, dict) else None
    if account not in store.users:
        raise ValueError(f"Specified user does not exist or you do not have required permissions: {account}")
    return str(account)


def parse(store: Any, fid: str, value: Any) -> Any:
    """The stored form of a client's value for a created custom field; ValueError with Jira's wording."""
    field = created(store, fid)
    assert field is not None
    kind = field["kind"]
    if value is None or value == [] or value == "":
        return None
    if kind in ("textfield", "url"):
        if not isinstance(value, str):
            raise ValueError("Operation value must be a string")
        if len(value) > 255:
            raise ValueError("The entered text is too long. It exceeds the allowed limit of 255 characters.")
        return value
    if kind == "textarea":
        if not isinstance(value, str | dict):
            raise ValueError("Operation value must be a string")
        if isinstance(value, dict) and not valid_adf(value):  # a malformed document was stored, then a 500
            raise ValueError("Operation value must be an Atlassian Document (see the Atlassian Document Format)")
        return value
    if kind == "float":
        try:
            out = None if isinstance(value, bool) or not isinstance(value, int | float) else float(value)
        except OverflowError:  # an integer past a double's range (was a 500)
            out = None
        if out is None or not math.isfinite(out):
            raise ValueError("Operation value must be a number")
        return out
    if kind in ("datepicker", "datetime"):
        if not isinstance(value, str) or (kind == "datepicker" and not _DATE.match(value)):
            raise ValueError("Date value is invalid. Use the format 'yyyy-MM-dd'." if kind == "datepicker"
                             else "Date time value is invalid.")
        return value
    if kind == "labels":
        if not isinstance(value, list) or any(not isinstance(x, str) or " " in x for x in value):
            raise ValueError("Operation value must be a list of labels without spaces")
        return tuple(value)
    if kind in SINGLE_OPTION:
        return _option(store, field, value)
    if kind in MULTI_OPTION:
        return tuple(_option(store, field, x) for x in (value if isinstance(value, list) else [value]))
    if kind == "userpicker":
        return _user(store, value)
    if kind == "multiuserpicker":
        return tuple(_user(store, x) for x in (value if isinstance(value, list) else [value]))
    raise ValueError(f"Values of '{kind}' custom fields cannot be set in this sandbox.")


def render(r: Any, fid: str, stored: Any) -> Any:
    """The API form of a stored value for renderer `r` (its version and base URL)."""
    field = created(r.store, fid)
    if field is None or stored is None:
        return None
    kind = field["kind"]
    if kind in SINGLE_OPTION | MULTI_OPTION:
        options = options_of(r.store, field)

        def bean(oid: int) -> dict[str, Any]:
            o = options.get(oid, {"value": None})
            return {"self": f"{r.api}/customFieldOption/{oid}", "value": o["value"], "id": str(oid)}
        return bean(stored) if kind in SINGLE_OPTION else [bean(x) for x in stored]
    if kind == "userpicker":
        return r.user(stored)
    if kind == "multiuserpicker":
        return [r.user(x) for x in stored]
    if kind == "textarea":
        return as_version(stored, r.version)
    return list(stored) if isinstance(stored, tuple) else stored


def display(store: Any, fid: str, stored: Any) -> str | None:
    """A value as a changelog `fromString`/`toString`."""
    field = created(store, fid)
    if field is None or stored is None:
        return None
    kind = field["kind"]
    if kind in SINGLE_OPTION | MULTI_OPTION:
        options = options_of(store, field)
        ids = [stored] if kind in SINGLE_OPTION else list(stored)
        return ",".join(str(options.get(i, {}).get("value")) for i in ids)
    if kind in ("userpicker", "multiuserpicker"):
        ids = [stored] if kind == "userpicker" else list(stored)
        return ", ".join(store.users[a].display_name for a in ids if a in store.users)
    if kind == "textarea":
        return plain(stored)
    return " ".join(stored) if isinstance(stored, tuple) else str(stored)


def merged(issue: Issue | None, updates: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """The issue's custom values with `updates` applied (None removes), as sorted pairs."""
    values = dict(issue.custom) if issue else {}
    for fid, stored in updates.items():
        if stored is None:
            values.pop(fid, None)
        else:
            values[fid] = stored
    return tuple(sorted(values.items()))


def clause(c: Clause, store: Any) -> Callable[[Issue], bool] | None:
    """A predicate for a JQL clause on a created custom field (`cf[N]` or its name), or None if it is not one."""
    name = c.field.lower()
    num = name[3:-1] if name.startswith("cf[") and name.endswith("]") else None
    field = next((f for f in list(store.work.get("fields", {}).values()) if not f.get("trashed")
                  and (str(f["num"]) == num or f["name"].lower() == name)), None)
    if field is None:
        return None
    fid, kind = f"customfield_{field['num']}", field["kind"]

    def texts(issue: Issue) -> list[str]:
        stored = dict(issue.custom).get(fid)
        if stored is None:
            return []
        if kind in SINGLE_OPTION | MULTI_OPTION:
            return (display(store, fid, stored) or "").split(",") if kind in MULTI_OPTION else \
                [display(store, fid, stored) or ""]
        if kind in ("userpicker", "multiuserpicker"):
            return [stored] if kind == "userpicker" else list(stored)
        if kind == "textarea":
            return [plain(stored)]
        if kind == "float":
            return [f"{stored:g}"]
        return list(stored) if isinstance(stored, tuple) else [str(stored)]

    if c.op in ("is", "is not"):
        return lambda i: (not texts(i)) == (c.op == "is")
    if c.op in ("~", "!~"):
        if kind not in TEXT:
            raise JQLError(f"The operator '{c.op}' is not supported by the '{c.field}' field.")
        words = [w.strip("*").lower() for w in (c.operand.text if isinstance(c.operand, Value) else "").split()]
        return lambda i: all(w in " ".join(texts(i)).lower() for w in words) != (c.op == "!~")
    if c.op not in ("=", "!=", "in", "not in"):
        raise JQLError(f"The operator '{c.op}' is not supported by the '{c.field}' field.")
    operands = c.operand if isinstance(c.operand, tuple) else (c.operand,)
    empty_too = any(isinstance(v, Empty) for v in operands) and c.op in ("=", "in")  # `in (x, EMPTY)`
    operands = tuple(v for v in operands if not isinstance(v, Empty))
    wanted = set()
    for v in operands:
        text = v.text if isinstance(v, Value) else ""
        number = kind == "float" and re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text)  # not \d: '٣' read as 3 [round 27]
        wanted.add(f"{float(text):g}" if number else text.lower())
    negate = c.op in ("!=", "not in")
    return lambda i: (bool(texts(i)) and any(t.lower() in wanted for t in texts(i)) != negate) or (
        empty_too and not texts(i))
