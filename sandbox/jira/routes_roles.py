"""Project roles and permissions.

- Roles: GET `/role` and `/role/{id}` (the site's roles), GET `/project/{key}/role` (`{"<name>": "<self url>"}`),
  `/project/{key}/roledetails` (`currentMember=true`: roles the caller is in), and per project
  GET `/project/{key}/role/{id}` (ProjectRole with `actors`), POST (add `{"user":[accountId],
  "group":[name], "groupId":[id]}`; an actor already in the role is a 400), PUT (`categorisedActors`
  replaces every actor), DELETE `?user=` | `?group=` | `?groupId=` (204; 404 when not an actor).
  Seeded actors: Administrators = group jira-admins + the project lead; Member = jira-software-users.
- Permissions: GET `/permissions` (every permission key), POST `/permissions/project` (projects where every
  listed project permission is held), POST `/permissions/check` (bulk: global grants, and per project
  permission the asked projects/issues where it is held), GET `/mypermissions?permissions=KEY,..`
  [`&projectKey|projectId|issueKey|issueId`] -> `{"permissions": {KEY: {"id","key","name","type",
  "description","havePermission"}}}`. The `permissions` parameter is required (Cloud); project
  permissions follow the caller's roles in that project (any project when none is named), global
  ones the caller's groups.
- GET `/user/permission/search?permissions=K1,K2&projectKey|issueKey[&query|accountId][&startAt&maxResults]`:
  the active users holding every listed permission there. As the spec describes, the page window is taken over
  all users first and then filtered (so pages may come back short). 400: no permissions or an unknown one,
  neither `projectKey` nor `issueKey`, both `query` and `accountId`; 404: unknown project/issue; 403 unless the
  caller administers Jira or that project. Without `query`/`accountId` every holder is listed, as the spec's
  text says (its 400 list also names a missing query [unc]).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira.call import Call
from sandbox.jira.errors import fail, not_found_issue, shaped
from sandbox.jira.ids import is_id
from sandbox.jira.routes_groups import group_id, group_members, group_names

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

ADMINS, MEMBER, VIEWER, ADDONS = 10002, 10003, 10004, 10005
ROLES = {ADMINS: ("Administrators", "A project role that represents administrators in a project"),
         MEMBER: ("Member", "A project role that represents members in a project"),
         VIEWER: ("Viewer", "A project role that can browse and comment on work items"),
         ADDONS: ("atlassian-addons-project-access", "A project role that represents Connect add-ons declaring "
                  "a scope that requires more than read issue permissions")}
USER_ACTOR, GROUP_ACTOR = "atlassian-user-role-actor", "atlassian-group-role-actor"

# key -> (id, name, type); project permissions by the least role that holds them
_PROJECT = {
    "BROWSE_PROJECTS": ("10", "Browse Projects", VIEWER), "ADD_COMMENTS": ("15", "Add Comments", VIEWER),
    "VIEW_VOTERS_AND_WATCHERS": ("31", "View Voters and Watchers", VIEWER),
    "VIEW_READONLY_WORKFLOW": ("45", "View Read-Only Workflow", VIEWER),
    "CREATE_ISSUES": ("11", "Create Issues", MEMBER), "EDIT_ISSUES": ("12", "Edit Issues", MEMBER),
    "ASSIGN_ISSUES": ("13", "Assign Issues", MEMBER), "RESOLVE_ISSUES": ("14", "Resolve Issues", MEMBER),
    "ASSIGNABLE_USER": ("17", "Assignable User", MEMBER), "CLOSE_ISSUES": ("18", "Close Issues", MEMBER),
    "CREATE_ATTACHMENTS": ("19", "Create Attachments", MEMBER), "WORK_ON_ISSUES": ("20", "Work On Issues", MEMBER),
    "LINK_ISSUES": ("21", "Link Issues", MEMBER), "SCHEDULE_ISSUES": ("28", "Schedule Issues", MEMBER),
    "TRANSITION_ISSUES": ("46", "Transition Issues", MEMBER), "MANAGE_WATCHERS": ("32", "Manage Watchers", MEMBER),
    "EDIT_OWN_COMMENTS": ("35", "Edit Own Comments", MEMBER), "DELETE_OWN_COMMENTS": ("37", "Delete Own Comments",
                                                                                    MEMBER),
    "DELETE_OWN_ATTACHMENTS": ("39", "Delete Own Attachments", MEMBER),
    "EDIT_OWN_WORKLOGS": ("40", "Edit Own Worklogs", MEMBER), "DELETE_OWN_WORKLOGS": ("42", "Delete Own Worklogs",
                                                                                    MEMBER),
    "VIEW_DEV_TOOLS": ("29", "View Development Tools", MEMBER),
    "ADMINISTER_PROJECTS": ("23", "Administer Projects", ADMINS), "DELETE_ISSUES": ("16", "Delete Issues", ADMINS),
    "MOVE_ISSUES": ("25", "Move Issues", ADMINS), "SET_ISSUE_SECURITY": ("26", "Set Issue Security", ADMINS),
    "MODIFY_REPORTER": ("30", "Modify Reporter", ADMINS), "EDIT_ALL_COMMENTS": ("34", "Edit All Comments", ADMINS),
    "DELETE_ALL_COMMENTS": ("36", "Delete All Comments", ADMINS),
    "DELETE_ALL_ATTACHMENTS": ("38", "Delete All Attachments", ADMINS),
    "EDIT_ALL_WORKLOGS": ("41", "Edit All Worklogs", ADMINS), "DELETE_ALL_WORKLOGS": ("43", "Delete All Worklogs",
                                                                                    ADMINS),
    # Jira Software's; Cloud gives it no numeric id [unc], so its bean has none. The Administrators role [unc]
    "MANAGE_SPRINTS_PERMISSION": ("", "Manage sprints", ADMINS),
}
# key -> (id, name, group that holds it)
_GLOBAL = {
    "ADMINISTER": ("0", "Administer Jira", "jira-admins"), "SYSTEM_ADMIN": ("44", "Jira System Administrators",
                                                                             "site-admins"),
    "USER_PICKER": ("27", "Browse users and groups", "jira-software-users"),
    "CREATE_SHARED_OBJECTS": ("22", "Share dashboards and filters", "jira-software-users"),
    "MANAGE_GROUP_FILTER_SUBSCRIPTIONS": ("24", "Manage group filter subscriptions", "jira-software-users"),
    "BULK_CHANGE": ("33", "Make bulk changes", "jira-software-users"),
}
_RANK = {ADMINS: 3, MEMBER: 2, VIEWER: 1, ADDONS: 0}


def actors(sb: Any, project: str, role: int) -> list[tuple[str, str]]:
    """(USER_ACTOR, accountId) | (GROUP_ACTOR, group name) pairs, seeded on first use (`sb`: anything with
    the sandbox's `.store`)."""
    table = sb.store.work.setdefault("role_actors", {})
    key = (project, role)
    if key not in table:
        lead = sb.store.projects[project].lead
        table[key] = {ADMINS: [(GROUP_ACTOR, "jira-admins"), (USER_ACTOR, lead)],
                      MEMBER: [(GROUP_ACTOR, "jira-software-users")]}.get(role, [])
    return table[key]


def in_role(sb: Any, user: str, project: str, role: int) -> bool:
    return any((kind == USER_ACTOR and who == user) or (kind == GROUP_ACTOR and user in group_members(sb, who))
               for kind, who in actors(sb, project, role))


def audience_refusal(sb: Any, user: str, project: str, vis: dict[str, Any]) -> str | None:
    """Why `user` may not restrict a comment in `project` to this group or role (Jira only lets you pick
    an existing group or role you belong to), or None. [unc: the wording for a role that does not exist]"""
    if vis["type"] == "group":
        ident = vis.get("identifier")
        name = next((g for g in group_names(sb) if g == vis.get("value") or (ident and group_id(g) == ident)),
                    None)
        if name is None:
            return f"Group: {vis.get('value') or ident} does not exist."
        return None if user in group_members(sb, name) else f"You are currently not a member of the group: {name}."
    ident = str(vis.get("identifier") or "")
    # `identifier` is the role's name (the spec); its numeric id is taken too [unc]
    role = next((r for r, (n, _d) in ROLES.items() if n == vis.get("value") or ident in (n, str(r))), None)
    if role is None:
        return "Invalid role level specified."
    name = ROLES[role][0]
    return None if in_role(sb, user, project, role) else f"You are currently not a member of the project role: {name}."


def sees(sb: Any, user: str | None, project: str, vis: dict[str, Any] | None) -> bool:
    """Whether `user` may read a comment or worklog restricted by `vis`: anyone when it has none, else only
    a member of that group or project role (as the spec's comment operations require); no user (webhooks,
    the sandbox's own reads) reads everything."""
    if not vis or user is None:
        return True
    if not isinstance(vis, dict) or vis.get("type") not in ("group", "role"):  # malformed: nobody's audience
        return False
    return audience_refusal(sb, user, project, vis) is None


def register(sb: JiraSandbox) -> None:
    def actors_of(project: str, role: int) -> list[tuple[str, str]]:
        return actors(sb, project, role)

    def project_of(ref: str) -> str:
        for p in sb.store.projects.values():
            if ref.upper() == p.key or ref == p.id:
                return p.key
        raise fail(404, f"No project could be found with key '{ref}'.")

    def administered(c: Call, status: int = 404) -> str:
        """The path's project, when the caller holds Administer Projects there or Administer Jira. Without it the
        spec answers 404 ("the user does not have administrative permission") for the reads and DELETE, and 401
        ("the calling user lacks administrative permissions for the project") for POST and PUT [unc: texts]."""
        key = project_of(c.p["project"])
        if not (holds(c.user, "ADMINISTER", []) or holds(c.user, "ADMINISTER_PROJECTS", [key])):
            if status == 401:
                raise fail(401, "You cannot edit the configuration of this project.")
            raise fail(404, f"No project could be found with key '{c.p['project']}'.")
        return key

    def role_of(c: Call) -> int:
        raw = c.p["role"]
        if not is_id(raw) or int(raw) not in ROLES:
            raise fail(404, f"The project role with id '{raw}' does not exist.")
        return int(raw)

    def refusal(user: str, project: str, vis: dict[str, Any]) -> str | None:
        return audience_refusal(sb, user, project, vis)

    sb.audience_refusal = refusal  # type: ignore[attr-defined]  # comment visibility (`routes_children`)

    def actor_bean(c: Call, n: int, kind: str, who: str) -> dict[str, Any]:
        if kind == USER_ACTOR:
            u = c.r.user(who) or {}
            return {"id": n, "displayName": u.get("displayName", who), "type": kind,
                    "actorUser": {"accountId": who}, "avatarUrl": (u.get("avatarUrls") or {}).get("48x48", "")}
        return {"id": n, "displayName": who, "type": kind, "name": who,
                "actorGroup": {"name": who, "displayName": who, "groupId": group_id(who)}}

    def role_bean(c: Call, role: int, project: str | None = None) -> dict[str, Any]:
        name, description = ROLES[role]
        pid = sb.store.projects[project].id if project else None
        out: dict[str, Any] = {"self": f"{c.r.api}/project/{pid}/role/{role}" if pid else f"{c.r.api}/role/{role}",
                               "name": name, "id": role, "description": description}
        if project is not None:
            out["actors"] = [actor_bean(c, 20000 + 100 * role + n, kind, who)
                             for n, (kind, who) in enumerate(actors_of(project, role))]
        else:
            out.update(scope=None, translatedName=name, admin=role == ADMINS, default=role == MEMBER,
                       roleConfigurable=True)
        return out

    def project_roles(c: Call) -> Response:
        key = administered(c)
        return json_response({ROLES[r][0]: role_bean(c, r, key)["self"] for r in ROLES})

    def role_details(c: Call) -> Response:
        key = administered(c)
        mine = bool(c.qbool("currentMember"))
        out = []
        for r in ROLES:
            if mine and not in_role(sb, c.user, key, r):
                continue
            bean = role_bean(c, r)
            bean["self"] = f"{c.r.api}/project/{sb.store.projects[key].id}/role/{r}"
            out.append(bean)
        return json_response(out)

    def read_actors(body: dict[str, Any], users: str, groups: str, group_ids: str) -> list[tuple[str, str]]:
        by_id = {group_id(g): g for g in group_names(sb)}
        out: list[tuple[str, str]] = []
        for account in body.get(users) or []:
            if account not in sb.store.users:
                raise fail(404, f"We couldn't find the user with account ID '{account}'.")
            out.append((USER_ACTOR, account))
        for name in body.get(groups) or []:
            if name not in group_names(sb):
                raise fail(404, f"Group '{name}' does not exist.")
            out.append((GROUP_ACTOR, name))
        for gid in body.get(group_ids) or []:
            if gid not in by_id:
                raise fail(404, f"Group with id '{gid}' does not exist.")
            out.append((GROUP_ACTOR, by_id[gid]))
        return out

    def add_actors(c: Call) -> Response:
        key, role = administered(c, 401), role_of(c)
        new = read_actors(c.obj(), "user", "group", "groupId")
        if not new:
            raise fail(400, "You must specify at least one user or group to add to the project role.")
        with sb.store.lock:
            current = actors_of(key, role)
            for actor in new:
                if actor in current:
                    raise fail(400, f"'{actor[1]}' is already a member of the project role.")
            current.extend(dict.fromkeys(new))
            sb.store.relations_version += 1  # restricted comments and projectsWhereUserHasRole() read roles
        return json_response(role_bean(c, role, key))

    def set_actors(c: Call) -> Response:
        key, role = administered(c, 401), role_of(c)
        body = c.obj()
        categorised = body.get("categorisedActors")
        if not isinstance(categorised, dict):
            raise fail(400, "The 'categorisedActors' object is required.")
        new = read_actors(categorised, USER_ACTOR, GROUP_ACTOR, "atlassian-group-role-actor-id")
        with sb.store.lock:
            actors_of(key, role)[:] = list(dict.fromkeys(new))
            sb.store.relations_version += 1
        return json_response(role_bean(c, role, key))

    def remove_actor(c: Call) -> Response:
        key, role = administered(c), role_of(c)
        by_id = {group_id(g): g for g in group_names(sb)}
        wanted = [(USER_ACTOR, c.q("user")), (GROUP_ACTOR, c.q("group")),
                  (GROUP_ACTOR, by_id.get(c.q("groupId") or ""))]
        wanted = [(k, w) for k, w in wanted if w]
        if len(wanted) != 1:
            raise fail(400, "Specify exactly one of the 'user', 'group' or 'groupId' query parameters.")
        with sb.store.lock:
            current = actors_of(key, role)
            if wanted[0] not in current:
                raise fail(404, f"'{wanted[0][1]}' is not a member of the project role.")
            current.remove(wanted[0])
            sb.store.relations_version += 1
        return Response(204)

    # --- permissions ----------------------------------------------------------------------------
    def permission_bean(key: str, have: bool | None = None) -> dict[str, Any]:
        if key in _PROJECT:
            pid, name, _role = _PROJECT[key]
            kind = "PROJECT"
        else:
            pid, name, _group = _GLOBAL[key]
            kind = "GLOBAL"
        out: dict[str, Any] = {**({"id": pid} if pid else {}), "key": key, "name": name, "type": kind,
                               "description": f"Ability to {name[0].lower()}{name[1:]}."}
        if have is not None:
            out["havePermission"] = have
        return out

    def holds(user: str, key: str, projects: list[str]) -> bool:
        if key in _GLOBAL:
            return user in group_members(sb, _GLOBAL[key][2])
        least = _RANK[_PROJECT[key][2]]
        return any(any(_RANK[r] >= least and in_role(sb, user, p, r) for r in (ADMINS, MEMBER, VIEWER))
                   for p in projects)

    sb.holds = holds  # type: ignore[attr-defined]  # JQL sanitizing (`routes_jql_match`)

    def my_permissions(c: Call) -> Response:
        raw = ",".join(c.qlist("permissions"))
        keys = [k.strip().upper() for k in raw.split(",") if k.strip()]
        if not keys:
            raise fail(400, "The 'permissions' query parameter is required.")
        unknown = [k for k in keys if k not in _PROJECT and k not in _GLOBAL]
        if unknown:
            raise fail(400, f"Permission key '{unknown[0]}' does not exist.")
        projects = list(sb.store.projects)
        if c.q("issueKey") or c.q("issueId"):
            issue = sb.store.resolve(c.q("issueKey") or c.q("issueId"))
            if issue is None:
                raise not_found_issue()
            projects = [issue.project]
        elif c.q("projectKey") or c.q("projectId"):
            projects = [project_of(c.q("projectKey") or c.q("projectId") or "")]
        return json_response({"permissions": {k: permission_bean(k, holds(c.user, k, projects)) for k in keys}})

    def permitted_projects(c: Call) -> Response:
        """POST /permissions/project: the projects where the caller holds every listed project permission."""
        keys = c.obj().get("permissions")
        if not isinstance(keys, list) or not keys:
            raise fail(400, None, {"permissions": "At least one permission must be provided."})
        bad = [k for k in keys if k not in _PROJECT]
        if bad:
            raise fail(400, None, {str(k): "Unrecognized permission" for k in bad})
        return json_response({"projects": [
            {"id": int(p.id), "key": p.key} for p in list(sb.store.projects.values())
            if all(holds(c.user, k, [p.key]) for k in keys)]})

    def check_permissions(c: Call) -> Response:
        """POST /permissions/check: granted global permissions, and per project permission the projects and
        issues (of those asked about) where it is granted; for `accountId` or the caller."""
        body = c.obj()
        user = str(shaped(body.get("accountId"), "string") or c.user)
        if user not in sb.store.users:
            raise fail(400, f"The user with account ID '{user}' does not exist.")
        asked = [shaped(e, "object") or {} for e in shaped(body.get("projectPermissions"), "array") or []]
        for entry in asked:  # a wrong JSON type anywhere in the bean was a 500
            for name in ("permissions", "projects", "issues"):
                [shaped(x, "string") for x in shaped(entry.get(name), "array") or []]
        [shaped(x, "string") for x in shaped(body.get("globalPermissions"), "array") or []]
        wanted = [*(body.get("globalPermissions") or []), *(k for e in asked for k in e.get("permissions") or [])]
        bad = [k for k in wanted if k not in _PROJECT and k not in _GLOBAL]
        if bad:
            raise fail(400, None, {str(k): "Unrecognized permission" for k in bad})
        by_id = {p.id: p.key for p in sb.store.projects.values()}
        grants = []
        for entry in asked:
            projects = [int(x) for x in entry.get("projects") or [] if str(x) in by_id]
            issues = [i for i in (sb.store.issues.get(int(x)) for x in entry.get("issues") or []
                                  if is_id(str(x))) if i is not None]
            for key in entry.get("permissions") or []:
                grants.append({"permission": key,
                               "projects": [p for p in projects if holds(user, key, [by_id[str(p)]])],
                               "issues": [i.id for i in issues if holds(user, key, [i.project])]})
        return json_response({"globalPermissions": [k for k in body.get("globalPermissions") or []
                                                    if holds(user, k, list(sb.store.projects))],
                              "projectPermissions": grants})

    def users_with_permissions(c: Call) -> Response:
        keys = [k.strip().upper() for k in ",".join(c.qlist("permissions")).split(",") if k.strip()]
        if not keys:
            raise fail(400, "The 'permissions' query parameter is required.")  # [unc] wording
        unknown = [k for k in keys if k not in _PROJECT and k not in _GLOBAL]
        if unknown:
            raise fail(400, f"Permission key '{unknown[0]}' does not exist.")
        query, account = (c.q("query") or "").strip().lower(), c.q("accountId")
        if query and account:
            raise fail(400, "Only one of 'query' or 'accountId' may be provided.")  # [unc] wording
        if c.q("issueKey"):
            issue = sb.store.resolve(c.q("issueKey") or "")
            if issue is None:
                raise not_found_issue()
            key = issue.project
        elif c.q("projectKey"):
            key = project_of(c.q("projectKey") or "")
        else:
            raise fail(400, "Either 'projectKey' or 'issueKey' must be provided.")  # [unc] wording
        if not (holds(c.user, "ADMINISTER", []) or holds(c.user, "ADMINISTER_PROJECTS", [key])):
            raise fail(403, "You do not have permission to view the users of this project.")  # [unc] wording
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 50, 1, 1000)
        window = list(sb.store.users.values())[start:start + limit]
        return json_response([c.r.user(u.account_id) for u in window if u.active
                              and (not query or u.found_by(query)) and (not account or u.account_id == account)
                              and all(holds(u.account_id, k, [key]) for k in keys)])

    def all_permissions(c: Call) -> Response:
        return json_response({"permissions": {k: permission_bean(k) for k in (*_PROJECT, *_GLOBAL)}})

    def one_role(c: Call) -> Response:
        return json_response(role_bean(c, role_of(c)))

    project = r"/project/(?P<project>[^/]+)"
    sb.route("GET", r"/role", lambda c: json_response([role_bean(c, r) for r in ROLES]))
    sb.route("GET", r"/role/(?P<role>[^/]+)", one_role)
    sb.route("GET", project + r"/role", project_roles)
    sb.route("GET", project + r"/roledetails", role_details)
    sb.route("GET", project + r"/role/(?P<role>[^/]+)", lambda c: json_response(
        role_bean(c, role_of(c), administered(c))))
    sb.route("POST", project + r"/role/(?P<role>[^/]+)", add_actors, "write")
    sb.route("PUT", project + r"/role/(?P<role>[^/]+)", set_actors, "write")
    sb.route("DELETE", project + r"/role/(?P<role>[^/]+)", remove_actor, "write")
    sb.route("GET", r"/mypermissions", my_permissions)
    sb.route("GET", r"/permissions", all_permissions)
    sb.route("GET", r"/user/permission/search", users_with_permissions)
    sb.route("POST", r"/permissions/project", permitted_projects)
    sb.route("POST", r"/permissions/check", check_permissions)
