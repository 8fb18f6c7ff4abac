"""Jira Software (Agile 1.0): boards, sprints, sprint/board/backlog/epic issues.

Pages use `{"maxResults","startAt","total","isLast","values"}` for boards/sprints/epics and
`{"expand","startAt","maxResults","total","issues"}` for issue lists (agile beans carry `sprint`,
`closedSprints`, `flagged`, `epic`). Issue lists accept an extra `jql` filter and read the live store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira import catalog as C
from sandbox.jira.call import Call, paged
from sandbox.jira.errors import fail
from sandbox.jira.jql import JQLError
from sandbox.jira.model import Board, Issue, Sprint
from sandbox.jira.render import NAVIGABLE, select_fields
from sandbox.jira.timefmt import parse_jira_ts

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox


def register(sb: JiraSandbox) -> None:
    def board_bean(c: Call, b: Board) -> dict[str, Any]:
        p = sb.store.projects[b.project]
        return {"id": b.id, "self": f"{c.base}/rest/agile/1.0/board/{b.id}", "name": b.name, "type": b.type,
                "location": {"projectId": int(p.id), "displayName": f"{p.name} ({p.key})", "projectName": p.name,
                             "projectKey": p.key, "projectTypeKey": "software",
                             "avatarURI": f"{c.base}/secure/projectavatar?size=small&pid={p.id}", "name":
                             f"{p.name} ({p.key})"}}

    def board_of(c: Call) -> Board:
        board = sb.store.boards.get(int(c.p["board"]))
        if board is None:
            raise fail(404, "Board does not exist or you do not have permission to see it.")
        return board

    def boards(c: Call) -> Response:
        items = list(sb.store.boards.values())
        if c.q("type"):
            items = [b for b in items if b.type in c.q("type", "").split(",")]
        if c.q("name"):
            items = [b for b in items if c.q("name", "").lower() in b.name.lower()]
        if c.q("projectKeyOrId"):
            ref = c.q("projectKeyOrId", "").upper()
            items = [b for b in items if ref in (b.project, sb.store.projects[b.project].id)]
        beans = [board_bean(c, b) for b in items]
        return json_response(paged(beans, c.qint("startAt", 0), c.qint("maxResults", 50, 1, 50)))

    def board_sprints(c: Call) -> Response:
        board = board_of(c)
        states = {s for item in c.qlist("state") for s in item.split(",") if s}
        items = [s for s in list(sb.store.sprints.values())
                 if s.board_id == board.id and (not states or s.state in states)]
        beans = [c.r.sprint(s) for s in items]
        return json_response(paged(beans, c.qint("startAt", 0), c.qint("maxResults", 50, 1, 50)))

    def sprint(c: Call) -> Response:
        s = sb.store.sprints.get(int(c.p["sprint"]))
        if s is None:
            raise fail(404, f"Sprint with id {c.p['sprint']} does not exist or you do not have permission to see it.")
        return json_response(c.r.sprint(s))

    def create_sprint(c: Call) -> Response:
        """POST /sprint: a new future sprint on a board (201, the sprint bean)."""
        body = c.obj()
        name = str(body.get("name") or "").strip()
        board = body.get("originBoardId")
        errors = {}
        if not name:
            errors["name"] = "Sprint name cannot be empty."
        elif len(name) > 255:
            errors["name"] = "Sprint name is too long."
        if not str(board or "").isdigit() or int(board) not in sb.store.boards:
            errors["originBoardId"] = "Board does not exist or you do not have permission to see it."
        if errors:
            raise fail(400, None, errors)
        with sb.store.lock:
            ident = max(sb.store.sprints, default=0) + 1
            new = Sprint(ident, int(board), name, "future", _ms(body.get("startDate")), _ms(body.get("endDate")),
                         None, sb.store.now_ms(), str(body.get("goal") or ""))
            sb.store.sprints[ident] = new
        return json_response(c.r.sprint(new), 201)

    def issue_page(c: Call, issues: list[Issue]) -> Response:
        jql = c.q("jql")
        if jql:
            try:
                pred = sb.jql(jql, c.user).pred
            except JQLError as exc:
                raise fail(400, str(exc)) from None
            issues = [i for i in issues if pred(i)]
        issues.sort(key=lambda i: i.rank)
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 50, 1, 100)
        fields = select_fields(c.qlist("fields"), NAVIGABLE)
        expand = ",".join(c.qlist("expand"))
        return json_response({"expand": "names,schema", "startAt": start, "maxResults": limit,
                              "total": len(issues), "issues": [c.r.issue(i, fields, expand, agile=True)
                                                               for i in issues[start:start + limit]]})

    def sprint_issues(c: Call) -> Response:
        sid = int(c.p["sprint"])
        if sid not in sb.store.sprints:
            raise fail(404, f"Sprint with id {sid} does not exist or you do not have permission to see it.")
        return issue_page(c, [i for i in list(sb.store.issues.values()) if sid in i.sprints])

    def board_sprint_issues(c: Call) -> Response:
        board = board_of(c)
        s = sb.store.sprints.get(int(c.p["sprint"]))
        if s is None:
            raise fail(404, f"Sprint with id {c.p['sprint']} does not exist or you do not have permission to see it.")
        return issue_page(c, [i for i in list(sb.store.issues.values())
                              if s.id in i.sprints and i.project == board.project])

    def board_issues(c: Call) -> Response:
        board = board_of(c)
        return issue_page(c, [i for i in list(sb.store.issues.values()) if i.project == board.project])

    def backlog(c: Call) -> Response:
        board = board_of(c)
        live = {s.id for s in list(sb.store.sprints.values()) if s.state != "closed"}
        return issue_page(c, [i for i in list(sb.store.issues.values()) if i.project == board.project
                              and i.type_id != C.EPIC and live.isdisjoint(i.sprints)
                              and C.STATUSES[i.status_id][1] != "done"])

    def board_epics(c: Call) -> Response:
        board = board_of(c)
        epics = [c.r.epic(i) for i in list(sb.store.issues.values())
                 if i.project == board.project and i.type_id == C.EPIC]
        done = c.q("done")
        if done in ("true", "false"):
            epics = [e for e in epics if e["done"] == (done == "true")]
        return json_response(paged(epics, c.qint("startAt", 0), c.qint("maxResults", 50, 1, 50)))

    def epic_of(c: Call) -> Issue:
        issue = sb.store.resolve(c.p["epic"])
        if issue is None or issue.type_id != C.EPIC:
            raise fail(404, "Epic does not exist or you do not have permission to see it.")
        return issue

    def epic_issues(c: Call) -> Response:
        epic = epic_of(c)
        return issue_page(c, [sb.store.issues[k] for k in sb.store.children.get(epic.id, ()) if k in sb.store.issues])

    def move_to_sprint(c: Call) -> Response:
        sid = int(c.p["sprint"])
        if sid not in sb.store.sprints:
            raise fail(404, f"Sprint with id {sid} does not exist.")
        for ref in c.obj().get("issues") or []:
            issue = sb.store.resolve(str(ref))
            if issue is not None:
                sb.store.update(issue.id, {"sprints": (*[s for s in issue.sprints if s != sid], sid)}, c.user)
        return Response(status=204)

    sb.route("GET", r"/board", boards, prefix="agile")
    sb.route("GET", r"/board/(?P<board>\d+)", lambda c: json_response(board_bean(c, board_of(c))), prefix="agile")
    sb.route("GET", r"/board/(?P<board>\d+)/sprint", board_sprints, prefix="agile")
    sb.route("GET", r"/board/(?P<board>\d+)/issue", board_issues, prefix="agile")
    sb.route("GET", r"/board/(?P<board>\d+)/sprint/(?P<sprint>\d+)/issue", board_sprint_issues, prefix="agile")
    sb.route("GET", r"/board/(?P<board>\d+)/backlog", backlog, prefix="agile")
    sb.route("GET", r"/board/(?P<board>\d+)/epic", board_epics, prefix="agile")
    sb.route("POST", r"/sprint", create_sprint, "write", prefix="agile")
    sb.route("GET", r"/sprint/(?P<sprint>\d+)", sprint, prefix="agile")
    sb.route("GET", r"/sprint/(?P<sprint>\d+)/issue", sprint_issues, prefix="agile")
    sb.route("POST", r"/sprint/(?P<sprint>\d+)/issue", move_to_sprint, "write", prefix="agile")
    sb.route("GET", r"/epic/(?P<epic>[A-Za-z0-9_-]+)", lambda c: json_response(c.r.epic(epic_of(c))), prefix="agile")
    sb.route("GET", r"/epic/(?P<epic>[A-Za-z0-9_-]+)/issue", epic_issues, prefix="agile")


def _ms(value: Any) -> int | None:
    try:
        return parse_jira_ts(str(value)) if value else None
    except ValueError:
        raise fail(400, None, {"startDate": "Invalid date format."}) from None
