"""JQL matching and sanitizing (`/rest/api/3/jql/match`, `/rest/api/3/jql/sanitize`).

- POST `/jql/match` `{"issueIds": [int], "jqls": [str]}` (both required): `{"matches": [{"matchedIssues",
  "errors"}]}` in query order. Issue ids are matched against the live store (not the lagging search index)
  and ids that do not exist are left out; a query that does not parse gives `errors` `["Invalid JQL: <text>"]`
  and no matches, as in the spec's example. More than 1000 ids or 1000 queries is a 400 [unc: limits].
- POST `/jql/sanitize` `{"queries": [{"query", "accountId"?}]}` (Administer Jira; at most 20 unique queries):
  `{"queries": [{"initialQuery", "sanitizedQuery", "accountId"?}]}`; a project clause naming (by key or name)
  a project the account may not browse becomes the project's id, and the query is then written out again
  from its parse; a query with nothing to hide comes back as given. A null or missing accountId sanitizes
  for an anonymous user, who browses no project here. Parse errors give `errors` (an ErrorCollection) and no
  `sanitizedQuery`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira.call import Call
from sandbox.jira.errors import fail
from sandbox.jira.ids import body_int
from sandbox.jira.jql import BoolOp, Clause, Empty, Func, JQLError, Not, Value, parse

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

MAX_MATCH = 1000  # [unc] the spec names a maximum without a number
MAX_SANITIZE = 20


def _value(v: Any) -> str:
    if isinstance(v, Value):
        if v.quoted or any(ch in v.text for ch in ' "\'()[],=!<>~'):
            return '"' + v.text.replace('"', '\\"') + '"'
        return v.text
    if isinstance(v, Func):
        return f"{v.name}({', '.join(v.args)})"
    if isinstance(v, Empty):
        return "EMPTY"
    return "(" + ", ".join(_value(x) for x in v) + ")"


def to_text(node: Any, top: bool = True) -> str:
    """Write a parsed where-expression back as JQL."""
    if isinstance(node, BoolOp):
        text = f" {node.op.upper()} ".join(to_text(x, False) for x in node.items)
        return text if top else f"({text})"
    if isinstance(node, Not):
        return f"NOT {to_text(node.item, False)}"
    c: Clause = node
    field = f'"{c.field}"' if " " in c.field else c.field
    text = f"{field} {c.op.upper() if c.op[0].isalpha() else c.op} {_value(c.operand)}"
    for word, operand in c.predicates:
        text += f" {word.upper()} {_value(operand)}"
    return text


def register(sb: JiraSandbox) -> None:
    def match(c: Call) -> Response:
        body = c.obj()
        ids, jqls = body.get("issueIds"), body.get("jqls")
        if not isinstance(ids, list) or not isinstance(jqls, list):
            raise fail(400, None, {k: f"{k} must be provided." for k, v in (("issueIds", ids), ("jqls", jqls))
                                   if not isinstance(v, list)})  # [unc] wording
        if len(ids) > MAX_MATCH:
            raise fail(400, f"The number of issue IDs must be {MAX_MATCH} or fewer.")  # [unc] wording
        if len(jqls) > MAX_MATCH:
            raise fail(400, f"The number of JQL queries must be {MAX_MATCH} or fewer.")  # [unc] wording
        wanted = [body_int(x) for x in ids]  # not int(): 1e999 an OverflowError (a 500), "٣" read as 3 [round 27]
        if None in wanted:
            raise fail(400, "Can not deserialize value of type long from issueIds.")
        issues = [sb.store.issues[i] for i in dict.fromkeys(wanted) if i in sb.store.issues]
        out = []
        for jql in jqls:
            try:
                pred = sb.jql(str(jql), c.user).pred
            except JQLError:
                out.append({"matchedIssues": [], "errors": [f"Invalid JQL: {jql}"]})
                continue
            out.append({"matchedIssues": [i.id for i in issues if pred(i)], "errors": []})
        return json_response({"matches": out})

    def browsable(account: str | None, project: str) -> bool:
        if not account or account not in sb.store.users:
            return False
        return sb.holds(account, "BROWSE_PROJECTS", [project])  # type: ignore[attr-defined]  # routes_roles

    def hide(node: Any, account: str | None) -> tuple[Any, bool]:
        if isinstance(node, BoolOp):
            parts = [hide(x, account) for x in node.items]
            return BoolOp(node.op, tuple(p for p, _ in parts)), any(ch for _, ch in parts)
        if isinstance(node, Not):
            inner, changed = hide(node.item, account)
            return Not(inner), changed
        if node.field.lower() != "project":
            return node, False

        def one(v: Any) -> tuple[Any, bool]:
            if not isinstance(v, Value):
                return v, False
            proj = next((p for p in sb.store.projects.values()
                         if v.text.upper() == p.key or v.text.lower() == p.name.lower()), None)
            if proj is None or browsable(account, proj.key):
                return v, False
            return Value(proj.id), True

        if isinstance(node.operand, tuple):
            parts = [one(v) for v in node.operand]
            operand: Any = tuple(p for p, _ in parts)
            changed = any(ch for _, ch in parts)
        else:
            operand, changed = one(node.operand)
        return Clause(node.field, node.op, operand, node.predicates), changed

    def sanitize(c: Call) -> Response:
        if not sb.holds(c.user, "ADMINISTER", []):  # type: ignore[attr-defined]
            raise fail(403, "You are not authorized to perform this action. Administrator privileges are required.")
        queries = c.obj().get("queries")
        if not isinstance(queries, list) or not queries:
            raise fail(400, "The queries has to be provided.")
        if len(queries) > MAX_SANITIZE:
            raise fail(400, f"The number of queries must be {MAX_SANITIZE} or fewer.")  # [unc] wording
        seen = set()
        out = []
        for item in queries:
            if not isinstance(item, dict) or not isinstance(item.get("query"), str):
                raise fail(400, "The query has to be provided.")  # [unc] wording
            account = item.get("accountId")
            if (item["query"], account) in seen:
                raise fail(400, "The queries must be unique.")  # [unc] wording
            seen.add((item["query"], account))
            entry: dict[str, Any] = {"initialQuery": item["query"]}
            try:
                q = parse(item["query"])
            except JQLError as exc:
                entry["errors"] = {"errorMessages": [str(exc)], "errors": {}}
            else:
                where, changed = (None, False) if q.where is None else hide(q.where, account)
                text = item["query"]
                if changed:
                    text = to_text(where)
                    if q.order:
                        text += " ORDER BY " + ", ".join(f"{f} {'DESC' if d else 'ASC'}" for f, d in q.order)
                entry["sanitizedQuery"] = text
            if account:
                entry["accountId"] = account
            out.append(entry)
        return json_response({"queries": out})

    sb.route("POST", r"/jql/match", match)
    sb.route("POST", r"/jql/sanitize", sanitize)
