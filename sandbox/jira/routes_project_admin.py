"""Project administration: create, edit and delete projects, and the schemes a project create names.

- POST `/project` (201 `{"self","id","key"}`): `key` (uppercase letter then uppercase letters/digits, at most
  10), `name`, `projectTypeKey` (software | business | service_desk) with a `projectTemplateKey` of that type,
  `leadAccountId` (or the deprecated `lead`), optional `description`, `url`, `assigneeType`, `categoryId`,
  `issueSecurityScheme`. Field errors answer 400 `{"errorMessages": [], "errors": {"projectKey": ...}}`.
  Projects made here are company-managed (`simplified: false`), like every project the REST API creates; a
  scrum or kanban template also creates the project's board ("<KEY> board"). 403 without Administer Jira.
- PUT `/project/{key|id}` (200, the project): name, description, lead, url, assigneeType, categoryId.
  A new `key` is refused (400): the sandbox does not re-key issues. 403 without Administer Projects.
- DELETE `/project/{key|id}` (204): the project, its issues, components, versions, boards and their sprints
  disappear. `enableUndo` (default true, as in the spec) moves it to the recycle bin, which the API cannot read
  and whose key stays taken; `enableUndo=false` deletes it for good, so its key is free for a new project (with
  a fresh issue counter and none of the old project's properties, role actors or scheme links). Without
  Administer Jira the project is "not found" (404), as the spec words it.
- GET `/project/{p}/securitylevel` (`{"levels"}`, none without a scheme), `/securitylevel/{id}`.
- GET `/issuesecurityschemes`, `/issuesecurityschemes/{id}`, `/issuesecurityschemes/search|project` (PageBeans of
  the one scheme with its `projectIds`, and of `{issueSecuritySchemeId, projectId}` rows),
  `/project/{p}/issuesecuritylevelscheme` (404 when the project has none), `/notificationscheme` (paged),
  `/notificationscheme/{id}`, `/project/{p}/notificationscheme`.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira import audit
from sandbox.jira.admin_guard import admin_only
from sandbox.jira.call import Call, paged
from sandbox.jira.errors import fail, shaped
from sandbox.jira.ids import is_id, new_board_id
from sandbox.jira.model import Board, Project
from sandbox.jira.routes_platform import project_full
from sandbox.jira.routes_versions import find_project

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

KEY = re.compile(r"[A-Z][A-Z0-9]+\Z")
TEMPLATE_PREFIX = {"software": "com.pyxis.greenhopper.jira:", "business": "com.atlassian.jira-core-project-templates:",
                   "service_desk": "com.atlassian.servicedesk:"}
SECURITY = {"id": 10000, "name": "Default Issue Security Scheme", "defaultSecurityLevelId": 10000,
            "description": "Description for the default issue security scheme",
            "levels": [(10000, "Internal", "Only internal staff can see this issue."),
                       (10001, "Reporter Only", "Only the reporter and internal staff can see this issue.")]}
NOTIFY = {"id": 10000, "name": "Default Notification Scheme", "description": ""}


def meta(sb: JiraSandbox) -> dict[str, dict[str, Any]]:
    """Per-project settings the `Project` record does not hold (type, url, assignee type, schemes)."""
    return sb.store.work.setdefault("project_meta", {})


def _security_bean(c: Call, levels: bool = True) -> dict[str, Any]:
    out = {k: SECURITY[k] for k in ("id", "name", "description", "defaultSecurityLevelId")}
    out["self"] = f"{c.r.api}/issuesecurityschemes/{SECURITY['id']}"
    if levels:
        out["levels"] = [{"self": f"{c.r.api}/securitylevel/{i}", "id": str(i), "name": n, "description": d,
                          "isDefault": i == SECURITY["defaultSecurityLevelId"],
                          "issueSecuritySchemeId": str(SECURITY["id"])} for i, n, d in SECURITY["levels"]]
    return out


def _notify_bean(c: Call) -> dict[str, Any]:
    return {**NOTIFY, "self": f"{c.r.api}/notificationscheme/{NOTIFY['id']}", "expand": "notificationSchemeEvents,user,"
            "group,projectRole,field,all", "notificationSchemeEvents": []}


def _category(sb: JiraSandbox, raw: Any, errors: dict[str, str]) -> int | None:
    if raw in (None, ""):
        return None
    cats = sb.store.work.get("categories")
    known = set(cats) if cats is not None else {10000, 10001}  # `routes_schemes` seeds these on first use
    if not is_id(str(raw)) or int(raw) not in known:
        errors["categoryId"] = f"The project category with id '{raw}' does not exist."
        return None
    return int(raw)


def _lead(sb: JiraSandbox, body: dict[str, Any], errors: dict[str, str], required: bool) -> str | None:
    lead = shaped(body.get("leadAccountId"), "string") or shaped(body.get("lead"), "string")
    if lead is None and not required:
        return None
    if lead not in sb.store.users:
        errors["projectLead"] = "You must specify a valid project lead."
        return None
    return str(lead)


def key_error(sb: JiraSandbox, key: str) -> str | None:
    """Why `key` cannot name a new project (Jira's words), or None."""
    if not key or not KEY.match(key):
        return ("Project keys must start with an uppercase letter, followed by one or more uppercase alphanumeric "
                "characters.")
    if len(key) > 10:
        return "The project key must not exceed 10 characters in length."
    if key in sb.store.projects or key in sb.store.work.get("deleted_projects", {}):
        holder = sb.store.projects.get(key)
        return f"Project '{holder.name if holder else key}' uses this project key."
    return None


def _purge(store: Any, key: str, gone: Project) -> None:
    """Forget a permanently deleted project's key-bound state, so a new project can take the key afresh. Its id
    stays used (`purged_project_ids`): ids are never handed out twice. [unc: the issue counter restarting at 1
    for a re-used key is how a new project behaves; not checked against a live site]"""
    work = store.work
    work.setdefault("purged_project_ids", []).append(int(gone.id))
    store.next_num.pop(key, None)
    for table in ("project_meta", "project_properties", "project_schemes"):
        work.get(table, {}).pop(key, None)
    for pair in [k for k in work.get("role_actors", {}) if k[0] == key]:
        del work["role_actors"][pair]
    archived = work.get("archived", {})  # unarchived after the key's reuse, they would share keys with new issues
    for iid in [i for i, issue in archived.items() if issue.project == key]:
        del archived[iid]


def _name_errors(sb: JiraSandbox, name: str, errors: dict[str, str], own: str | None = None) -> None:
    if not name:
        errors["projectName"] = "You must specify a valid project name."
    elif len(name) > 80:
        errors["projectName"] = "The project name must not exceed 80 characters in length."
    elif any(p.name.lower() == name.lower() and p.key != own for p in sb.store.projects.values()):
        errors["projectName"] = "A project with that name already exists."


def register(sb: JiraSandbox) -> None:
    def create(c: Call) -> Response:
        body, errors = c.obj(), {}
        key, name = str(body.get("key") or "").strip(), str(body.get("name") or "").strip()
        problem = key_error(sb, key)
        if problem:
            errors["projectKey"] = problem
        _name_errors(sb, name, errors)
        kind = shaped(body.get("projectTypeKey"), "string")
        template = shaped(body.get("projectTemplateKey"), "string")
        if kind not in TEMPLATE_PREFIX:
            errors["projectTypeKey"] = "The project type key is invalid."
        elif template is not None and not str(template).startswith(TEMPLATE_PREFIX[kind]):
            raise fail(400, f"The project template '{template}' is not valid for the project type '{kind}'.")
        lead = _lead(sb, body, errors, True)
        category = _category(sb, body.get("categoryId"), errors)
        if body.get("assigneeType") not in (None, "PROJECT_LEAD", "UNASSIGNED"):
            errors["assigneeType"] = "Invalid assignee type."
        security = body.get("issueSecurityScheme")
        if security not in (None, "") and str(security) != str(SECURITY["id"]):
            errors["issueSecurityScheme"] = f"The issue security scheme with id '{security}' does not exist."
        if errors:
            raise fail(400, None, errors)
        with sb.store.lock:
            pid = str(max([int(p.id) for p in sb.store.projects.values()] +
                          [int(p.id) for p in sb.store.work.get("deleted_projects", {}).values()] +
                          sb.store.work.get("purged_project_ids", []) + [9999]) + 1)
            sb.store.projects[key] = Project(key, pid, name, str(body.get("description") or ""), False, str(lead))
            sb.store.next_num.setdefault(key, 0)
            meta(sb)[key] = {"projectTypeKey": kind, "assigneeType": body.get("assigneeType") or "UNASSIGNED",
                             "url": body.get("url") or None, "categoryId": category,
                             "issueSecurityScheme": SECURITY["id"] if security not in (None, "") else None}
            kind_of_board = next((b for b in ("scrum", "kanban") if b in str(template or "")), None)
            if kind_of_board:
                ident = new_board_id(sb.store)
                sb.store.boards[ident] = Board(ident, f"{key} board", kind_of_board, key)
        audit.record(sb, c, "Project created", "projects", (pid, name, "PROJECT"),
                     [("Name", None, name), ("Key", None, key), ("Project type", None, kind)])
        return json_response({"self": f"{c.r.api}/project/{pid}", "id": int(pid), "key": key}, 201)

    def update(c: Call) -> Response:
        key = find_project(sb, c.p["project"])
        # the spec: Administer Projects on the project (Administer Jira for schemes or the key), else 403
        if not (sb.holds(c.user, "ADMINISTER", []) or  # type: ignore[attr-defined]  # routes_roles
                sb.holds(c.user, "ADMINISTER_PROJECTS", [key])):  # type: ignore[attr-defined]
            raise fail(403, "You do not have permission to update this project.")  # [unc] wording
        body, errors = c.obj(), {}
        project = sb.store.projects[key]
        if body.get("key") not in (None, key):
            raise fail(400, None, {"projectKey": "Changing a project key is not supported by this sandbox."})
        name = str(body["name"]).strip() if "name" in body else project.name
        _name_errors(sb, name, errors, own=key)
        lead = _lead(sb, body, errors, False)
        category = _category(sb, body.get("categoryId"), errors)
        if body.get("assigneeType") not in (None, "PROJECT_LEAD", "UNASSIGNED"):
            errors["assigneeType"] = "Invalid assignee type."
        if errors:
            raise fail(400, None, errors)
        with sb.store.lock:
            sb.store.projects[key] = dataclasses.replace(
                project, name=name, lead=lead or project.lead,
                description=str(body["description"]) if "description" in body else project.description)
            extra = meta(sb).setdefault(key, {})
            extra.update({k: body[k] for k in ("url", "assigneeType") if k in body})
            if category is not None:
                extra["categoryId"] = category
        new = sb.store.projects[key]
        changes = [(f, a, b) for f, a, b in (("Name", project.name, new.name), ("Lead", project.lead, new.lead),
                                             ("Description", project.description, new.description)) if a != b]
        audit.record(sb, c, "Project updated", "projects", (project.id, new.name, "PROJECT"), changes)
        return json_response(project_full(sb, c, key))

    def delete(c: Call) -> Response:
        key = find_project(sb, c.p["project"])
        if not sb.holds(c.user, "ADMINISTER", []):  # type: ignore[attr-defined]  # routes_roles
            # the spec: 404 "the project is not found or the user does not have permission to delete it" [unc: text]
            raise fail(404, f"No project could be found with key '{c.p['project']}'.")
        store = sb.store
        with store.lock:
            gone = [iid for iid, issue in store.issues.items() if issue.project == key]
            for iid in gone:
                issue = store.issues.pop(iid)
                store.by_key.pop(issue.key, None)
                store.deleted[iid] = issue
                store.index.submit(iid, None, store.lag())
            for kind in ("components", "versions"):
                for ident in [i for i, x in store.work[kind].items() if x["project"] == key]:
                    del store.work[kind][ident]
            for board in [b for b in store.boards.values() if b.project == key]:
                del store.boards[board.id]
                for table in ("board_filters", "board_features"):
                    store.work.get(table, {}).pop(board.id, None)
                for sid in [s.id for s in store.sprints.values() if s.board_id == board.id]:
                    del store.sprints[sid]
            gone_project = store.projects.pop(key)
            if c.qbool("enableUndo") is False:
                _purge(store, key, gone_project)
            else:
                store.work.setdefault("deleted_projects", {})[key] = gone_project
            store.relations_version += 1
        audit.record(sb, c, "Project deleted", "projects", (gone_project.id, gone_project.name, "PROJECT"))
        return Response(status=204)

    def project_security(c: Call) -> Response:
        key = find_project(sb, c.p["project"])
        if meta(sb).get(key, {}).get("issueSecurityScheme") is None:
            raise fail(404, "No issue security scheme is associated with this project.")
        return json_response(_security_bean(c))

    def security_scheme(c: Call) -> Response:
        if c.p["scheme"] != str(SECURITY["id"]):
            raise fail(404, f"Issue security scheme with id {c.p['scheme']} not found.")
        return json_response(_security_bean(c))

    def notification_scheme(c: Call) -> Response:
        if c.p["scheme"] != str(NOTIFY["id"]):
            raise fail(404, f"Notification scheme with id {c.p['scheme']} not found.")
        return json_response(_notify_bean(c))

    def notification_schemes(c: Call) -> Response:
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 50, 1, 50)
        # the spec: a scheme is listed only to a caller who administers Jira or one project that uses it [unc]
        sees = sb.holds(c.user, "ADMINISTER", []) or sb.holds(  # type: ignore[attr-defined]  # routes_roles
            c.user, "ADMINISTER_PROJECTS", list(sb.store.projects))
        return json_response(paged([_notify_bean(c)] if sees else [], start, limit))

    def secured(c: Call) -> list[str]:
        """Ids of the projects that use the security scheme, narrowed by `projectId` when given."""
        wanted = {x for item in c.qlist("projectId") for x in item.split(",") if x}
        return [p.id for p in sb.store.projects.values() if meta(sb).get(p.key, {}).get("issueSecurityScheme")
                is not None and (not wanted or p.id in wanted)]

    def security_search(c: Call) -> Response:
        ids = {x for item in c.qlist("id") for x in item.split(",") if x}
        projects = secured(c)
        keep = (not ids or str(SECURITY["id"]) in ids) and (projects or not c.qlist("projectId"))
        rows = [{"id": SECURITY["id"], "self": f"{c.r.api}/issuesecurityscheme/{SECURITY['id']}",
                 "name": SECURITY["name"], "description": SECURITY["description"],
                 "defaultLevel": SECURITY["defaultSecurityLevelId"], "projectIds": [int(p) for p in projects]}]
        return json_response(paged(rows if keep else [], c.qint("startAt", 0), c.qint("maxResults", 50, 1, 100)))

    def security_projects(c: Call) -> Response:
        schemes = {x for item in c.qlist("issueSecuritySchemeId") for x in item.split(",") if x}
        rows = [{"issueSecuritySchemeId": str(SECURITY["id"]), "projectId": p} for p in secured(c)
                if not schemes or str(SECURITY["id"]) in schemes]
        return json_response(paged(rows, c.qint("startAt", 0), c.qint("maxResults", 50, 1, 100)))

    def security_levels(c: Call) -> Response:
        levels = _security_bean(c)["levels"]
        for lv in levels:
            lv["self"] = f"{c.r.api}/issuesecurityscheme/level?id={lv['id']}"
        ids = {x for item in c.qlist("id") for x in item.split(",") if x}
        schemes = {x for item in c.qlist("schemeId") for x in item.split(",") if x}
        levels = [lv for lv in levels if (not ids or lv["id"] in ids) and (not schemes or lv["issueSecuritySchemeId"]
                                                                           in schemes)
                  and (not c.qbool("onlyDefault") or lv["isDefault"])]
        return json_response(paged(levels, c.qint("startAt", 0), c.qint("maxResults", 50, 1, 100)))

    def notification_projects(c: Call) -> Response:
        rows = [{"notificationSchemeId": str(NOTIFY["id"]), "projectId": p.id} for p in sb.store.projects.values()]
        ids = {x for item in c.qlist("projectId") for x in item.split(",") if x}
        schemes = {x for item in c.qlist("notificationSchemeId") for x in item.split(",") if x}
        rows = [r for r in rows if (not ids or r["projectId"] in ids)
                and (not schemes or r["notificationSchemeId"] in schemes)]
        return json_response(paged(rows, c.qint("startAt", 0), c.qint("maxResults", 50, 1, 100)))

    def project_levels(c: Call) -> Response:
        key = find_project(sb, c.p["project"])
        has = meta(sb).get(key, {}).get("issueSecurityScheme") is not None
        return json_response({"levels": _security_bean(c)["levels"] if has else []})

    def security_level(c: Call) -> Response:
        found = next((lv for lv in _security_bean(c)["levels"] if lv["id"] == c.p["level"]), None)
        if found is None:
            raise fail(404, f"Issue security level with id {c.p['level']} not found.")
        return json_response(found)

    project = r"/project/(?P<project>[^/]+)"
    sb.route("GET", project + r"/securitylevel", project_levels)
    sb.route("GET", r"/securitylevel/(?P<level>[^/]+)", security_level)
    sb.route("GET", r"/issuesecurityschemes/level", security_levels)
    sb.route("GET", r"/issuesecurityschemes/search", admin_only(sb, security_search))
    sb.route("GET", r"/issuesecurityschemes/project", security_projects)
    sb.route("GET", r"/notificationscheme/project", notification_projects)
    sb.route("POST", r"/project", admin_only(sb, create), "write")  # the spec: Administer Jira, else 403
    sb.route("PUT", project, update, "write")
    sb.route("DELETE", project, delete, "write")
    sb.route("GET", project + r"/issuesecuritylevelscheme", project_security)
    sb.route("GET", project + r"/notificationscheme",
             lambda c: (find_project(sb, c.p["project"]), json_response(_notify_bean(c)))[1])
    sb.route("GET", r"/issuesecurityschemes",
             admin_only(sb, lambda c: json_response({"issueSecuritySchemes": [_security_bean(c, levels=False)]})))
    sb.route("GET", r"/issuesecurityschemes/(?P<scheme>[^/]+)", admin_only(sb, security_scheme))
    sb.route("GET", r"/notificationscheme", notification_schemes)
    sb.route("GET", r"/notificationscheme/(?P<scheme>[^/]+)", notification_scheme)
