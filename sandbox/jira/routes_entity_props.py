"""More entity properties, under `routes_more.property_routes`' shared rules (list `{"keys"}`, get, PUT 201/200,
DELETE 204; key at most 255 characters, a non-empty JSON value of at most 32768 bytes):

- Agile: `/rest/agile/1.0/board/{id}/properties[/{key}]` and `/rest/agile/1.0/sprint/{id}/properties[/{key}]`
  (404 for an unknown board or sprint, in the Agile wording).
- Platform: `/comment/{id}/properties[/{key}]` (404 "Can not find a comment for the id" when it is not there)
  and `/issuetype/{id}/properties[/{key}]`; `/issue/{key}/worklog/{id}/properties[/{key}]` (round 30:
  atlassian-python-api's JiraCloud worklog property methods met a 404; 404 "Cannot find worklog with id" for a
  worklog that is not there or the caller may not see; writes need Edit Own / Edit All Worklogs).
Registered before the routes that would read `properties` as an id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.jira.admin_guard import ADMIN_REQUIRED
from sandbox.jira.call import Call
from sandbox.jira.errors import fail
from sandbox.jira.ids import is_id
from sandbox.jira.ownership import board_admin, manages_sprints, may_change
from sandbox.jira.routes_bulk_reads import find_comment
from sandbox.jira.routes_more import property_routes

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox


def register(sb: JiraSandbox) -> None:
    def table(kind: str, owner: Any) -> dict[str, Any]:
        return sb.store.work.setdefault(f"{kind}_properties", {}).setdefault(owner, {})

    def board(c: Call) -> tuple[str, dict[str, Any]]:
        ident = c.p["board"]
        if not is_id(ident) or int(ident) not in sb.store.boards:
            raise fail(404, "Board does not exist or you do not have permission to see it.")
        return ident, table("board", int(ident))

    def sprint(c: Call) -> tuple[str, dict[str, Any]]:
        ident = c.p["sprint"]
        if not is_id(ident) or int(ident) not in sb.store.sprints:
            raise fail(404, f"Sprint with id {ident} does not exist or you do not have permission to see it.")
        return ident, table("sprint", int(ident))

    def comment(c: Call) -> tuple[str, dict[str, Any]]:
        ident = c.p["comment"]
        found = find_comment(sb, int(ident)) if is_id(ident) else None
        if found is None or found.issue_id not in sb.store.issues:
            raise fail(404, f"Can not find a comment for the id: {ident}.")
        return ident, table("comment", found.id)

    def comment_writes(c: Call, ident: str) -> None:  # the spec: Edit All Comments, or Edit Own for one's own
        found = find_comment(sb, int(ident))
        issue = sb.store.issues.get(found.issue_id) if found is not None else None
        if found is None or issue is None:  # deleted (or its issue archived) since `comment` found it
            raise fail(404, f"Can not find a comment for the id: {ident}.")
        project = issue.project
        if not may_change(sb, c.user, project, found.author, "EDIT_OWN_COMMENTS", "EDIT_ALL_COMMENTS"):
            raise fail(403, "You do not have permission to edit this comment's properties.")  # [unc] wording

    def board_writes(c: Call, ident: str) -> None:  # "permissions to modify the board" [unc: 403, spec lists 404]
        if not board_admin(sb, c.user, sb.store.boards[int(ident)]):
            raise fail(403, "You do not have permission to modify this board.")

    def sprint_writes(c: Call, ident: str) -> None:  # the spec's 403: "permission to edit the sprint"
        if not manages_sprints(sb, c.user, sb.store.sprints[int(ident)].board_id):
            raise fail(403, "You do not have permission to edit this sprint.")  # [unc] wording

    def admin_writes(c: Call, _owner: str) -> None:  # the spec: issue type properties need Administer Jira
        if not sb.holds(c.user, "ADMINISTER", []):  # type: ignore[attr-defined]  # routes_roles
            raise fail(403, ADMIN_REQUIRED)

    def issue_type(c: Call) -> tuple[str, dict[str, Any]]:
        ident = c.p["type"]
        if ident not in sb.store.issue_types:
            raise fail(404, f"The issue type with ID '{ident}' does not exist.")
        return ident, table("issuetype", ident)

    def found_worklog(c: Call) -> tuple[Any, dict[str, Any]]:
        from sandbox.jira.routes_issues import issue_of
        from sandbox.jira.routes_roles import sees

        issue, ident = issue_of(sb, c.p["issue"]), c.p["worklog"]
        found = next((w for w in sb.store.work.get("worklogs", {}).get(issue.id, []) if str(w["id"]) == ident
                      and sees(sb, c.user, issue.project, w.get("visibility"))), None)
        if found is None:
            raise fail(404, "Cannot find worklog with id: " + ident)
        return issue, found

    def worklog(c: Call) -> tuple[str, dict[str, Any]]:
        issue, found = found_worklog(c)
        return f"{issue.key}/worklog/{found['id']}", table("worklog", found["id"])

    def worklog_writes(c: Call, _owner: str) -> None:  # the spec: Edit All Worklogs, or Edit Own for one's own
        issue, found = found_worklog(c)
        if not may_change(sb, c.user, issue.project, found.get("author"), "EDIT_OWN_WORKLOGS", "EDIT_ALL_WORKLOGS"):
            raise fail(403, "You do not have permission to edit this worklog's properties.")  # [unc] wording

    property_routes(sb, r"/board/(?P<board>[^/]+)/properties", board,
                    lambda c, o, k: f"{c.base}/rest/agile/1.0/board/{o}/properties/{k}", prefix="agile",
                    may_write=board_writes)
    property_routes(sb, r"/sprint/(?P<sprint>[^/]+)/properties", sprint,
                    lambda c, o, k: f"{c.base}/rest/agile/1.0/sprint/{o}/properties/{k}", prefix="agile",
                    may_write=sprint_writes)
    property_routes(sb, r"/comment/(?P<comment>[^/]+)/properties", comment,
                    lambda c, o, k: f"{c.r.api}/comment/{o}/properties/{k}", may_write=comment_writes)
    property_routes(sb, r"/issuetype/(?P<type>[^/]+)/properties", issue_type,
                    lambda c, o, k: f"{c.r.api}/issuetype/{o}/properties/{k}", may_write=admin_writes)
    property_routes(sb, r"/issue/(?P<issue>[A-Za-z0-9_-]+)/worklog/(?P<worklog>[^/]+)/properties", worklog,
                    lambda c, o, k: f"{c.r.api}/issue/{o}/properties/{k}", may_write=worklog_writes)
