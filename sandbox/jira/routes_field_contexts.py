"""Where a custom field's contexts apply (registered before `routes_field_admin`'s `/context/{id}` routes).

- GET `/field/{id}/context/projectmapping` (`contextId` filter): one row per project a context names, and
  `{"contextId", "isGlobalContext": true}` for a global one. GET `/field/{id}/context/issuetypemapping`: one
  row per issue type a context names, `{"contextId", "isAnyIssueType": true}` when it names none.
- GET `/field/{id}/context/defaultValue`: the contexts' default values; none are ever set here, so the page
  is empty (an entry must name its value `type`, which a context without a default has none of).
- POST `/field/{id}/context/mapping` `{"mappings": [{"projectId", "issueTypeId"}]}`: the context that applies
  to each pair (a project context before a global one; an issue-type-specific one before "any"), or
  `contextId: null`. Unknown projects or issue types are a 404, a repeated pair a 400.
- GET `/field/search/trashed` (`id`, `query` on the name, paged): the custom fields in the trash.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira.admin_guard import admin_only
from sandbox.jira.call import Call, paged
from sandbox.jira.errors import fail
from sandbox.jira.routes_field_admin import KINDS, PREFIX, field_contexts, field_num

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox


def applying(contexts: list[dict[str, Any]], project: str, issue_type: str) -> str | None:
    """The id of the context Jira uses for an issue of `issue_type` in `project`, or None."""
    def rank(ctx: dict[str, Any]) -> tuple[int, int] | None:
        if ctx["projectIds"] and project not in ctx["projectIds"]:
            return None
        if ctx["issueTypeIds"] and issue_type not in ctx["issueTypeIds"]:
            return None
        return (0 if ctx["projectIds"] else 1, 0 if ctx["issueTypeIds"] else 1)

    ranked = sorted((r, str(ctx["id"])) for ctx in contexts if (r := rank(ctx)) is not None)
    return ranked[0][1] if ranked else None


def register(sb: JiraSandbox) -> None:
    def chosen(c: Call) -> list[dict[str, Any]]:
        contexts = list(field_contexts(sb, field_num(sb, c.p["field"], own=False)).values())
        wanted = {x for item in c.qlist("contextId") for x in item.split(",") if x}
        return [x for x in contexts if not wanted or str(x["id"]) in wanted]

    def page(c: Call, rows: list[Any]) -> Response:
        return json_response(paged(rows, c.qint("startAt", 0), c.qint("maxResults", 50, 1, 100)))

    def project_mapping(c: Call) -> Response:
        rows: list[dict[str, Any]] = []
        for ctx in chosen(c):
            rows += ([{"contextId": str(ctx["id"]), "projectId": p} for p in ctx["projectIds"]] if ctx["projectIds"]
                     else [{"contextId": str(ctx["id"]), "isGlobalContext": True}])
        return page(c, rows)

    def type_mapping(c: Call) -> Response:
        rows: list[dict[str, Any]] = []
        for ctx in chosen(c):
            rows += ([{"contextId": str(ctx["id"]), "issueTypeId": t} for t in ctx["issueTypeIds"]]
                     if ctx["issueTypeIds"] else [{"contextId": str(ctx["id"]), "isAnyIssueType": True}])
        return page(c, rows)

    def default_values(c: Call) -> Response:
        chosen(c)  # 404 for an unknown field
        return page(c, [])

    def mapping(c: Call) -> Response:
        contexts = list(field_contexts(sb, field_num(sb, c.p["field"], own=False)).values())
        pairs = c.obj().get("mappings")
        if not isinstance(pairs, list) or not pairs:
            raise fail(400, None, {"mappings": "At least one mapping is required."})
        keys = [(str(m.get("projectId")), str(m.get("issueTypeId"))) for m in pairs if isinstance(m, dict)]
        if len(set(keys)) != len(keys) or len(keys) != len(pairs):
            raise fail(400, "Duplicate project and issue type mappings cannot be provided.")
        known = {p.id for p in sb.store.projects.values()}
        missing = sorted({p for p, _t in keys if p not in known})
        if missing:
            raise fail(404, f"These projects were not found: {', '.join(missing)}.")
        unknown = sorted({t for _p, t in keys if t not in sb.store.issue_types})
        if unknown:
            raise fail(404, f"These issue types were not found: {', '.join(unknown)}.")
        return page(c, [{"projectId": p, "issueTypeId": t, "contextId": applying(contexts, p, t)} for p, t in keys])

    def trashed(c: Call) -> Response:
        ids = {x for item in c.qlist("id") for x in item.split(",") if x}
        text = (c.q("query") or "").lower()
        rows = []
        for f in list(sb.store.work.get("fields", {}).values()):
            fid = f"customfield_{f['num']}"
            if not f.get("trashed") or (ids and fid not in ids) or text not in f["name"].lower():
                continue
            typ, items = KINDS[f["kind"]]
            rows.append({"id": fid, "key": fid, "name": f["name"], "description": f.get("description") or "",
                         "schema": {"type": typ, "custom": PREFIX + f["kind"], "customId": f["num"],
                                    **({"items": items} if items else {})},
                         **({"searcherKey": f["searcherKey"]} if f.get("searcherKey") else {})})
        return page(c, rows)

    sb.route("GET", r"/field/search/trashed", trashed)
    base = r"/field/(?P<field>[^/]+)/context"
    sb.route("GET", base + r"/projectmapping", project_mapping)
    sb.route("GET", base + r"/issuetypemapping", type_mapping)
    sb.route("GET", base + r"/defaultValue", default_values)
    sb.route("POST", base + r"/mapping", admin_only(sb, mapping))
