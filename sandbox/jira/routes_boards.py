"""Agile board administration and the legacy GreenHopper sprint path.

- POST `/rest/agile/1.0/board` `{"name","type","filterId","location":{"type":"project|user","projectKeyOrId"}}`
  (201, the board bean). `name` (under 255 characters), `type` (scrum, kanban; "agility" is stored as a
  team-managed "simple" board) and an existing saved `filterId` the caller may see are required; a project
  location needs a known `projectKeyOrId`. The board then appears in `GET /board` and `GET /board/{id}/configuration`
  (whose `filter` is the one given).
- DELETE `/rest/agile/1.0/board/{id}` (204; 404 when unknown). Its sprints stay (as in Jira, where a sprint
  outlives the board it was created on).
- PUT `/rest/greenhopper/1.0/sprint/{id}` `{"name","startDate","endDate"}` (what atlassian-python-api's
  `rename_sprint` sends): Jira Cloud still answers this private path; here it renames the sprint (dates are
  changed only on future sprints) and answers the sprint as the Agile API renders it [unc: GreenHopper's own
  bean has more keys].

Guesses [unc]: which issues a board created from a filter shows. Boards here show one project's issues: the
location's project, else the first project the filter's JQL names, else the first project of the site.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sandbox.core.http import Response, json_response
from sandbox.jira.call import Call
from sandbox.jira.errors import fail
from sandbox.jira.ids import is_id, new_board_id
from sandbox.jira.model import Board
from sandbox.jira.ownership import BOARD_ADMIN_REQUIRED, NO_SPRINT_PERMISSION, board_admin, manages_sprints
from sandbox.jira.routes_agile import _ms
from sandbox.jira.routes_filter_shares import sees_filter

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

BOARD_TYPES = {"scrum": "scrum", "kanban": "kanban", "agility": "simple"}
_PROJECT_CLAUSE = re.compile(r"\bproject\s*(?:=|in)\s*\(?\s*\"?([A-Za-z0-9_]+)", re.IGNORECASE)
GREENHOPPER = r"(?:/ex/jira/(?P<cloud>[^/]+))?/rest/greenhopper/1\.0"


def register(sb: JiraSandbox) -> None:
    def find_project(ref: str) -> str | None:
        return next((p.key for p in sb.store.projects.values() if ref.upper() == p.key or ref == p.id), None)

    def create_board(c: Call) -> Response:
        body = c.obj()
        name = str(body.get("name") or "").strip()
        errors: dict[str, str] = {}
        if not name:
            errors["name"] = "Board name is required."
        elif len(name) >= 255:
            errors["name"] = "Board name must be less than 255 characters."
        kind = BOARD_TYPES.get(str(body.get("type") or "").lower())
        if kind is None:
            errors["type"] = "Board type must be one of: scrum, kanban."
        filters = sb.store.work.setdefault("filters", {})
        raw_filter = str(body.get("filterId") or "")
        fid = int(raw_filter) if is_id(raw_filter) else None
        if fid is None or fid not in filters:
            errors["filterId"] = f"Filter with id '{raw_filter}' does not exist or you do not have permission."
        location = body.get("location") or {"type": "user"}
        if not isinstance(location, dict) or location.get("type") not in ("project", "user"):
            errors["location"] = "Location type must be one of: project, user."
            location = {}
        project = None
        if location.get("type") == "project":
            project = find_project(str(location.get("projectKeyOrId") or ""))
            if project is None:
                errors["location"] = f"Project '{location.get('projectKeyOrId')}' does not exist."
        if errors:
            raise fail(400, None, errors)
        if project is not None and not (sb.holds(c.user, "ADMINISTER", []) or  # type: ignore[attr-defined]
                                        sb.holds(c.user, "ADMINISTER_PROJECTS", [project])):  # type: ignore
            # a board located in a project: that project's administrators only [unc]
            raise fail(403, f"You need to be an administrator of project {project} to create a board in it.")
        if not sees_filter(sb, c.user, filters[fid]):  # the spec: "a filter that the user has permissions to
            # view"; another's unshared one reads as unknown (checked after the project's administrators) [unc]
            raise fail(400, None, {"filterId": f"Filter with id '{raw_filter}' does not exist or you do not have "
                                               "permission."})
        if project is None:
            named = [find_project(m) for m in _PROJECT_CLAUSE.findall(filters[fid].get("jql") or "")]
            project = next((p for p in named if p), None) or next(iter(sb.store.projects))
        with sb.store.lock:
            ident = new_board_id(sb.store)
            board = Board(ident, name, str(kind), project, None if location.get("type") == "project" else c.user)
            sb.store.boards[ident] = board
            sb.store.work.setdefault("board_filters", {})[ident] = fid
        return json_response(sb.agile["board_bean"](c, board), 201)  # type: ignore[attr-defined]

    def delete_board(c: Call) -> Response:
        ident = int(c.p["board"])
        board = sb.store.boards.get(ident)
        if board is not None and not board_admin(sb, c.user, board):
            raise fail(403, BOARD_ADMIN_REQUIRED)
        with sb.store.lock:
            if sb.store.boards.pop(ident, None) is None:
                raise fail(404, "Board does not exist or you do not have permission to see it.")
            sb.store.work.setdefault("board_filters", {}).pop(ident, None)
            sb.store.work.setdefault("board_features", {}).pop(ident, None)
        return Response(status=204)

    def rename_sprint(c: Call) -> Response:
        sid = int(c.p["sprint"])
        sprint = sb.store.sprints.get(sid)
        if sprint is None:
            raise fail(404, f"Sprint with id {sid} does not exist or you do not have permission to see it.")
        if not manages_sprints(sb, c.user, sprint.board_id):
            raise fail(403, NO_SPRINT_PERMISSION)
        if sprint.state == "closed":
            raise fail(400, "Sprints that are in a closed state cannot be updated.")
        body = c.obj()
        name = str(body.get("name") or sprint.name).strip()
        if len(name) > 255:
            raise fail(400, None, {"name": "Sprint name is too long."})
        start, end = sprint.start, sprint.end
        if sprint.state == "future":
            start = _ms(body.get("startDate")) if body.get("startDate") else start
            end = _ms(body.get("endDate"), "endDate") if body.get("endDate") else end
        if start is not None and end is not None and end < start:
            raise fail(400, None, {"endDate": "Sprint end date must be after the start date."})
        with sb.store.lock:
            sprint.name, sprint.start, sprint.end = name, start, end
        return json_response(c.r.sprint(sprint))

    sb.route("POST", r"/board", create_board, "write", prefix="agile")
    sb.route("DELETE", r"/board/(?P<board>\d+)", delete_board, "write", prefix="agile")
    sb.router.add("PUT", GREENHOPPER + r"/sprint/(?P<sprint>[0-9]{1,18})",  # not \d+: '٣' read as 3 [round 27]
                  lambda req: rename_sprint(sb.context(req, "write", default_ver="2")))
