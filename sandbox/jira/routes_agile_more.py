"""More of Jira Software (Agile 1.0): deleting sprints, epics (move issues in and out, issues without an
epic, a board's epic issues), the Agile issue bean and its estimation, a board's projects and versions.

- DELETE `/sprint/{id}` (204; its issues go back to the backlog). POST `/sprint/{id}/swap`
  `{"sprintToSwapWith"}` (204): the two sprints trade places in their board's sprint list (404 when either
  does not exist, 400 without a sprint id [unc: wording]; sprints of any state and board may be swapped [unc]).
- POST `/epic/{epic}/issue` `{"issues"}` (204; sub-tasks and epics cannot be moved: 400),
  GET/POST `/epic/none/issue` (issues without an epic / remove issues from their epic),
  GET `/board/{b}/epic/{epic}/issue`, GET `/board/{b}/epic/none/issue`.
- GET `/issue/{key}` (the Agile issue bean): by default the navigable fields (no `comment`, `worklog`) plus the
  Agile `sprint`, `closedSprints`, `flagged`, `epic`, as the spec words it; a `fields` list is honoured as on
  the platform API and gives the Agile fields only when it names them or `*all` / `*navigable` [unc],
  `-sprint` style exclusions included.
  GET/PUT `/issue/{key}/estimation?boardId=` (story points, `{"fieldId","value"}`).
- GET `/board/{b}/project` and `/board/{b}/version` (`released=true|false`), paged.

Registered before `routes_agile`: its `/epic/{epic}/issue` would otherwise take `/epic/none/issue`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira import catalog as C
from sandbox.jira.call import Call, paged
from sandbox.jira.errors import fail, not_found_issue
from sandbox.jira.ids import decimal_number, is_id
from sandbox.jira.model import Issue
from sandbox.jira.ownership import NO_SPRINT_PERMISSION, manages_sprints
from sandbox.jira.routes_agile import agile_bean
from sandbox.jira.routes_versions import version_bean

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

def register(sb: JiraSandbox) -> None:
    def shared(name: str) -> Any:
        return sb.agile[name]  # type: ignore[attr-defined]

    def delete_sprint(c: Call) -> Response:
        sid = int(c.p["sprint"])
        sprint = sb.store.sprints.get(sid)
        if sprint is None:
            raise fail(404, f"Sprint with id {sid} does not exist or you do not have permission to see it.")
        if not manages_sprints(sb, c.user, sprint.board_id):
            raise fail(403, NO_SPRINT_PERMISSION)
        for issue in [i for i in list(sb.store.issues.values()) if sid in i.sprints]:
            sb.store.update(issue.id, {"sprints": tuple(s for s in issue.sprints if s != sid)}, c.user)
        with sb.store.lock:  # two concurrent DELETEs: one takes it, the other is a 404 (and no second event)
            gone = sb.store.sprints.pop(sid, None)
        if gone is None:
            raise fail(404, f"Sprint with id {sid} does not exist or you do not have permission to see it.")
        sb.webhooks.on_sprint("sprint_deleted", c.r.sprint(gone))
        return Response(status=204)

    def swap_sprint(c: Call) -> Response:
        sid = int(c.p["sprint"])
        other = c.obj().get("sprintToSwapWith")
        if isinstance(other, bool) or not isinstance(other, int | str) or not is_id(other):
            raise fail(400, None, {"sprintToSwapWith": "The sprint to swap with must be given."})  # [unc]
        other = int(other)
        with sb.store.lock:
            for ident in (sid, other):
                if ident not in sb.store.sprints:
                    raise fail(404, f"Sprint with id {ident} does not exist or you do not have permission to see it.")
            if not all(manages_sprints(sb, c.user, sb.store.sprints[i].board_id) for i in (sid, other)):
                raise fail(403, NO_SPRINT_PERMISSION)
            order = list(sb.store.sprints.items())
            keys = [k for k, _ in order]
            a, b = keys.index(sid), keys.index(other)
            order[a], order[b] = order[b], order[a]
            sb.store.sprints.clear()  # the same dict: JQL contexts and renderers hold it
            sb.store.sprints.update(order)
        return Response(status=204)

    def movable(c: Call) -> list[Issue]:
        issues: list[Issue] = shared("issues_of")(c, c.obj().get("issues"))
        for issue in issues:
            if issue.type_id in (C.EPIC, C.SUBTASK):
                kind = "an epic" if issue.type_id == C.EPIC else "a sub-task"
                raise fail(400, f"Issue {issue.key} is {kind} and cannot be moved to or from an epic.")
        return issues

    def move_to_epic(c: Call) -> Response:
        epic = shared("epic_of")(c)
        for issue in movable(c):
            sb.store.update(issue.id, {"parent_id": epic.id}, c.user)
        return Response(status=204)

    def remove_from_epic(c: Call) -> Response:
        for issue in movable(c):
            if issue.parent_id is not None:
                sb.store.update(issue.id, {"parent_id": None}, c.user)
        return Response(status=204)

    def no_epic(issue: Issue) -> bool:
        return issue.type_id not in (C.EPIC, C.SUBTASK) and issue.parent_id is None

    def issues_without_epic(c: Call) -> Response:
        return shared("issue_page")(c, [i for i in list(sb.store.issues.values()) if no_epic(i)])

    def board_epic_issues(c: Call) -> Response:
        board = shared("board_of")(c)
        epic = shared("epic_of")(c)
        return shared("issue_page")(c, [sb.store.issues[k] for k in sb.store.children.get(epic.id, ())
                                        if k in sb.store.issues and sb.store.issues[k].project == board.project])

    def board_no_epic(c: Call) -> Response:
        board = shared("board_of")(c)
        return shared("issue_page")(c, [i for i in list(sb.store.issues.values())
                                        if i.project == board.project and no_epic(i)])

    def issue_of(c: Call) -> Issue:
        issue = sb.store.resolve(c.p["issue"])
        if issue is None:
            raise not_found_issue()
        return issue

    def agile_issue(c: Call) -> Response:
        return json_response(agile_bean(c, issue_of(c)))

    def estimation_board(c: Call, issue: Issue) -> None:
        ref = c.q("boardId")
        if ref in (None, ""):
            return
        board = sb.store.boards.get(int(ref)) if is_id(ref) else None
        if board is None:
            raise fail(404, "Board does not exist or you do not have permission to see it.")
        if board.project != issue.project:
            raise fail(400, f"Issue {issue.key} does not belong to board {board.id}.")

    def points_text(value: float | None) -> str | None:
        return None if value is None else str(float(value))

    def get_estimation(c: Call) -> Response:
        issue = issue_of(c)
        estimation_board(c, issue)
        out: dict[str, Any] = {"fieldId": C.STORY_POINTS}
        if issue.points is not None:
            out["value"] = issue.points
        return json_response(out)

    def set_estimation(c: Call) -> Response:
        issue = issue_of(c)
        estimation_board(c, issue)
        raw = c.obj().get("value")
        value = None if raw in (None, "") else decimal_number(raw)  # not float(): NaN, '٣', ' 3' [round 27]
        if raw not in (None, "") and value is None:
            raise fail(400, f"The estimation value '{raw}' is not a valid number.")
        sb.store.update(issue.id, {"points": value}, c.user)
        out: dict[str, Any] = {"fieldId": C.STORY_POINTS}
        if value is not None:
            out["value"] = value
        return json_response(out)

    def board_projects(c: Call) -> Response:
        board = shared("board_of")(c)
        bean = c.r.project_ref(board.project)
        return json_response(paged([bean], c.qint("startAt", 0), c.qint("maxResults", 50, 1, 50)))

    def board_versions(c: Call) -> Response:
        board = shared("board_of")(c)
        released = c.qbool("released")
        items = [x for x in list(sb.store.work["versions"].values()) if x["project"] == board.project
                 and (released is None or bool(x.get("released")) == released)]
        beans = [version_bean(c, x) for x in items]
        return json_response(paged(beans, c.qint("startAt", 0), c.qint("maxResults", 50, 1, 50)))

    sb.route("DELETE", r"/sprint/(?P<sprint>\d+)", delete_sprint, "write", prefix="agile")
    sb.route("POST", r"/sprint/(?P<sprint>\d+)/swap", swap_sprint, "write", prefix="agile")
    sb.route("GET", r"/epic/none/issue", issues_without_epic, prefix="agile")
    sb.route("POST", r"/epic/none/issue", remove_from_epic, "write", prefix="agile")
    sb.route("POST", r"/epic/(?P<epic>[A-Za-z0-9_-]+)/issue", move_to_epic, "write", prefix="agile")
    sb.route("GET", r"/board/(?P<board>\d+)/epic/none/issue", board_no_epic, prefix="agile")
    sb.route("GET", r"/board/(?P<board>\d+)/epic/(?P<epic>[A-Za-z0-9_-]+)/issue", board_epic_issues, prefix="agile")
    sb.route("GET", r"/board/(?P<board>\d+)/project", board_projects, prefix="agile")
    sb.route("GET", r"/board/(?P<board>\d+)/version", board_versions, prefix="agile")
    sb.route("GET", r"/issue/(?P<issue>[A-Za-z0-9_-]+)/estimation", get_estimation, prefix="agile")
    sb.route("PUT", r"/issue/(?P<issue>[A-Za-z0-9_-]+)/estimation", set_estimation, "write", prefix="agile")
    sb.route("GET", r"/issue/(?P<issue>[A-Za-z0-9_-]+)", agile_issue, prefix="agile")
