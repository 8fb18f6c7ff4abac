"""The structured user query of GET `/user/search/query` and `/user/search/query/key` (see `routes_config_reads`).

The spec's statements, all supported:

- `is assignee of PROJ` / `is assignee of (PROJ-1, PROJ-2)`; `is reporter of (...)`, `is watcher of (...)`,
  `is voter of (...)`, `is commenter of (...)` (posted a comment on one of the issues), `is transitioner of (...)`
  (made a status change on one of them, as the changelog records it). A project key or id in the list stands for
  all of its issues for every role [unc: the spec shows the project form for assignees only].
- `[propertyKey].path.in.value is "value"`: users whose user property `propertyKey` (`/user/properties`) holds
  that value at that path, e.g. `[location].office.city is "Sydney"` for `{"office": {"city": "Sydney"}}`. The
  value is compared as text; numbers and booleans may be given bare [unc].

Statements are joined with `AND` / `OR`, evaluated left to right [unc: precedence]; keywords are case-insensitive.
An issue nobody changed the watchers of is watched by its reporter (`routes_work`). Anything else is a 400.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from sandbox.jira.errors import fail

if TYPE_CHECKING:
    from sandbox.jira.model import Issue
    from sandbox.jira.sandbox import JiraSandbox

_ROLE = re.compile(r"is\s+(assignee|reporter|watcher|voter|commenter|transitioner)\s+of\s+"
                   r"(\([^)]*\)|[A-Za-z0-9_-]+)", re.I)
_PROP = re.compile(r"\[([^\]]+)\]((?:\.[A-Za-z0-9_$-]+)*)\s+is\s+(\"(?:[^\"\\]|\\.)*\"|[^\s\"()]+)", re.I)
_JOIN = re.compile(r"\s+(AND|OR)\s+", re.I)


def _bad(text: str) -> Exception:
    return fail(400, f"The query '{text.strip()}' is not valid.")  # [unc] wording


def _issues(sb: JiraSandbox, target: str) -> list[Issue]:
    store, out = sb.store, []
    for ref in (t.strip() for t in target.strip("()").split(",")):
        if not ref:
            continue
        project = next((p for p in store.projects.values() if ref.upper() == p.key or ref == p.id), None)
        if project is not None:
            out += [i for i in store.issues.values() if i.project == project.key]
        elif (issue := store.resolve(ref)) is not None:
            out.append(issue)
    return out


def _role_users(sb: JiraSandbox, role: str, issues: list[Issue]) -> set[str]:
    store, people = sb.store, set()
    for issue in issues:
        if role == "assignee" and issue.assignee:
            people.add(issue.assignee)
        elif role == "reporter" and issue.reporter:
            people.add(issue.reporter)
        elif role == "watcher":
            watchers = store.work.get("watchers", {}).get(issue.id)
            people |= set(watchers if watchers is not None else [issue.reporter] if issue.reporter else [])
        elif role == "voter":
            people |= set(store.work.get("votes", {}).get(issue.id, ()))
        elif role == "commenter":
            people |= {c.author for c in store.comments_of(issue) if c.author}
        elif role == "transitioner":
            people |= {h.author for h in store.history_of(issue)
                       if h.author and any(item.get("fieldId", item.get("field")) == "status" for item in h.items)}
    return people


def _literal(raw: str) -> str:
    if raw.startswith('"'):
        return json.loads(raw)
    return raw


def _text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _prop_users(sb: JiraSandbox, key: str, path: str, raw: str) -> set[str]:
    wanted, steps = _literal(raw), [s for s in path.split(".") if s]
    out = set()
    for account, props in sb.store.work.get("user_properties", {}).items():
        if key not in props:
            continue
        node: Any = props[key]
        for step in steps:
            node = node.get(step) if isinstance(node, dict) else None
        if _text(node) == wanted:
            out.add(account)
    return out


def _clause(sb: JiraSandbox, text: str) -> set[str]:
    if m := _ROLE.fullmatch(text.strip()):
        return _role_users(sb, m.group(1).lower(), _issues(sb, m.group(2)))
    if m := _PROP.fullmatch(text.strip()):
        return _prop_users(sb, m.group(1), m.group(2), m.group(3))
    raise _bad(text)


def _split(text: str) -> list[str]:
    """Split on AND / OR outside double quotes: clause, op, clause, op, ..."""
    parts, last, quoted = [], 0, False
    for i, ch in enumerate(text):
        if ch == '"' and (i == 0 or text[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and i >= last and ch.isspace() and (m := _JOIN.match(text, i)):
            parts += [text[last:i], m.group(1).upper()]
            last = m.end()
    parts.append(text[last:])
    return parts


def query_users(sb: JiraSandbox, text: str | None) -> set[str]:
    """The account ids the structured query matches; 400 for a missing or malformed query."""
    if not text or not text.strip():
        raise fail(400, "The query parameter 'query' is required.")  # [unc] wording
    parts = _split(text)
    found = _clause(sb, parts[0])
    for op, clause in zip(parts[1::2], parts[2::2], strict=True):
        found = found & _clause(sb, clause) if op == "AND" else found | _clause(sb, clause)
    return found
