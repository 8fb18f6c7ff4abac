"""More of a board (Agile 1.0), registered before `routes_agile`'s board routes.

- GET `/board/{id}/quickfilter` (paged) and `/quickfilter/{qid}`: every board has "Only My Issues"
  (`assignee = currentUser()`) and "Recently Updated" (`updatedDate >= -1d`).
- GET `/board/{id}/features` and PUT (`{"feature", "enabling"}`): backlog, sprints (scrum boards), estimation,
  reports, releases, roadmap... with ENABLED/DISABLED state; an unknown feature is a 400.
- GET `/board/{id}/reports`: `{"reports": []}` (the spec allows report entries no properties at all, so none
  are listed). GET `/board/{id}/project/full`: the board's project as full project beans.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira.call import Call, paged
from sandbox.jira.errors import fail
from sandbox.jira.ids import is_id
from sandbox.jira.ownership import BOARD_ADMIN_REQUIRED, board_admin
from sandbox.jira.routes_platform import project_full

if TYPE_CHECKING:
    from sandbox.jira.model import Board
    from sandbox.jira.sandbox import JiraSandbox

QUICK = [(1, "Only My Issues", "assignee = currentUser()", "Issues assigned to me"),
         (2, "Recently Updated", "updatedDate >= -1d", "Issues updated in the last day")]
FEATURES = {"BACKLOG": "Backlog", "SPRINTS": "Sprints", "ESTIMATION": "Estimation", "REPORTS": "Reports",
            "RELEASES": "Releases", "SIMPLE_ROADMAP": "Timeline", "DEVTOOLS": "Development tools",
            "CODE": "Code", "DEPLOYMENTS": "Deployments", "PAGES": "Pages"}


def register(sb: JiraSandbox) -> None:
    def board_of(c: Call) -> Board:
        ident = c.p["board"]
        board = sb.store.boards.get(int(ident)) if is_id(ident) else None
        if board is None:
            raise fail(404, "Board does not exist or you do not have permission to see it.")
        return board

    def quick_bean(board: Board, q: tuple[int, str, str, str]) -> dict[str, Any]:
        n, name, jql, desc = q
        return {"id": board.id * 100 + n, "boardId": board.id, "name": name, "jql": jql, "description": desc,
                "position": n - 1}

    def quick_filters(c: Call) -> Response:
        board = board_of(c)
        beans = [quick_bean(board, q) for q in QUICK]
        return json_response(paged(beans, c.qint("startAt", 0), c.qint("maxResults", 50, 1, 50)))

    def quick_filter(c: Call) -> Response:
        board = board_of(c)
        found = next((b for b in (quick_bean(board, q) for q in QUICK) if str(b["id"]) == c.p["quick"]), None)
        if found is None:
            raise fail(404, f"The quick filter with id '{c.p['quick']}' does not exist.")
        return json_response(found)

    def states(board: Board) -> dict[str, bool]:
        table = sb.store.work.setdefault("board_features", {})
        if board.id not in table:
            table[board.id] = {f: f in ("BACKLOG", "ESTIMATION", "REPORTS", "RELEASES") or
                               (f == "SPRINTS" and board.type == "scrum") for f in FEATURES}
        return table[board.id]

    def features_bean(board: Board) -> dict[str, Any]:
        return {"features": [{"boardFeature": f, "boardId": board.id, "state": "ENABLED" if on else "DISABLED",
                              "localisedName": FEATURES[f], "featureType": "ESTIMATION" if f == "ESTIMATION"
                              else "BASIC", "toggleLocked": f == "BACKLOG"}
                             for f, on in states(board).items()]}

    def set_feature(c: Call) -> Response:
        board, body = board_of(c), c.obj()
        if not board_admin(sb, c.user, board):  # board configuration: its administrators [unc]
            raise fail(403, BOARD_ADMIN_REQUIRED)
        feature = str(body.get("feature") or "")
        if feature not in FEATURES:
            raise fail(400, f"The board feature '{feature}' does not exist.")
        with sb.store.lock:
            states(board)[feature] = bool(body.get("enabling"))
        return json_response(features_bean(board))

    def reports(c: Call) -> Response:
        board_of(c)
        return json_response({"reports": []})

    def projects_full(c: Call) -> Response:
        board = board_of(c)
        return json_response([project_full(sb, c, board.project)] if board.project in sb.store.projects else [])

    board = r"/board/(?P<board>\d+)"
    sb.route("GET", board + r"/quickfilter", quick_filters, prefix="agile")
    sb.route("GET", board + r"/quickfilter/(?P<quick>[^/]+)", quick_filter, prefix="agile")
    sb.route("GET", board + r"/features", lambda c: json_response(features_bean(board_of(c))), prefix="agile")
    sb.route("PUT", board + r"/features", set_feature, "write", prefix="agile")
    sb.route("GET", board + r"/reports", reports, prefix="agile")
    sb.route("GET", board + r"/project/full", projects_full, prefix="agile")
