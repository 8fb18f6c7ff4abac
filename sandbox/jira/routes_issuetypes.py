"""Issue type administration (the site's types live in `store.issue_types`; registered before the lookups).

- POST `/issuetype` `{"name", "description"?, "hierarchyLevel"? (0 | -1) or the older "type" (standard |
  subtask)}`: 201 IssueTypeDetails (ids from 10100); a name in use answers 409, an empty name or one longer
  than 60 characters 400.
- PUT `/issuetype/{id}` `{"name"?, "description"?, "avatarId"?}`: 200, the type (409 on a name in use).
- DELETE `/issuetype/{id}?alternativeIssueTypeId=`: 204; issues of that type move to the alternative (each
  gets an "issuetype" changelog entry). In use without an alternative, or with one that is not among
  GET `/issuetype/{id}/alternatives` (the other types of the same hierarchy level), is a 400. The seeded
  Epic and Subtask types cannot be deleted (400: Jira needs them for its hierarchy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.core.http import Response, json_response
from sandbox.jira import audit
from sandbox.jira import catalog as C
from sandbox.jira.admin_guard import admin_only
from sandbox.jira.call import Call
from sandbox.jira.errors import fail
from sandbox.jira.routes_platform import _type_details

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox


def register(sb: JiraSandbox) -> None:
    def type_of(c: Call) -> str:
        tid = c.p["ident"]
        if not tid.isdecimal():
            raise fail(400, f"The issue type ID '{tid}' is not valid.")
        if tid not in sb.store.issue_types:
            raise fail(404, f"The issue type with ID '{tid}' does not exist.")
        return tid

    def check_name(name: str, own: str | None = None) -> None:
        if not name:
            raise fail(400, None, {"name": "You must specify a unique name for the issue type."})
        if len(name) > 60:
            raise fail(400, None, {"name": "The entered issue type name is too long. It must be less than 60 "
                                           "characters."})
        if any(t[0].lower() == name.lower() and k != own for k, t in sb.store.issue_types.items()):
            raise fail(409, "An issue type with this name already exists.")

    def create(c: Call) -> Response:
        body = c.obj()
        name = str(body.get("name") or "").strip()
        check_name(name)
        level = body.get("hierarchyLevel")
        if level is None:
            level = -1 if body.get("type") == "subtask" else 0
        if level not in (0, -1) or body.get("type") not in (None, "standard", "subtask"):
            raise fail(400, "The hierarchy level must be 0 (standard) or -1 (sub-task).")
        with sb.store.lock:
            tid = str(max([int(k) for k in sb.store.issue_types] + [10099]) + 1)
            sb.store.issue_types[tid] = (name, level, level == -1, str(body.get("description") or ""))
        audit.record(sb, c, "Issue type created", "issue types", (tid, name, "ISSUE_TYPE"))
        return json_response(_type_details(c, tid), 201)

    def update(c: Call) -> Response:
        tid, body = type_of(c), c.obj()
        name, level, subtask, desc = sb.store.issue_types[tid]
        if "name" in body:
            name = str(body["name"] or "").strip()
            check_name(name, tid)
        with sb.store.lock:
            old = sb.store.issue_types[tid][0]
            sb.store.issue_types[tid] = (name, level, subtask, str(body.get("description", desc) or ""))
        audit.record(sb, c, "Issue type updated", "issue types", (tid, name, "ISSUE_TYPE"),
                     [("Name", old, name)] if old != name else [])
        return json_response(_type_details(c, tid))

    def alternatives_of(tid: str) -> list[str]:
        level = sb.store.issue_types[tid][1]
        return [k for k, t in sb.store.issue_types.items() if k != tid and t[1] == level]

    def delete(c: Call) -> Response:
        tid = type_of(c)
        if tid in (C.EPIC, C.SUBTASK):
            raise fail(400, f"The issue type '{sb.store.issue_types[tid][0]}' is required by the issue hierarchy "
                            "and cannot be deleted.")
        alternative = c.q("alternativeIssueTypeId")
        using = [i for i in list(sb.store.issues.values()) if i.type_id == tid]
        if alternative is not None and alternative not in alternatives_of(tid):
            raise fail(400, f"The issue type with ID '{alternative}' is not a valid alternative.")
        if using and alternative is None:
            raise fail(400, "The issue type is in use. Provide an alternative issue type (alternativeIssueTypeId).")
        for issue in using:
            sb.store.update(issue.id, {"type_id": alternative}, c.user)
        audit.record(sb, c, "Issue type deleted", "issue types", (tid, sb.store.issue_types[tid][0], "ISSUE_TYPE"))
        with sb.store.lock:
            del sb.store.issue_types[tid]
        return Response(status=204)

    def alternatives(c: Call) -> Response:
        return json_response([_type_details(c, t) for t in alternatives_of(type_of(c))])

    one = r"/issuetype/(?P<ident>[^/]+)"
    sb.route("POST", r"/issuetype", admin_only(sb, create), "write")
    sb.route("PUT", one, admin_only(sb, update), "write")
    sb.route("DELETE", one, admin_only(sb, delete), "write")
    sb.route("GET", one + r"/alternatives", alternatives, anonymous=True)
