"""Agile 1.0 writes the reference lists that were missing (405/404 before round 35):

- POST `/epic/{epicIdOrKey}`: partial update of `name`, `summary`, `color` (`{"key": "color_1".."color_14"}`, the
  spec's enum) and `done` (the epic's own status, not the issue's workflow status); 200 with the epic bean. The
  name, colour and done flag are kept in `store.work["epic_meta"]` (the renderer reads them); `summary` edits the
  issue (a changelog item) and is checked as the issue edit checks it (`changes.summary_error`: blank, over 255
  characters or with a line break is a 400 with Jira's message; kept as sent, spaces and all); a `name` over 255
  characters is a 400. 400 for a value of the wrong type or a colour outside the enum; 404 for an unknown epic
  [unc: error wording].
- PUT `/epic/{epicIdOrKey}/rank` `{"rankBeforeEpic"|"rankAfterEpic", "rankCustomFieldId"?}`: 204; exactly one of
  the two (400), the other epic must exist (404 as the reference says) and be an epic.
- POST `/board/{boardId}/issue` `{"issues", "rankBeforeIssue"?, "rankAfterIssue"?}` (at most 50): moves backlog
  issues onto the board. Here a board's issues are its project's, so nothing else changes [unc: a kanban board
  with a backlog would also move them to its first column]; issues of another project, and issues in an active
  or future sprint (the spec moves them "if they are already in the backlog of that board") get a 400 entry in
  a 207 and are not ranked [unc: wording]; unknown issues 400.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira import catalog as C
from sandbox.jira.call import Call
from sandbox.jira.changes import summary_error
from sandbox.jira.errors import fail

if TYPE_CHECKING:
    from sandbox.jira.model import Issue
    from sandbox.jira.sandbox import JiraSandbox

COLORS = {f"color_{n}" for n in range(1, 15)}
META = "epic_meta"
NAME_LIMIT = 255  # the Epic Name field is a single-line text field: 255 characters [unc: not in the spec]
TOO_LONG = "The entered text is too long. It exceeds the allowed limit of 255 characters."  # text fields' [unc]


def epic_meta(store: Any, epic_id: int) -> dict[str, Any]:
    """The epic's own name / colour / done flag as POST /epic/{id} set them (empty when never set)."""
    return store.work.get(META, {}).get(epic_id, {})


def register(sb: JiraSandbox) -> None:
    def shared(name: str) -> Any:
        return sb.agile[name]  # type: ignore[attr-defined]

    def update_epic(c: Call) -> Response:
        epic: Issue = shared("epic_of")(c)
        body = c.obj()
        errors: dict[str, str] = {}
        for key in ("name", "summary"):
            if key in body and not isinstance(body[key], str | None):
                errors[key] = f"The epic {key} must be a string."
        if isinstance(body.get("summary"), str) and (problem := summary_error(body["summary"])) is not None:
            errors["summary"] = problem  # as the issue edit checks it
        if isinstance(body.get("name"), str) and len(body["name"]) > NAME_LIMIT:
            errors["name"] = TOO_LONG
        if "done" in body and not isinstance(body["done"], bool | None):
            errors["done"] = "The done flag must be true or false."
        color = body.get("color")
        if color is not None and (not isinstance(color, dict) or color.get("key") not in COLORS):
            errors["color"] = "Valid values for color are color_1 to color_14."
        if errors:
            raise fail(400, None, errors)
        if isinstance(body.get("summary"), str):
            sb.store.update(epic.id, {"summary": body["summary"]}, c.user)  # as sent, as the issue edit keeps it
        with sb.store.lock:
            meta = sb.store.work.setdefault(META, {}).setdefault(epic.id, {})
            if isinstance(body.get("name"), str):
                meta["name"] = body["name"]
            if color is not None:
                meta["color"] = color["key"]
            if isinstance(body.get("done"), bool):
                meta["done"] = body["done"]
        return json_response(c.r.epic(sb.store.issues[epic.id]))

    def rank_epic(c: Call) -> Response:
        epic: Issue = shared("epic_of")(c)
        other, before = shared("rank_anchor")(c.obj(), "Epic")
        if other is None or other.type_id != C.EPIC:
            raise fail(404, "Epic does not exist or you do not have permission to see it.")
        if other.id != epic.id:
            shared("place")(c, [epic], other, before)
        return Response(status=204)

    def move_to_board(c: Call) -> Response:
        board = shared("board_of")(c)
        body = c.obj()
        issues: list[Issue] = shared("issues_of")(c, body.get("issues"))
        anchor = shared("rank_anchor")(body) if body.get("rankBeforeIssue") or body.get("rankAfterIssue") else None
        live = {s.id for s in list(sb.store.sprints.values()) if s.state != "closed"}

        def problem(issue: Issue) -> str | None:
            if issue.project != board.project:
                return f"Issue {issue.key} is not on board {board.id}."
            if not live.isdisjoint(issue.sprints):  # the spec: "if they are already in the backlog of that board"
                return f"Issue {issue.key} is not in the backlog of board {board.id}."  # [unc] wording
            return None

        problems = {i.id: problem(i) for i in issues}
        ours = [i for i in issues if problems[i.id] is None]
        if anchor is not None:
            shared("place")(c, [i for i in ours if i.id != anchor[0].id], *anchor)
        if len(ours) == len(issues):
            return Response(status=204)
        return json_response({"entries": [
            {"issueId": int(i.id), "issueKey": i.key, "status": 200} if problems[i.id] is None else
            {"issueId": int(i.id), "issueKey": i.key, "status": 400, "errors": [problems[i.id]]} for i in issues]},
            207)

    sb.route("POST", r"/epic/(?P<epic>[A-Za-z0-9_-]+)", update_epic, "write", prefix="agile")
    sb.route("PUT", r"/epic/(?P<epic>[A-Za-z0-9_-]+)/rank", rank_epic, "write", prefix="agile")
    sb.route("POST", r"/board/(?P<board>\d+)/issue", move_to_board, "write", prefix="agile")
