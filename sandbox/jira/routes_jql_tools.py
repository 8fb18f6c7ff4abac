"""JQL tooling: parse/validate, autocomplete reference data and value suggestions.

- POST `/jql/parse?validation=strict|warn|none` `{"queries": [...]}`: per query `{"query", "structure"?,
  "errors"?, "warnings"?}`; syntax errors always fail a query, unknown fields/values are errors under
  `strict`, warnings under `warn` and ignored under `none`. `structure` is Jira's JqlQuery (`where` clauses:
  field/operator/operand, compound `and|or|not`, WAS/CHANGED `predicates`; `orderBy.fields`).
- GET|POST `/jql/autocompletedata`: `visibleFieldNames` (each searchable field's clause names with operators
  and types; custom fields with `cfid`), `visibleFunctionNames`, `jqlReservedWords`.
- GET `/jql/autocompletedata/suggestions?fieldName=&fieldValue=`: `{"results": [{"value", "displayName"}]}`
  for project, status, type, priority, resolution, labels, assignee/reporter/creator, sprint, component and
  fixVersion/affectedVersion; the typed prefix is in `<b>..</b>` as Jira shows it.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira import catalog as C
from sandbox.jira.call import Call
from sandbox.jira.errors import fail
from sandbox.jira.jql import BoolOp, Clause, Empty, Func, JQLError, Not, Value, parse

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

FUNCTIONS = {f.lower(): f for f in (
    "currentUser", "membersOf", "now", "startOfDay", "endOfDay", "startOfWeek", "endOfWeek", "startOfMonth",
    "endOfMonth", "startOfYear", "endOfYear", "openSprints", "closedSprints", "futureSprints", "linkedIssues",
    "watchedIssues", "votedIssues", "releasedVersions", "unreleasedVersions", "latestReleasedVersion",
    "earliestUnreleasedVersion", "projectsWhereUserHasPermission", "projectsLeadByUser",
    "issuesWithRemoteLinksByGlobalId", "componentsLeadByUser")}
FUNCTION_TYPES = {"currentUser": "com.atlassian.jira.user.ApplicationUser", "membersOf": "com.atlassian.jira.user."
                  "ApplicationUser", "openSprints": "com.atlassian.greenhopper.service.sprint.Sprint",
                  "closedSprints": "com.atlassian.greenhopper.service.sprint.Sprint",
                  "futureSprints": "com.atlassian.greenhopper.service.sprint.Sprint",
                  "releasedVersions": "com.atlassian.jira.project.version.Version",
                  "unreleasedVersions": "com.atlassian.jira.project.version.Version",
                  "latestReleasedVersion": "com.atlassian.jira.project.version.Version",
                  "earliestUnreleasedVersion": "com.atlassian.jira.project.version.Version",
                  "projectsWhereUserHasPermission": "com.atlassian.jira.project.Project",
                  "projectsLeadByUser": "com.atlassian.jira.project.Project",
                  "componentsLeadByUser": "com.atlassian.jira.bc.project.component.ProjectComponent",
                  **dict.fromkeys(("linkedIssues", "watchedIssues", "votedIssues", "issuesWithRemoteLinksByGlobalId"),
                                  "com.atlassian.jira.issue.Issue")}
LIST_FUNCTIONS = {"membersOf", "openSprints", "closedSprints", "futureSprints", "linkedIssues", "watchedIssues",
                  "votedIssues", "releasedVersions", "unreleasedVersions", "projectsWhereUserHasPermission",
                  "projectsLeadByUser", "issuesWithRemoteLinksByGlobalId",
                  "componentsLeadByUser"}
JAVA = {"string": "java.lang.String", "number": "java.lang.Number", "datetime": "java.util.Date",
        "date": "java.util.Date", "user": "com.atlassian.jira.user.ApplicationUser",
        "status": "com.atlassian.jira.issue.status.Status", "project": "com.atlassian.jira.project.Project",
        "priority": "com.atlassian.jira.issue.priority.Priority", "issuetype": "com.atlassian.jira.issue."
        "issuetype.IssueType", "resolution": "com.atlassian.jira.issue.resolution.Resolution",
        "version": "com.atlassian.jira.project.version.Version", "component": "com.atlassian.jira.bc.project."
        "component.ProjectComponent", "json": "com.atlassian.greenhopper.service.sprint.Sprint",
        "issuelink": "com.atlassian.jira.issue.Issue"}
TEXT = {"summary", "description", "environment", "comment"}
HISTORY = {"status", "assignee", "reporter", "priority", "resolution"}
RESERVED = ["a", "an", "abort", "access", "add", "after", "alias", "all", "alter", "and", "any", "as", "asc",
            "before", "begin", "between", "by", "changed", "check", "create", "date", "default", "delete", "desc",
            "during", "empty", "false", "from", "in", "is", "not", "null", "on", "or", "order", "select", "set",
            "to", "true", "was", "where", "with"]


def _enc(name: str) -> str:
    return f'"{name}"' if any(ch in name for ch in ' "\'()[],=!<>~') else name


def _operand(op: Any) -> dict[str, Any]:
    if isinstance(op, Value):
        return {"value": op.text, "encodedValue": f'"{op.text}"' if op.quoted else op.text}
    if isinstance(op, Func):
        name = FUNCTIONS.get(op.name.lower(), op.name)
        return {"function": name, "arguments": list(op.args), "encodedOperand": f"{name}({', '.join(op.args)})"}
    if isinstance(op, Empty):
        return {"keyword": "empty"}
    values = [_operand(v) for v in op]
    return {"values": values, "encodedOperand": "(" + ", ".join(v.get("encodedValue") or v.get("encodedOperand", "")
                                                              for v in values) + ")"}


def structure(node: Any) -> dict[str, Any]:
    if isinstance(node, BoolOp):
        return {"operator": node.op, "clauses": [structure(x) for x in node.items]}
    if isinstance(node, Not):
        return {"operator": "not", "clauses": [structure(node.item)]}
    assert isinstance(node, Clause)
    out: dict[str, Any] = {"field": {"name": node.field, "encodedName": _enc(node.field)}, "operator": node.op}
    if node.op != "changed":
        out["operand"] = _operand(node.operand)
    if node.predicates or node.op == "changed":
        out["predicates"] = [{"operator": word, "operand": _operand(op)} for word, op in node.predicates]
    return out


def _fields() -> list[dict[str, Any]]:
    out = []
    for fid, _name, typ, extra, clauses in C.system_fields() + C.custom_fields():
        java = JAVA.get(extra.get("items", typ), "java.lang.String")
        if fid in TEXT:
            ops = ["~", "!~", "is", "is not"]
        else:
            ops = ["=", "!=", "in", "not in", "is", "is not"]
            if typ in ("datetime", "date", "number"):
                ops += ["<", "<=", ">", ">="]
            if fid in HISTORY:
                ops += ["was", "was in", "was not", "was not in", "changed"]
        for clause in clauses:
            bean = {"value": _enc(clause), "displayName": _enc(clause), "orderable": "true", "searchable": "true",
                    "auto": "true" if fid not in TEXT else "false", "operators": ops, "types": [java]}
            if fid.startswith("customfield_"):
                bean["cfid"] = f"cf[{extra['customId']}]"
            out.append(bean)
    for name, ops, java in WORKLOG_CLAUSES:  # searchable, not sortable (jql_worklog) [unc] their beans' details
        out.append({"value": name, "displayName": name, "orderable": "false", "searchable": "true",
                    "auto": "false" if ops[0] == "~" else "true", "operators": ops, "types": [java]})
    return out


WORKLOG_CLAUSES = (
    ("worklogAuthor", ["=", "!=", "in", "not in"], "com.atlassian.jira.user.ApplicationUser"),
    ("worklogComment", ["~", "!~"], "java.lang.String"),
    ("worklogDate", ["=", "!=", "in", "not in", "<", "<=", ">", ">="], "java.util.Date"))


def _reference() -> dict[str, Any]:
    funcs = [{"value": f"{name}()", "displayName": f"{name}()", "types": [FUNCTION_TYPES.get(name, "java.util.Date")],
              **({"isList": "true"} if name in LIST_FUNCTIONS else {})} for name in FUNCTIONS.values()]
    return {"visibleFieldNames": _fields(), "visibleFunctionNames": funcs, "jqlReservedWords": RESERVED}


def register(sb: JiraSandbox) -> None:
    def parse_queries(c: Call) -> Response:
        mode = c.q("validation") or "strict"
        if mode not in ("strict", "warn", "none"):
            raise fail(400, f"Invalid validation mode: {mode}.")
        queries = c.obj().get("queries")
        if not isinstance(queries, list) or not queries:
            raise fail(400, None, {"queries": "At least one query is required."})
        out = []
        for text in queries:
            entry: dict[str, Any] = {"query": text}
            try:
                tree = parse(str(text))
            except JQLError as exc:
                entry["errors"] = [str(exc)]
                out.append(entry)
                continue
            entry["structure"] = {k: v for k, v in (
                ("where", structure(tree.where) if tree.where is not None else None),
                ("orderBy", {"fields": [{"field": {"name": f, "encodedName": _enc(f)}, "direction":
                                         "desc" if desc else "asc"} for f, desc in tree.order]} if tree.order
                 else None)) if v is not None}
            if mode != "none":
                try:
                    sb.jql(str(text), c.user)
                except JQLError as exc:
                    entry["errors" if mode == "strict" else "warnings"] = [str(exc)]
            out.append(entry)
        return json_response({"queries": out})

    def suggestions(c: Call) -> Response:
        field = (c.q("fieldName") or "").strip().strip('"').lower()
        typed = (c.q("fieldValue") or "").strip().strip('"')
        store = sb.store
        work = store.work
        pairs: list[tuple[str, str]] = []
        if field == "project":
            pairs = [(p.key, f"{p.name} ({p.key})") for p in store.projects.values()]
        elif field == "status":
            pairs = [(v[0], v[0]) for v in C.STATUSES.values()]
        elif field in ("issuetype", "type"):
            pairs = [(v[0], v[0]) for v in sb.store.issue_types.values()]
        elif field == "priority":
            pairs = [(v, v) for v in C.PRIORITIES.values()]
        elif field == "resolution":
            pairs = [(v[0], v[0]) for v in C.RESOLUTIONS.values()]
        elif field == "labels":
            pairs = [(lab, lab) for lab in sorted({x for i in list(store.issues.values()) for x in i.labels})]
        elif field in ("assignee", "reporter", "creator"):
            pairs = [(u.account_id, u.display_name) for u in store.users.values()]
        elif field == "sprint":
            pairs = [(str(s.id), f"{s.name} ({store.boards[s.board_id].name})" if s.board_id in store.boards
                      else s.name) for s in store.sprints.values()]
        elif field == "component":
            pairs = [(x["name"], x["name"]) for x in work["components"].values()]
        elif field in ("fixversion", "affectedversion"):
            pairs = [(x["name"], x["name"]) for x in work["versions"].values()]
        low = typed.lower()
        results = []
        if field not in ("assignee", "reporter", "creator"):  # people may share a name; values are unique
            pairs = list(dict(pairs).items())
        for value, shown in pairs:
            words = [shown, *shown.split()]
            hit = next((w for w in words if w.lower().startswith(low)), None) if low else shown
            if hit is None:
                continue
            display = html.escape(shown)
            if low:
                at = shown.find(hit)
                display = (html.escape(shown[:at]) + "<b>" + html.escape(shown[at:at + len(typed)]) + "</b>"
                           + html.escape(shown[at + len(typed):]))
            results.append({"value": value, "displayName": display})
        return json_response({"results": results[:15]})

    sb.route("POST", r"/jql/parse", parse_queries, anonymous=True)
    sb.route("GET", r"/jql/autocompletedata", lambda c: json_response(_reference()))
    sb.route("POST", r"/jql/autocompletedata", lambda c: (c.obj(), json_response(_reference()))[1])
    sb.route("GET", r"/jql/autocompletedata/suggestions", suggestions)
