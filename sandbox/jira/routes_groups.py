"""Groups: picker, members, get/create/delete, add/remove members, a user's groups.

- GET `/groups/picker` (`{"header","total","groups":[{"name","html","labels","groupId"}]}`),
  GET `/group/member` (paged users, `nextPage` while more; 404 for an unknown group),
  GET `/group` (`expand=users[a:b]` pages its `users` list, as pycontribs' `group_members` asks),
  GET `/user/groups?accountId=`, GET `/group/bulk` (`groupId`/`groupName` filters, paged).
- POST `/group` `{"name"}` (201, the group; 400 when the name is taken), DELETE `/group?groupname=|groupId=`
  (200), POST `/group/user?groupname=|groupId=` `{"accountId"}` (201, the group), DELETE
  `/group/user?...&accountId=` (200). Older clients send `name`/`username` instead of `accountId`: an
  account id given there is accepted.
- Three seeded groups: `jira-software-users` (everyone), `jira-admins` and `site-admins` (the API user);
  membership lives in `store.work["groups"]` (name -> account ids, in creation order).
"""

from __future__ import annotations

import hashlib
import html
import re
import uuid
from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira import audit
from sandbox.jira.admin_guard import site_admin_only
from sandbox.jira.call import Call, paged
from sandbox.jira.errors import fail, shaped

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

GROUPS = ("jira-software-users", "jira-admins", "site-admins")
_USERS_EXPAND = re.compile(r"users\[([0-9]{1,9}):([0-9]{1,9})\]")  # ASCII digits, bounded: int() stays cheap


def group_id(name: str) -> str:
    return str(uuid.UUID(bytes=hashlib.blake2b(f"jira-group:{name}".encode(), digest_size=16).digest(), version=4))


def groups_of(sb: JiraSandbox) -> dict[str, list[str]]:
    """Every group's members (account ids), seeded on first use."""
    state = sb.store.work.get("groups")
    if state is None:
        everyone = [u.account_id for u in sb.store.users.values() if u.account_type == "atlassian"]
        state = sb.store.work.setdefault("groups", {GROUPS[0]: everyone, GROUPS[1]: [sb.store.me.account_id],
                                                    GROUPS[2]: [sb.store.me.account_id]})
    return state


def group_names(sb: JiraSandbox) -> list[str]:
    return list(groups_of(sb))


def group_members(sb: JiraSandbox, name: str) -> list[str]:
    return list(groups_of(sb).get(name, ()))


def register(sb: JiraSandbox) -> None:
    def groups_picker(c: Call) -> Response:
        query = (c.q("query") or "").lower()
        excluded = set(c.qlist("exclude"))
        limit = c.qint("maxResults", 20, 0, 1000)
        names = [g for g in group_names(sb) if query in g.lower() and g not in excluded]
        account = c.q("accountId")
        if account:
            names = [g for g in names if account in group_members(sb, g)]
        shown = names[:limit]

        def highlight(name: str) -> str:
            if not query:
                return html.escape(name)
            at = name.lower().find(query)
            return (html.escape(name[:at]) + "<b>" + html.escape(name[at:at + len(query)]) + "</b>"
                    + html.escape(name[at + len(query):]))

        return json_response({"header": f"Showing {len(shown)} of {len(names)} matching groups", "total": len(names),
                              "groups": [{"name": g, "html": highlight(g), "labels": [], "groupId": group_id(g)}
                                         for g in shown]})

    def find_group(c: Call) -> str:
        name, gid = c.q("groupname"), c.q("groupId")
        if not name and not gid:
            raise fail(400, "You must specify a group name or a group ID.")
        hit = next((g for g in group_names(sb) if g == name or group_id(g) == gid), None)
        if hit is None:
            raise fail(404, "Specified group does not exist.")
        return hit

    def members(c: Call) -> Response:
        group = find_group(c)
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 50, 1, 50)
        people = [c.r.user(a) for a in group_members(sb, group)]
        self_url = f"{c.r.api}/group/member?groupId={group_id(group)}&startAt={start}&maxResults={limit}"
        out = paged(people, start, limit, self_url)
        if not out["isLast"]:
            out["nextPage"] = (f"{c.r.api}/group/member?groupId={group_id(group)}&startAt={start + limit}"
                               f"&maxResults={limit}")
        return json_response(out)

    def group_bean(c: Call, name: str) -> dict[str, Any]:
        people = [c.r.user(a) for a in group_members(sb, name)]
        start, end = 0, 49
        m = _USERS_EXPAND.search(",".join(c.qlist("expand")))
        if m:
            start, end = int(m.group(1)), int(m.group(2))
            end = min(end, start + 49)  # at most 50 users a page
        items = people[start:end + 1]
        return {"name": name, "groupId": group_id(name), "self": f"{c.r.api}/group?groupId={group_id(name)}",
                "users": {"size": len(people), "items": items, "max-results": 50, "start-index": start,
                          "end-index": start + len(items) - 1},
                "expand": "users"}

    def group(c: Call) -> Response:
        return json_response(group_bean(c, find_group(c)))

    def create_group(c: Call) -> Response:
        name = str(c.obj().get("name") or "").strip()
        if not name:
            raise fail(400, "You must specify a valid group name.")
        with sb.store.lock:
            if any(g.lower() == name.lower() for g in group_names(sb)):
                raise fail(400, "A group or user with this name already exists.")
            groups_of(sb)[name] = []
            sb.store.relations_version += 1
        audit.record(sb, c, "Group created", "group management", (group_id(name), name, "GROUP"))
        return json_response(group_bean(c, name), 201)

    def delete_group(c: Call) -> Response:
        name = find_group(c)
        if name in GROUPS[:1]:
            raise fail(400, f"You cannot delete the group '{name}': it grants access to Jira.")
        with sb.store.lock:
            groups_of(sb).pop(name, None)
            sb.store.relations_version += 1
        audit.record(sb, c, "Group deleted", "group management", (group_id(name), name, "GROUP"))
        return Response(status=200)

    def account_of(c: Call, given: Any) -> str:
        if not given:
            raise fail(400, "accountId must be provided.")
        if given not in sb.store.users:
            raise fail(404, f"The user with account ID '{given}' does not exist.")
        return str(given)

    def add_member(c: Call) -> Response:
        name = find_group(c)
        body = c.obj()
        account = account_of(c, shaped(body.get("accountId"), "string") or shaped(body.get("name"), "string"))
        with sb.store.lock:
            people = groups_of(sb)[name]
            if account in people:
                raise fail(400, f"Cannot add user. User is already a member of '{name}'.")
            people.append(account)
            sb.store.relations_version += 1
        audit.record(sb, c, "User added to group", "group management", (account, account, "USER"),
                     associated=[(group_id(name), name, "GROUP")])
        return json_response(group_bean(c, name), 201)

    def remove_member(c: Call) -> Response:
        name = find_group(c)
        account = account_of(c, c.q("accountId") or c.q("username"))
        with sb.store.lock:
            people = groups_of(sb)[name]
            if account not in people:
                raise fail(400, f"Cannot remove user. User is not a member of '{name}'.")
            people.remove(account)
            sb.store.relations_version += 1
        audit.record(sb, c, "User removed from group", "group management", (account, account, "USER"),
                     associated=[(group_id(name), name, "GROUP")])
        return Response(status=200)

    def user_groups(c: Call) -> Response:
        account = c.q("accountId")
        if not account:
            raise fail(400, "The 'accountId' query parameter needs to be provided.")
        if account not in sb.store.users:
            raise fail(404, "The user with the specified accountId doesn't exist.")
        return json_response([{"name": g, "groupId": group_id(g), "self": f"{c.r.api}/group?groupId={group_id(g)}"}
                              for g in group_names(sb) if account in group_members(sb, g)])

    def bulk(c: Call) -> Response:
        """GET /group/bulk: every group, or those named by `groupId`/`groupName` (repeatable), paged."""
        ids = {x for item in c.qlist("groupId") for x in item.split(",") if x}
        names = {x.lower() for item in c.qlist("groupName") for x in item.split(",") if x}
        found = [{"name": g, "groupId": group_id(g)} for g in group_names(sb)
                 if (not ids and not names) or group_id(g) in ids or g.lower() in names]
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 50, 1, 1000)
        return json_response(paged(found, start, limit, f"{c.r.api}/group/bulk?startAt={start}&maxResults={limit}"))

    sb.route("GET", r"/group/bulk", bulk)
    sb.route("GET", r"/groups/picker", groups_picker)
    sb.groups_picker = groups_picker  # type: ignore[attr-defined]  # /groupuserpicker (`routes_pickers`)
    sb.route("GET", r"/group/member", members)
    sb.route("GET", r"/group", group)
    # the spec: group writes need Site administration (the site-admins group), else 403
    sb.route("POST", r"/group", site_admin_only(sb, create_group), "write")
    sb.route("DELETE", r"/group", site_admin_only(sb, delete_group), "write")
    sb.route("POST", r"/group/user", site_admin_only(sb, add_member), "write")
    sb.route("DELETE", r"/group/user", site_admin_only(sb, remove_member), "write")
    sb.route("GET", r"/user/groups", user_groups)
