"""A saved filter's share permissions (pycontribs `create_filter`/`update_filter` callers and the spec's
`/filter/{id}/permission` operations).

- POST `/filter` and PUT `/filter/{id}` keep `sharePermissions` (SharePermission objects: `global`,
  `authenticated` (read back as `loggedin`), `project` (`project.id|key`, optionally `role.id`), `group`
  (`group.name|groupId`), `user` (`user.accountId`)); the filter bean shows them.
- GET `/filter/{id}/permission` (the list), GET `/filter/{id}/permission/{permissionId}` (one, 404 when the
  filter has no such share), POST `/filter/{id}/permission` (SharePermissionInputBean: `type` of user, project,
  group, projectRole, global, authenticated with `projectId`, `projectRoleId`, `groupname`/`groupId`,
  `accountId`; 201 with all of the filter's shares; a global or authenticated share replaces every other, and
  while one is set no other share can be added (400), as the spec says; 404 when the caller may not view the
  filter; only its owner adds, holding the *Share dashboards and filters* global permission: anyone else, an
  editor included, 400, as the spec says), DELETE `/filter/{id}/permission/{permissionId}` (204, the owner
  only, as the spec says; 404 for another's filter or an unknown share).
- A share as answered: `{"id", "type", ...}` with `project` (the project ref) and `role` for project and
  role shares (a `projectRole` request reads back as type `project` with its `role`, as the spec says the
  type "is not returned in responses"), `group` (`name`, `groupId`, `self`), `user` (a UserBean).
- Who sees a filter (`sees_filter`): its owner and those a share reaches. Others get GET `/filter/{id}`'s 400
  "not available" answer, a 404 from the permission reads, and do not find it in `/filter/search` or
  `/filter/favourite`. Deleting keeps its own answer (`routes_social`).
- `editPermissions` (POST/PUT `/filter`, same SharePermission shapes, not `global`) name the filter's editors
  (`edits_filter`): they may PUT it (others 400, the spec's only refusal) and see it; `isWritable` follows.
  Its shares stay the owner's (the spec: sharing a filter needs its owner).
- `expand=sharedUsers` (every operation answering a Filter): `sharedUsers` lists the active users its view shares
  reach (group members, those who may browse a shared project or hold a shared role, a shared user; every active
  user for a global or logged-in share [unc]), at most 1000 a page, `sharedUsers[a:b]` picking 0-based items a to
  b; without the expand the object is there with no users, as the spec says.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira.call import Call
from sandbox.jira.errors import fail
from sandbox.jira.ids import is_id
from sandbox.jira.routes_groups import group_id, group_members, group_names
from sandbox.jira.routes_roles import ROLES, in_role

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

__all__ = ["edits_filter", "read_shares", "register", "render_shares", "sees_filter", "shared_users"]
GLOBAL_KINDS = ("global", "loggedin")
_SHARED_USERS = re.compile(r"(?:^|,)\s*sharedUsers(?:\[([0-9]{1,9}):([0-9]{1,9})\])?\s*(?:,|$)")
SHARED_USERS_PAGE = 1000  # the spec: "The list of users returned is limited to 1000"
NO_FILTER = "The selected filter is not available to you, perhaps it has been deleted or had its permissions changed."


def _ref(value: Any, *keys: str) -> str:
    """A nested ref's first present key (`{"id": ..}` or `{"name": ..}`), or the bare value."""
    if isinstance(value, dict):
        return next((str(value[k]) for k in keys if value.get(k) not in (None, "")), "")
    return "" if value in (None, "") else str(value)


def parse_share(sb: JiraSandbox, raw: Any) -> dict[str, Any]:
    """One share from a SharePermission (filter body) or SharePermissionInputBean (permission POST), stored as
    `{"type", "project", "role", "group", "user"}`; a 400 when it names nothing that exists [unc: texts]."""
    if not isinstance(raw, dict):
        raise fail(400, None, {"sharePermissions": "data was not an array of objects"})  # [unc]
    kind = str(raw.get("type") or "")
    if kind == "authenticated":
        kind = "loggedin"
    if kind in GLOBAL_KINDS:
        return {"type": kind}
    if kind in ("project", "projectRole"):
        ref = _ref(raw.get("projectId")) or _ref(raw.get("project"), "id", "key")
        project = next((p.key for p in sb.store.projects.values() if ref and ref in (p.id, p.key)), None)
        if project is None:
            raise fail(400, f"Project with id '{ref}' does not exist.")  # [unc]
        role_ref = _ref(raw.get("projectRoleId")) or _ref(raw.get("role"), "id")
        if kind == "projectRole" and not role_ref:
            raise fail(400, "A project role is required for a share of type projectRole.")  # [unc]
        if role_ref and (not is_id(role_ref) or int(role_ref) not in ROLES):
            raise fail(400, f"Project role with id '{role_ref}' does not exist.")  # [unc]
        return {"type": "project", "project": project, "role": int(role_ref) if role_ref else None}
    if kind == "group":
        ident = _ref(raw.get("groupId")) or _ref(raw.get("group"), "groupId")
        name = _ref(raw.get("groupname")) or _ref(raw.get("group"), "name")
        found = next((g for g in group_names(sb) if g == name or (ident and group_id(g) == ident)), None)
        if found is None:
            raise fail(400, f"Group '{name or ident}' does not exist.")  # [unc]
        return {"type": "group", "group": found}
    if kind == "user":
        account = _ref(raw.get("accountId")) or _ref(raw.get("user"), "accountId")
        if account not in sb.store.users:
            raise fail(400, f"User with accountId '{account}' does not exist.")  # [unc]
        return {"type": "user", "user": account}
    raise fail(400, f"Invalid share permission type '{kind}'.")  # [unc]


def read_shares(sb: JiraSandbox, body: dict[str, Any], current: list[dict[str, Any]] | None,
                key: str = "sharePermissions") -> list[dict[str, Any]]:
    """A filter body's `sharePermissions` (or `editPermissions`; absent: the current ones kept), each given a new
    id. An edit share cannot be public (`global`): anonymous callers edit nothing [unc: Jira's text]."""
    if key not in body:
        return list(current or [])
    raw = body[key]
    if not isinstance(raw, list):
        raise fail(400, None, {key: "data was not an array"})
    shares = [parse_share(sb, x) for x in raw]
    if key == "editPermissions" and any(s["type"] == "global" for s in shares):
        raise fail(400, None, {key: "A filter cannot be shared publicly for editing."})  # [unc]
    if any(s["type"] in GLOBAL_KINDS for s in shares):  # a global share overrides every other one
        shares = [next(s for s in shares if s["type"] in GLOBAL_KINDS)]
    return [{"id": sb.store.new_id(), **s} for s in shares]


def render_share(c: Call, share: dict[str, Any]) -> dict[str, Any] | None:
    out: dict[str, Any] = {"id": share["id"], "type": share["type"]}
    if share["type"] == "project":
        if share["project"] not in c.r.store.projects:
            return None  # its project went away [unc: Jira may answer `project-unknown`]
        out["project"] = c.r.project_ref(share["project"])
        if share.get("role") is not None:
            name, description = ROLES[share["role"]]
            out["role"] = {"self": f"{c.r.api}/project/{out['project']['id']}/role/{share['role']}",
                           "name": name, "id": share["role"], "description": description}
    elif share["type"] == "group":
        name = share["group"]
        out["group"] = {"name": name, "groupId": group_id(name),
                        "self": f"{c.r.api}/group?groupId={group_id(name)}"}
    elif share["type"] == "user":
        full = c.r.user(share["user"]) or {}  # a UserBean: no email, time zone or account type
        out["user"] = {k: full[k] for k in ("self", "accountId", "avatarUrls", "displayName", "active") if k in full}
    return out


def render_shares(c: Call, f: dict[str, Any], key: str = "share") -> list[dict[str, Any]]:
    """The filter's view shares (`key` "edit": its edit shares) as SharePermission beans."""
    return [bean for bean in (render_share(c, s) for s in f.get(key, [])) if bean is not None]


def shared_users(sb: JiraSandbox, c: Call, f: dict[str, Any]) -> dict[str, Any]:
    """The Filter's `sharedUsers` UserList: empty unless `expand` names `sharedUsers` (optionally
    `sharedUsers[start:end]`, 0-based and inclusive as the group `users[a:b]` expand)."""
    m = _SHARED_USERS.search(",".join(c.qlist("expand")))
    if m is None:
        return {"size": 0, "items": [], "max-results": 0, "start-index": 0, "end-index": 0}
    people = [u.account_id for u in list(sb.store.users.values())
              if u.active and _reaches(sb, u.account_id, f.get("share", []))]
    start = int(m.group(1)) if m.group(1) else 0
    end = int(m.group(2)) if m.group(2) else start + SHARED_USERS_PAGE - 1
    end = min(end, start + SHARED_USERS_PAGE - 1)
    items = [c.r.user(a) for a in people[start:end + 1]]
    return {"size": len(people), "items": items, "max-results": SHARED_USERS_PAGE, "start-index": start,
            "end-index": start + len(items) - 1 if items else start}  # [unc] end-index of an empty page


def sees_filter(sb: JiraSandbox, user: str | None, f: dict[str, Any]) -> bool:
    """The spec's GET /filter/{id}: the owner's, or shared with the public or logged-in users, a group of the
    user's, a project the user may browse (a role of it the user is in), or the user; an editor sees it too."""
    if user is None or f["owner"] == user:
        return True
    return _reaches(sb, user, f.get("share", [])) or _reaches(sb, user, f.get("edit", []))


def edits_filter(sb: JiraSandbox, user: str | None, f: dict[str, Any]) -> bool:
    """Who may PUT /filter/{id}: its owner and those its `editPermissions` reach (as Jira Cloud's filter
    editors; the spec's text still says "the user must own the filter") [unc]."""
    return user is not None and (f["owner"] == user or _reaches(sb, user, f.get("edit", [])))


def _reaches(sb: JiraSandbox, user: str, shares: list[dict[str, Any]]) -> bool:
    for share in shares:
        kind = share["type"]
        if kind in GLOBAL_KINDS or (kind == "user" and share["user"] == user) or (
                kind == "group" and user in group_members(sb, share["group"])):
            return True
        if kind == "project" and share["project"] in sb.store.projects:
            if share.get("role") is not None:
                if in_role(sb, user, share["project"], share["role"]):
                    return True
            elif sb.holds(user, "BROWSE_PROJECTS", [share["project"]]):  # type: ignore[attr-defined]
                return True
    return False


def register(sb: JiraSandbox) -> None:
    def find_filter(c: Call) -> dict[str, Any]:
        ident = c.p["filter"]
        f = sb.store.work.get("filters", {}).get(int(ident)) if is_id(ident) else None
        if f is None:
            raise fail(404, f"The filter with id '{ident}' does not exist.")  # [unc]
        return f

    def find_share(c: Call, f: dict[str, Any]) -> dict[str, Any]:
        raw = c.p["share"]
        found = next((s for s in f.get("share", []) if is_id(raw) and s["id"] == int(raw)), None)
        if found is None:
            raise fail(404, f"Share permission with id '{raw}' does not exist.")  # [unc]
        return found

    def seen_filter(c: Call) -> dict[str, Any]:
        f = find_filter(c)
        if not sees_filter(sb, c.user, f):  # the spec: 404 without permission to view the filter
            raise fail(404, f"The filter with id '{f['id']}' does not exist.")  # [unc]
        return f

    def list_shares(c: Call) -> Response:
        return json_response(render_shares(c, seen_filter(c)))

    def one_share(c: Call) -> Response:
        f = seen_filter(c)
        return json_response(render_share(c, find_share(c, f)))

    def add_share(c: Call) -> Response:
        f = seen_filter(c)  # the spec: 404 when the caller may not view the filter
        if f["owner"] != c.user or not sb.holds(  # type: ignore[attr-defined]
                c.user, "CREATE_SHARED_OBJECTS", []):  # the spec: its owner, who may share; else 400
            raise fail(400, "You do not have permission to share this filter.")  # [unc] text
        share = parse_share(sb, c.obj())
        with sb.store.lock:
            current = f.setdefault("share", [])
            if share["type"] in GLOBAL_KINDS:
                current.clear()
            elif any(s["type"] in GLOBAL_KINDS for s in current):
                raise fail(400, "The filter is shared globally: delete that share before adding another.")  # [unc]
            if not any({k: v for k, v in s.items() if k != "id"} == share for s in current):
                current.append({"id": sb.store.new_id(), **share})
        return json_response(render_shares(c, f), 201)

    def delete_share(c: Call) -> Response:
        f = find_filter(c)
        if f["owner"] != c.user:  # the spec: the user must own the filter, else 404
            raise fail(404, f"The filter with id '{f['id']}' does not exist.")  # [unc] text
        share = find_share(c, f)
        with sb.store.lock:
            f["share"] = [s for s in f.get("share", []) if s is not share]
        return Response(status=204)

    base = r"/filter/(?P<filter>[^/]+)/permission"
    sb.route("GET", base, list_shares)
    sb.route("POST", base, add_share, "write")
    sb.route("GET", base + r"/(?P<share>[^/]+)", one_share)
    sb.route("DELETE", base + r"/(?P<share>[^/]+)", delete_share, "write")

