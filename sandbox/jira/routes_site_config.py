"""Site-wide settings apps read before they work: project types, application roles, global configuration,
time tracking, the caller's locale, the licence, issue events, project key/name validation, bulk "is watching".

- GET `/project/type`, `/project/type/accessible`, `/project/type/{key}` (`/accessible`): software, business,
  service_desk (404 for others). Registered before `GET /project/{key}`.
- GET `/applicationrole`, `/applicationrole/{key}` (jira-software; its groups are `jira-software-users`).
- GET `/configuration` (voting, watching, sub-tasks, linking, time tracking and attachments on; 8 h days, 5 day
  weeks), `/configuration/timetracking` (the Jira provider), `/configuration/timetracking/list`,
  `/configuration/timetracking/options`; GET `/mypreferences/locale` (`en_US`); GET `/instance/license`;
  GET `/events`.
- GET `/projectvalidate/key?key=` (an ErrorCollection, 200 either way), `/projectvalidate/validProjectKey?key=`
  and `/validProjectName?name=` (a free key/name derived from the one given, as a JSON string).
- POST `/issue/watching` `{"issueIds"}`: `{"issuesIsWatching": {id: bool}}` for the caller (unknown ids left out).
- GET `/project/recent` (every project, as project beans), GET `/issuetype/project?projectId=` (the site's
  issue types; scoped to a team-managed project), GET|PUT `/filter/defaultShareScope` (`PRIVATE` until set),
  GET `/issue/picker?query=&currentJQL=` (a "History Search" section of up to 20 issues whose key or summary
  matches, and a "Current Search" one from `currentJQL`).
- GET `/project/{id}/hierarchy`: the project's issue types by hierarchy level (Subtask -1, Base 0, Epic 1).
- GET `/screens` (paged; `id`, `queryString`): Default, Workflow and Resolve Issue screens; GET
  `/avatar/{issuetype|project|user|priority}/system` (`{"system": [...]}`, three system avatars each).
- Issue navigator columns: GET `/settings/columns` (the site default), GET|PUT `/user/columns` (`accountId`,
  default the caller; another user's need Administer Jira, else 403; PUT takes `columns=` form values or a JSON
  list; unknown fields are a 400).
  GET|PUT|DELETE `/filter/{id}/columns`: a saved filter's own columns (GET 404 until set, as the spec says;
  PUT by the owner only, else 403; navigable fields only; DELETE resets, 204; an unknown filter is a 400, and
  so is, for GET and DELETE, one the caller may not see (`sees_filter`); another viewer's DELETE changes nothing).
- GET|PUT|DELETE `/mypreferences?key=` (the caller's preference strings; 404 for a key never set).
- GET `/rest/applinks/latest/listApplicationlinks`: `[]` (no linked Confluence), which pycontribs reads before
  adding remote links.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from sandbox.core.http import Response, json_response
from sandbox.jira import catalog as C
from sandbox.jira.admin_guard import admin_only
from sandbox.jira.call import Call, paged
from sandbox.jira.errors import fail
from sandbox.jira.ids import is_id
from sandbox.jira.jql import JQLError
from sandbox.jira.routes_children import multipart_parts
from sandbox.jira.routes_filter_shares import sees_filter
from sandbox.jira.routes_groups import group_id, groups_of
from sandbox.jira.routes_platform import _type_details, project_bean
from sandbox.jira.routes_project_admin import key_error
from sandbox.jira.routes_social import NO_FILTER

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

TYPES = {"software": ("Software", "#8777D9"), "business": ("Business", "#FFFFFF"),
         "service_desk": ("Service Desk", "#FFAB00")}
EVENTS = ["Issue Created", "Issue Updated", "Issue Assigned", "Issue Resolved", "Issue Closed", "Issue Commented",
          "Issue Comment Edited", "Issue Reopened", "Issue Deleted", "Issue Moved", "Work Logged On Issue",
          "Work Started On Issue", "Work Stopped On Issue", "Issue Worklog Updated", "Issue Worklog Deleted",
          "Generic Event", "Issue Comment Deleted"]
SCREENS = [(1, "Default Screen", "Provides for the update all system fields."),
           (2, "Workflow Screen", "This screen is used in the workflow and enables you to assign issues."),
           (3, "Resolve Issue Screen", "Offers the ability to set resolution, change fix versions, and assign an "
                                       "issue.")]
NOT_NAVIGABLE = {"comment", "worklog"}  # as `render.NAVIGABLE` leaves them out
DEFAULT_COLUMNS = ["issuetype", "issuekey", "summary", "assignee", "reporter", "priority", "status", "resolution",
                   "created", "updated", "duedate"]
AVATAR_TYPES = {"issuetype", "project", "user", "priority"}
TRACKING = {"key": "JIRA", "name": "JIRA provided time tracking"}
TRACKING_OPTIONS = {"workingHoursPerDay": 8.0, "workingDaysPerWeek": 5.0, "timeFormat": "pretty",
                    "defaultUnit": "minute"}


def _entity(seed: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"jira-sandbox:{seed}"))


def _type_bean(key: str) -> dict[str, Any]:
    name, color = TYPES[key]
    return {"key": key, "formattedKey": name, "descriptionI18nKey": f"jira.project.type.{key}.description",
            "icon": "", "color": color}


def register(sb: JiraSandbox) -> None:
    def project_type(c: Call) -> Response:
        if c.p["kind"] not in TYPES:
            raise fail(404, f"The project type '{c.p['kind']}' does not exist.")
        return json_response(_type_bean(c.p["kind"]))

    def role_bean(c: Call) -> dict[str, Any]:
        group = "jira-software-users"
        details = [{"name": group, "groupId": group_id(group), "self": f"{c.r.api}/group?groupId={group_id(group)}"}]
        users = len(groups_of(sb).get(group, ()))
        return {"key": "jira-software", "name": "Jira Software", "groups": [group], "groupDetails": details,
                "defaultGroups": [group], "defaultGroupsDetails": details, "selectedByDefault": False,
                "defined": True, "numberOfSeats": 35000, "remainingSeats": 35000 - users, "userCount": users,
                "userCountDescription": "users", "hasUnlimitedSeats": False, "platform": False}

    def application_role(c: Call) -> Response:
        if c.p["role"] != "jira-software":
            raise fail(404, f"The application role '{c.p['role']}' does not exist.")
        return json_response(role_bean(c))

    def validate_key(c: Call) -> Response:
        problem = key_error(sb, (c.q("key") or "").strip())
        if problem and "uses this project key" in problem:
            problem = "A project with that project key already exists."
        return json_response({"errorMessages": [], "errors": {"projectKey": problem} if problem else {}})

    def valid_key(c: Call) -> Response:
        base = re.sub(r"[^A-Z0-9]", "", (c.q("key") or "").upper())
        base = base if base[:1].isalpha() else "P" + base
        base = (base + "X")[:10] if len(base) < 2 else base[:10]
        candidate, n = base, 1
        while key_error(sb, candidate):
            n += 1
            candidate = f"{base[:10 - len(str(n))]}{n}"
        return json_response(candidate)

    def valid_name(c: Call) -> Response:
        base = (c.q("name") or "").strip() or "Project"
        taken = {p.name.lower() for p in sb.store.projects.values()}
        candidate, n = base, 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{base} {n}"
        return json_response(candidate)

    def watching(c: Call) -> Response:
        ids = c.obj().get("issueIds")
        if not isinstance(ids, list):
            raise fail(400, None, {"issueIds": "Issue IDs must be provided."})
        out = {}
        for ref in ids:
            issue = sb.store.resolve(ref)
            if issue is not None:
                people = sb.store.work["watchers"].get(issue.id)
                people = [issue.reporter] if people is None and issue.reporter else people or []
                out[str(issue.id)] = c.user in people
        return json_response({"issuesIsWatching": out})

    def issue_types_of(c: Call) -> Response:
        ref = c.q("projectId")
        if not ref:
            raise fail(400, "The projectId parameter is required.")
        project = next((p for p in sb.store.projects.values() if p.id == ref), None)
        if project is None:
            raise fail(404, f"No project could be found with id '{ref}'.")
        scope = {"scope": {"type": "PROJECT", "project": {"id": project.id}}} if project.simplified else {}
        level = c.q("level")
        return json_response([{**_type_details(c, t), **scope} for t in sb.store.issue_types
                              if level is None or str(sb.store.issue_types[t][1]) == level])

    def share_scope(c: Call) -> Response:
        scopes = sb.store.work.setdefault("share_scope", {})
        if c.req.method == "PUT":
            scope = c.obj().get("scope")
            if scope not in ("GLOBAL", "AUTHENTICATED", "PRIVATE"):
                raise fail(400, f"Invalid share scope: {scope}.")
            scopes[c.user] = scope
        return json_response({"scope": scopes.get(c.user, "PRIVATE")})

    def picker(c: Call) -> Response:
        text = (c.q("query") or "").strip().lower()
        issues = sorted(list(sb.store.issues.values()), key=lambda i: -i.updated)

        def suggestion(i: Any) -> dict[str, Any]:
            icon = f"/images/icons/issuetypes/{sb.store.issue_types[i.type_id][0]}.svg"
            return {"key": i.key, "keyHtml": i.key, "img": icon, "summary": i.summary, "summaryText": i.summary,
                    "id": i.id}

        hits = [i for i in issues if not text or i.key.lower().startswith(text) or text in i.summary.lower()]
        sections = [{"label": "History Search", "sub": f"Showing {min(20, len(hits))} of {len(hits)} matching issues",
                     "id": "hs", "issues": [suggestion(i) for i in hits[:20]]}]
        current = c.q("currentJQL")
        if current:
            try:
                pred = sb.jql(current, c.user).pred
            except JQLError as exc:
                raise fail(400, str(exc)) from None
            found = [i for i in hits if pred(i)]
            sections.append({"label": "Current Search", "sub": f"Showing {min(20, len(found))} of {len(found)} "
                             "matching issues", "id": "cs", "issues": [suggestion(i) for i in found[:20]]})
        return json_response({"sections": sections})

    def hierarchy(c: Call) -> Response:
        project = next((p for p in sb.store.projects.values() if c.p["project"] in (p.id, p.key)), None)
        if project is None:
            raise fail(404, f"No project could be found with id '{c.p['project']}'.")
        levels: dict[int, list[dict[str, Any]]] = {}
        for tid, (name, level, _sub, _desc) in list(sb.store.issue_types.items()):
            levels.setdefault(level, []).append({"id": int(tid), "name": name, "avatarId": 10300 + int(tid) % 100})
        names = {-1: "Subtask", 0: "Base", 1: "Epic"}
        return json_response({"projectId": int(project.id), "hierarchy": [
            {"entityId": _entity(f"level{n}"), "level": n, "name": names.get(n, f"Level {n}"), "issueTypes": types}
            for n, types in sorted(levels.items())]})

    def screens(c: Call) -> Response:
        ids = {x for item in c.qlist("id") for x in item.split(",") if x}
        text = (c.q("queryString") or "").lower()
        rows = [{"id": n, "name": name, "description": desc} for n, name, desc in SCREENS
                if (not ids or str(n) in ids) and text in name.lower()]
        if (c.q("orderBy") or "").lstrip("+-") == "name":
            rows.sort(key=lambda r: r["name"], reverse=(c.q("orderBy") or "").startswith("-"))
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 100, 1, 100)
        return json_response(paged(rows, start, limit, f"{c.r.api}/screens"))

    def system_avatars(c: Call) -> Response:
        kind = c.p["kind"]
        if kind not in AVATAR_TYPES:
            raise fail(400, f"Avatar type '{kind}' is not supported.")
        sizes = {"16x16": "xsmall", "24x24": "small", "32x32": "medium", "48x48": None}
        return json_response({"system": [
            {"id": str(n), "isSystemAvatar": True, "isSelected": False, "isDeletable": False, "urls": {
                k: f"{c.base}/secure/viewavatar?{f'size={v}&' if v else ''}avatarId={n}&avatarType={kind}"
                for k, v in sizes.items()}} for n in (10300, 10301, 10302)]})

    def columns_of(ids: list[str]) -> list[dict[str, str]]:
        names = {f[0]: f[1] for f in C.system_fields() + C.custom_fields()}
        names["issuekey"] = "Key"
        return [{"label": names[i], "value": i} for i in ids]

    def user_columns(c: Call) -> Response:
        account = c.q("accountId") or c.user
        # the spec: another user's columns (read or set) need Administer Jira, else 403 [unc: the text]
        if account != c.user and not sb.holds(c.user, "ADMINISTER", []):  # type: ignore[attr-defined]
            raise fail(403, "You do not have permission to access the columns of this user.")
        if account not in sb.store.users:
            raise fail(404, f"The user with account ID '{account}' does not exist.")
        table = sb.store.work.setdefault("user_columns", {})
        if c.req.method == "PUT":
            table[account] = requested_columns(c)
            return Response(status=200)
        return json_response(columns_of(table.get(account, DEFAULT_COLUMNS)))

    def requested_columns(c: Call, navigable_only: bool = False) -> list[str]:
        """A PUT's column ids: `columns=` form values (urlencoded or multipart), a JSON list or
        `{"columns": [...]}` (the spec's ColumnRequestBody)."""
        kind = c.req.header("Content-Type").lower()
        if kind.startswith("application/json"):
            wanted = c.body()
            if isinstance(wanted, dict) and set(wanted) == {"columns"}:
                wanted = wanted["columns"]
        elif kind.startswith("multipart/form-data"):
            wanted = [(p.get_payload(decode=True) or b"").decode() for p in
                      multipart_parts(c.req.header("Content-Type"), c.req.body, "columns")]
        else:
            wanted = [v for k, v in parse_qsl(c.req.body.decode()) if k == "columns"]
        known = {f[0] for f in C.system_fields() + C.custom_fields()} | {"issuekey"}
        if not isinstance(wanted, list) or any(not isinstance(w, str) or w not in known for w in wanted):
            raise fail(400, "Invalid column configuration.")
        if navigable_only and (bad := [w for w in wanted if w in NOT_NAVIGABLE]):
            raise fail(400, f"Field '{bad[0]}' is not navigable and cannot be set as a column.")  # [unc] wording
        return list(wanted)

    def filter_columns(c: Call) -> Response:
        ident = c.p["filter"]
        f = sb.store.work.setdefault("filters", {}).get(int(ident)) if is_id(ident) else None
        if f is None:
            raise fail(400, NO_FILTER)
        if c.req.method == "PUT":
            if f["owner"] != c.user:
                raise fail(403, "Only the owner of the filter can set its columns.")  # spec 403 [unc] wording
            wanted = requested_columns(c, navigable_only=True)
            with sb.store.lock:
                if wanted:
                    f["columns"] = wanted
                else:
                    f.pop("columns", None)
            return Response(status=200)
        if not sees_filter(sb, c.user, f):  # the spec's 400: "the user does not have permission to view the filter"
            raise fail(400, NO_FILTER)
        if c.req.method == "DELETE":  # "the user's column configuration": the owner's is the filter's own; another
            if f["owner"] == c.user:  # viewer never set one (PUT is the owner's), so nothing changes [unc]
                with sb.store.lock:
                    f.pop("columns", None)
            return Response(status=204)
        if not f.get("columns"):
            raise fail(404, f"No column configuration is set for filter {f['id']}.")  # spec 404 [unc] wording
        return json_response(columns_of(f["columns"]))

    def preference(c: Call) -> Response:
        key = c.q("key")
        if not key:
            raise fail(400, "The key parameter is required.")
        prefs = sb.store.work.setdefault("preferences", {}).setdefault(c.user, {})
        if c.req.method == "PUT":
            raw = c.req.body.decode()
            value = c.body() if c.req.header("Content-Type").lower().startswith("application/json") else raw
            prefs[key] = value if isinstance(value, str) else raw
            return Response(status=204)
        if key not in prefs:
            raise fail(404, f"The preference with key '{key}' does not exist.")
        if c.req.method == "DELETE":
            del prefs[key]
            return Response(status=204)
        return json_response(prefs[key])

    configuration = {"votingEnabled": True, "watchingEnabled": True, "unassignedIssuesAllowed": True,
                     "subTasksEnabled": True, "issueLinkingEnabled": True, "timeTrackingEnabled": True,
                     "attachmentsEnabled": True, "timeTrackingConfiguration": TRACKING_OPTIONS}
    sb.route("GET", r"/project/type", lambda c: json_response([_type_bean(k) for k in TYPES]))
    sb.route("GET", r"/project/type/accessible", lambda c: json_response([_type_bean(k) for k in TYPES]))
    sb.route("GET", r"/project/type/(?P<kind>[^/]+)", project_type)
    sb.route("GET", r"/project/type/(?P<kind>[^/]+)/accessible", project_type)
    # the spec: Administer Jira, else 403 (an ordinary login read them, round 33)
    sb.route("GET", r"/applicationrole", admin_only(sb, lambda c: json_response([role_bean(c)])))
    sb.route("GET", r"/applicationrole/(?P<role>[^/]+)", admin_only(sb, application_role))
    sb.route("GET", r"/configuration", lambda c: json_response(configuration))
    sb.route("GET", r"/configuration/timetracking", lambda c: json_response(TRACKING))
    sb.route("GET", r"/configuration/timetracking/list", lambda c: json_response([TRACKING]))
    sb.route("GET", r"/configuration/timetracking/options", lambda c: json_response(TRACKING_OPTIONS))
    sb.route("GET", r"/mypreferences/locale", lambda c: json_response({"locale": "en_US"}))
    sb.route("GET", r"/instance/license", lambda c: json_response({"applications": [
        {"id": "jira-core", "plan": "PAID"}, {"id": "jira-software", "plan": "PAID"}]}))
    sb.route("GET", r"/events", lambda c: json_response([{"id": n, "name": e} for n, e in enumerate(EVENTS, 1)]))
    sb.route("GET", r"/projectvalidate/key", validate_key)
    sb.route("GET", r"/projectvalidate/validProjectKey", valid_key)
    sb.route("GET", r"/projectvalidate/validProjectName", valid_name)
    sb.route("POST", r"/issue/watching", watching)
    sb.route("GET", r"/project/recent", lambda c: json_response([project_bean(sb, c, k, c.q("expand") or "")
                                                                 for k in list(sb.store.projects)[:20]]))
    sb.route("GET", r"/issuetype/project", issue_types_of)
    sb.route("GET", r"/filter/defaultShareScope", share_scope)
    sb.route("PUT", r"/filter/defaultShareScope", share_scope, "write")
    sb.route("GET", r"/issue/picker", picker)
    sb.route("GET", r"/screens", screens)
    sb.route("GET", r"/settings/columns", lambda c: json_response(columns_of(DEFAULT_COLUMNS)))
    sb.route("GET", r"/user/columns", user_columns)
    sb.route("PUT", r"/user/columns", user_columns, "write")
    for verb in ("GET", "PUT", "DELETE"):
        sb.route(verb, r"/filter/(?P<filter>[^/]+)/columns", filter_columns, "read" if verb == "GET" else "write")
    for verb in ("GET", "PUT", "DELETE"):
        sb.route(verb, r"/mypreferences", preference, "read" if verb == "GET" else "write")
    sb.route("GET", r"/project/(?P<project>[^/]+)/hierarchy", hierarchy)
    sb.route("GET", r"/avatar/(?P<kind>[^/]+)/system", system_avatars)
    sb.route("GET", r"/rest/applinks/(?:latest|\d+\.\d+)/listApplicationlinks", lambda c: json_response([]),
             prefix="none")
