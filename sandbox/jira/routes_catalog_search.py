"""Paged searches over the site's catalog (registered before the single-item lookups of `routes_config`).

- GET `/priority/search` (`id` repeated, `priorityName` contains, `onlyDefault`, `projectId`; Medium is the
  default priority), GET `/resolution/search` (`id`, `onlyDefault`; no resolution is the default).
- GET `/statuses/search` (`searchString` on the name, `statusCategory` TODO|IN_PROGRESS|DONE, `projectId`:
  statuses scoped to that team-managed project, so none here; default `maxResults` 200) and GET `/statuses?id=`
  (JiraStatus beans; global statuses carry `scope: {"type": "GLOBAL"}`).
- GET `/workflows/search` (`queryString` on the name, `isActive`, `expand=values.transitions`): the site's one
  global workflow with every status and the global transitions 11/21/31/41 (and the initial "Create").
The deprecated `/workflow` and `/workflow/search` were removed from Jira Cloud in 2026 and are not served.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira import catalog as C
from sandbox.jira.call import Call, paged
from sandbox.jira.errors import fail

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

DEFAULT_PRIORITY = "3"
COLORS = {"1": "#d04437", "2": "#f15C75", "3": "#f79232", "4": "#707070", "5": "#999999"}
CATEGORY = {"new": "TODO", "indeterminate": "IN_PROGRESS", "done": "DONE"}
WORKFLOW_ID = "5ed312c5-f7a6-4a78-a1f6-8ff7f3070001"
WORKFLOW_NAME = "Software Simplified Workflow"


def ids_of(c: Call, name: str) -> list[str]:
    """A repeatable (or comma-separated) query parameter's values."""
    return [x.strip() for item in c.qlist(name) for x in item.split(",") if x.strip()]


def status_json(sid: str) -> dict[str, Any]:
    name, cat, desc = C.STATUSES[sid]
    return {"id": sid, "name": name, "description": desc, "statusCategory": CATEGORY[cat],
            "scope": {"type": "GLOBAL"}}


def page(c: Call, items: list[Any], path: str, default: int = 50) -> dict[str, Any]:
    start, limit = c.qint("startAt", 0), c.qint("maxResults", default, 1, 1000)
    out = paged(items, start, limit, f"{c.r.api}/{path}?startAt={start}&maxResults={limit}")
    if not out["isLast"]:
        out["nextPage"] = f"{c.r.api}/{path}?startAt={start + limit}&maxResults={limit}"
    return out


def _workflow(c: Call, transitions: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": WORKFLOW_ID, "name": WORKFLOW_NAME, "description": "The workflow every project of this site uses.",
        "scope": {"type": "GLOBAL"}, "isEditable": True, "version": {"id": WORKFLOW_ID, "versionNumber": 1},
        "created": "2025-11-01T00:00:00.000+0000", "updated": "2025-11-01T00:00:00.000+0000",
        "statuses": [{"statusReference": sid, "deprecated": False, "properties": {},
                      "layout": {"x": 200.0 * n, "y": 0.0}} for n, sid in enumerate(C.STATUSES)],
        "startPointLayout": {"x": -100.0, "y": 0.0}}
    if transitions:
        out["transitions"] = [{"id": "1", "name": "Create", "description": "", "type": "INITIAL",
                               "toStatusReference": C.TODO_STATUS, "links": [], "actions": [], "validators": [],
                               "triggers": [], "properties": {}}] + [
            {"id": tid, "name": C.STATUSES[sid][0], "description": "", "type": "GLOBAL", "toStatusReference": sid,
             "links": [], "actions": [], "validators": [], "triggers": [], "properties": {}}
            for tid, sid in C.TRANSITIONS.items()]
    return out


def register(sb: JiraSandbox) -> None:
    def priority_search(c: Call) -> Response:
        wanted, projects = ids_of(c, "id"), ids_of(c, "projectId")
        for pid in projects:
            if not any(p.id == pid for p in sb.store.projects.values()):
                raise fail(400, f"The project with ID '{pid}' does not exist.")
        name = (c.q("priorityName") or "").lower()
        out = []
        for pid in C.PRIORITIES:
            if (wanted and pid not in wanted) or name not in C.PRIORITIES[pid].lower():
                continue
            if c.qbool("onlyDefault") and pid != DEFAULT_PRIORITY:
                continue
            bean = c.r.priority(pid) or {}
            bean.update(description=f"{C.PRIORITIES[pid]} priority.", statusColor=COLORS[pid],
                        isDefault=pid == DEFAULT_PRIORITY)
            out.append(bean)
        return json_response(page(c, out, "priority/search"))

    def resolution_search(c: Call) -> Response:
        wanted = ids_of(c, "id")
        out = [] if c.qbool("onlyDefault") else [
            {**(c.r.resolution(rid) or {}), "default": False} for rid in C.RESOLUTIONS if not wanted or rid in wanted]
        return json_response(page(c, out, "resolution/search"))

    def statuses_search(c: Call) -> Response:
        category = c.q("statusCategory")
        if category and category not in CATEGORY.values():
            raise fail(400, f"Invalid status category: {category}.")
        text = (c.q("searchString") or "").lower()
        scoped = c.q("projectId")
        if scoped and not any(p.id == scoped for p in sb.store.projects.values()):
            raise fail(400, f"The project with ID '{scoped}' does not exist.")
        out = [status_json(sid) for sid in C.STATUSES
               if not scoped and text in C.STATUSES[sid][0].lower()
               and (not category or CATEGORY[C.STATUSES[sid][1]] == category)]
        return json_response(page(c, out, "statuses/search", 200))

    def statuses(c: Call) -> Response:
        wanted = ids_of(c, "id")
        if not wanted:
            raise fail(400, "The id parameter is required.")
        return json_response([status_json(sid) for sid in wanted if sid in C.STATUSES])

    def workflows_search(c: Call) -> Response:
        text = (c.q("queryString") or "").lower()
        expand = {e.strip() for item in c.qlist("expand") for e in item.split(",")}
        active = c.qbool("isActive")
        found = text in WORKFLOW_NAME.lower() and active is not False
        out = page(c, [_workflow(c, "values.transitions" in expand)] if found else [], "workflows/search")
        out["statuses"] = [{**status_json(sid), "statusReference": sid} for sid in C.STATUSES] if found else []
        return json_response(out)

    sb.route("GET", r"/priority/search", priority_search)
    sb.route("GET", r"/resolution/search", resolution_search)
    sb.route("GET", r"/statuses/search", statuses_search)
    sb.route("GET", r"/statuses", statuses)
    sb.route("GET", r"/workflows/search", workflows_search)
