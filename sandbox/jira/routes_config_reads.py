"""Config reads and user queries a sweep found missing (they answered 404 "does not represent any resource").

- GET `/user/search/query?query&startAt&maxResults` (PageBeanUser) and `/user/search/query/key?query&startAt&maxResult`
  (PageBeanUserKey): the spec's structured query, every statement it lists (`user_query`). As the spec says, the window
  `startAt..startAt+maxResults` of all users is taken first and then filtered. Without the Browse users and groups
  global permission (`jira-software-users`, `routes_roles`) both answer 403.
- GET `/user/email?accountId`, `/user/email/bulk?accountId=...`: Connect/Forge-app-only. Every emulator caller is a
  user, so both answer 401 as the spec's "for example if a user is trying to access this API" [unc: body wording].
- GET `/screenscheme` (Administer Jira; paged, default 25; id, queryString, orderBy, expand): the "Default Screen
  Scheme" (id 1, default screen 1) [unc: ids]. It carries `screens` as the spec's 200 example does, though the
  spec's schema marks ScreenTypes write-only.
- GET `/issuetypescreenscheme` (+ `/mapping`, `/project?projectId`) (Administer Jira): the "Default Issue Type
  Screen Scheme" (id "1"), mapping "default" -> screen scheme "1", used by every project [unc]. `expand=projects`
  adds no `projects` to that default scheme, as the spec's 200 example shows it (and its schema allows) [unc].
- GET `/fieldconfigurationscheme/mapping?fieldConfigurationSchemeId` (Administer Jira): there is no field
  configuration scheme (the projects use the system default), so any id is a 404 [unc: wording];
  `/fieldconfigurationscheme/project?projectId` lists one item without `fieldConfigurationScheme` holding the
  projects that use the default (the spec: "The first item contains ... the default field configuration scheme").
- GET `/field/{fieldId}/screens` (Administer Jira; paged, default 100; expand=tab): system fields are on the
  Default and Workflow screens (Resolve Issue Screen too for resolution / fixVersions / assignee) [unc]; an unknown
  field gives an empty page [unc].
- GET `/project/{projectIdOrKey}/features`: a few Jira Software features [unc: names, states]; 404 unknown project.
- GET `/priorityscheme/priorities/available?schemeId`: the default scheme holds every priority, so none is
  available; an unknown scheme is 400 [unc: wording].
- GET `/issue/limit/report` (Administer Jira): no issue is near a limit [unc: limit values].
- GET `/announcementBanner` (Administer Jira): a disabled, empty, private banner [unc].
- GET `/workflows/capabilities?workflowId | projectId&issueTypeId`: the one global workflow, no rules [unc];
  neither form given is a 400.
- GET `/workflows/defaultEditor`: `{"value": "NEW"}` [unc].
- PUT `/issue/{key}?overrideScreenSecurity=true|overrideEditableFlag=true`: 403 for every emulator caller (they are
  users, not Connect/Forge apps; the spec grants the flags to app users with Administer Jira) — `refuse_override`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.core.numbers import ascii_int
from sandbox.jira import catalog as C
from sandbox.jira.admin_guard import admin_only
from sandbox.jira.call import Call, paged
from sandbox.jira.errors import fail
from sandbox.jira.routes_catalog_search import ids_of, page
from sandbox.jira.routes_field_admin import created_fields
from sandbox.jira.routes_site_config import SCREENS
from sandbox.jira.routes_versions import find_project
from sandbox.jira.user_query import query_users

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

OVERRIDE_REFUSED = ("overrideScreenSecurity and overrideEditableFlag are only available to Connect and Forge app "
                    "users with Administer Jira permission.")  # [unc] wording
SCREEN_SCHEME = {"id": 1, "name": "Default Screen Scheme",
                 "description": "Default Screen Scheme", "screens": {"default": 1}}
ITSS = {"id": "1", "name": "Default Issue Type Screen Scheme",
        "description": "The default issue type screen scheme"}
RESOLVE_FIELDS = {"resolution", "fixVersions", "assignee"}
FEATURES = [("jsw.classic.roadmap", "Timeline", "ENABLED"), ("jsw.classic.deployments", "Deployments", "DISABLED"),
            ("jsw.agility.sprints", "Sprints", "ENABLED")]  # [unc]


def refuse_override(c: Call) -> None:
    """403 when a PUT /issue/{key} asks to override screen security or the editable flag (no caller is an app)."""
    if c.qbool("overrideScreenSecurity") or c.qbool("overrideEditableFlag"):
        raise fail(403, OVERRIDE_REFUSED)


def _ints(c: Call, name: str) -> list[str]:
    out = ids_of(c, name)
    for ident in out:
        if not ident.lstrip("-").isdecimal():
            raise fail(400, f"The value '{ident}' is not a valid number.")  # [unc] wording
    return out


def register(sb: JiraSandbox) -> None:
    store = sb.store

    def window(c: Call, limit_name: str) -> tuple[list[str], int, int]:
        if not sb.holds(c.user, "USER_PICKER", []):  # type: ignore[attr-defined]  # routes_roles
            raise fail(403, "You do not have the permission to browse users and groups.")  # [unc] wording
        found = query_users(sb, c.q("query"))
        start, limit = c.qint("startAt", 0), c.qint(limit_name, 100, 1, 1000)
        ids = [u.account_id for u in store.users.values()][start:start + limit]
        return [a for a in ids if a in found], start, limit

    def by_query(c: Call) -> Response:
        hits, start, limit = window(c, "maxResults")
        out = paged([c.r.user(a) for a in hits], 0, limit)
        out.update(startAt=start, isLast=start + limit >= len(store.users))  # [unc] isLast / total of a window
        return json_response(out)

    def keys_by_query(c: Call) -> Response:
        hits, start, limit = window(c, "maxResult")
        out = paged([{"accountId": a} for a in hits], 0, limit)
        out.update(startAt=start, isLast=start + limit >= len(store.users))
        return json_response(out)

    def email(c: Call) -> Response:
        raise fail(401, "This API is only available to Connect and Forge apps.")  # [unc] wording

    def screen_schemes(c: Call) -> Response:
        ids, text = _ints(c, "id"), (c.q("queryString") or "").lower()
        row: dict[str, Any] = dict(SCREEN_SCHEME)
        if "issueTypeScreenSchemes" in (c.q("expand") or ""):
            row["issueTypeScreenSchemes"] = paged([dict(ITSS)], 0, 50)
        keep = (not ids or "1" in ids) and text in row["name"].lower()
        return json_response(page(c, [row] if keep else [], "screenscheme", default=25))

    def itss(c: Call) -> Response:
        ids, text = _ints(c, "id"), (c.q("queryString") or "").lower()
        order = c.q("orderBy") or ""
        if order and order.lstrip("+-") not in ("name", "id"):
            raise fail(400, f"The orderBy value '{order}' is not valid.")  # [unc] wording
        row: dict[str, Any] = dict(ITSS)  # expand=projects adds nothing to the default scheme, as the spec's example
        keep = (not ids or "1" in ids) and text in row["name"].lower()
        return json_response(page(c, [row] if keep else [], "issuetypescreenscheme"))

    def itss_mapping(c: Call) -> Response:
        ids = _ints(c, "issueTypeScreenSchemeId")
        rows = [{"issueTypeScreenSchemeId": "1", "issueTypeId": "default", "screenSchemeId": "1"}]
        return json_response(page(c, rows if not ids or "1" in ids else [], "issuetypescreenscheme/mapping"))

    def projects_of(c: Call) -> list[str]:
        ids = _ints(c, "projectId")
        if not ids:
            raise fail(400, "The projectId parameter is required.")  # [unc] wording
        return [p.id for p in store.projects.values() if p.id in ids]

    def itss_projects(c: Call) -> Response:
        found = projects_of(c)
        rows = [{"issueTypeScreenScheme": dict(ITSS), "projectIds": found}] if found else []
        return json_response(page(c, rows, "issuetypescreenscheme/project"))

    def fcs_mapping(c: Call) -> Response:
        ids = _ints(c, "fieldConfigurationSchemeId")
        if ids:
            raise fail(404, f"The field configuration scheme with ID {ids[0]} was not found.")  # [unc] wording
        return json_response(page(c, [], "fieldconfigurationscheme/mapping"))

    def fcs_projects(c: Call) -> Response:
        found = projects_of(c)
        return json_response(page(c, [{"projectIds": found}] if found else [], "fieldconfigurationscheme/project"))

    def field_screens(c: Call) -> Response:
        fid = c.p["field"]
        wanted: set[int] = set()
        if fid in {f[0] for f in C.system_fields()}:
            wanted = {1, 2} | ({3} if fid in RESOLVE_FIELDS else set())
        elif fid in {f[0] for f in C.custom_fields() + created_fields(sb)}:
            wanted = {1}  # [unc] a custom field sits on the Default Screen only
        rows: list[dict[str, Any]] = []
        for n, name, desc in SCREENS:
            if n in wanted:
                row: dict[str, Any] = {"id": n, "name": name, "description": desc}
                if "tab" in (c.q("expand") or ""):
                    row["tab"] = {"id": 10000 + n, "name": "Field Tab"}  # [unc]
                rows.append(row)
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 100, 1, 100)
        return json_response(paged(rows, start, limit, f"{c.r.api}/field/{fid}/screens"))

    def features(c: Call) -> Response:
        project = store.projects[find_project(sb, c.p["project"])]
        return json_response({"features": [
            {"projectId": int(project.id), "feature": key, "localisedName": name, "localisedDescription": name,
             "state": state, "toggleLocked": False, "prerequisites": [],
             "imageUri": f"{c.r.base}/images/features/{key}.svg"} for key, name, state in FEATURES]})

    def available_priorities(c: Call) -> Response:
        scheme = c.q("schemeId")
        if not scheme:
            raise fail(400, "The schemeId parameter is required.")  # [unc] wording
        if scheme != "1":
            raise fail(400, f"The priority scheme with ID {scheme} does not exist.")  # [unc]
        raw_start, raw_limit = c.q("startAt") or "0", c.q("maxResults") or "50"  # strings in the spec
        # ascii_int, not isdecimal() + int(): '٣' read as 3, 5,000 digits a 500 [round 27]
        start, limit = ascii_int(raw_start, cap=2**31), ascii_int(raw_limit, cap=2**31)
        if start is None or limit is None:
            raise fail(400, "startAt and maxResults must be numbers.")  # [unc] wording
        limit = max(1, limit)
        return json_response(paged([], start, limit))

    def limit_report(c: Call) -> Response:
        return json_response({"issuesApproachingLimit": {}, "issuesBreachingLimit": {},
                              "limits": {"attachment": 2000, "comment": 5000, "issuelinks": 2000,
                                         "remoteIssueLinks": 2000, "worklog": 10000}})  # [unc] limits

    def banner(c: Call) -> Response:
        return json_response({"hashId": "", "isDismissible": True, "isEnabled": False, "message": "",
                              "visibility": "private"})

    def capabilities(c: Call) -> Response:
        if not c.q("workflowId") and not (c.q("projectId") and c.q("issueTypeId")):
            raise fail(400, "Either workflowId or both projectId and issueTypeId are required.")  # [unc]
        return json_response({"editorScope": "GLOBAL", "projectTypes": ["software", "business"],
                              "systemRules": [], "connectRules": [], "forgeRules": [], "triggerRules": []})

    sb.route("GET", r"/user/search/query", by_query)
    sb.route("GET", r"/user/search/query/key", keys_by_query)
    sb.route("GET", r"/user/email", email)
    sb.route("GET", r"/user/email/bulk", email)
    sb.route("GET", r"/screenscheme", admin_only(sb, screen_schemes))
    sb.route("GET", r"/issuetypescreenscheme", admin_only(sb, itss))
    sb.route("GET", r"/issuetypescreenscheme/mapping", admin_only(sb, itss_mapping))
    sb.route("GET", r"/issuetypescreenscheme/project", admin_only(sb, itss_projects))
    sb.route("GET", r"/fieldconfigurationscheme/mapping", admin_only(sb, fcs_mapping))
    sb.route("GET", r"/fieldconfigurationscheme/project", admin_only(sb, fcs_projects))
    sb.route("GET", r"/field/(?P<field>[^/]+)/screens", admin_only(sb, field_screens))
    sb.route("GET", r"/project/(?P<project>[^/]+)/features", features)
    sb.route("GET", r"/priorityscheme/priorities/available", available_priorities)
    sb.route("GET", r"/issue/limit/report", admin_only(sb, limit_report))
    sb.route("GET", r"/announcementBanner", admin_only(sb, banner))
    sb.route("GET", r"/workflows/capabilities", capabilities)
    sb.route("GET", r"/workflows/defaultEditor", lambda c: json_response({"value": "NEW"}))
