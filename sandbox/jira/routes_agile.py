"""Jira Software (Agile 1.0): boards, sprints, sprint/board/backlog/epic issues.

Pages use `{"maxResults","startAt","total","isLast","values"}` for boards/sprints/epics and
`{"expand","startAt","maxResults","total","issues"}` for issue lists. Every Agile issue read (lists and
GET /issue/{key}) renders through `agile_bean`: navigable fields plus `sprint`, `closedSprints`, `flagged`,
`epic` by default, only the named ones with a `fields` list.
Issue lists accept an extra `jql` filter and read the live store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira import catalog as C
from sandbox.jira import routes_sprint_report, routes_sprint_update, routes_velocity
from sandbox.jira.call import Call, paged
from sandbox.jira.errors import fail, shaped
from sandbox.jira.ids import is_id, new_sprint_id
from sandbox.jira.jql import JQLError
from sandbox.jira.model import Board, Issue, Sprint
from sandbox.jira.ownership import NO_SPRINT_PERMISSION, manages_sprints
from sandbox.jira.render import NAVIGABLE, agile_selection, select_fields
from sandbox.jira.timefmt import parse_jira_ts

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox


def agile_bean(c: Call, issue: Issue) -> dict[str, Any]:
    """One Agile issue bean, as every Agile issue read renders it (GET /issue/{key} and the issue lists):
    the navigable fields plus sprint/closedSprints/flagged/epic by default; a `fields` list gives only what it
    names (`*all` / `*navigable` and `-x` exclusions honoured)."""
    raw = c.qlist("fields")
    return c.r.issue(issue, select_fields(raw, NAVIGABLE), ",".join(c.qlist("expand")), agile=agile_selection(raw))


def register(sb: JiraSandbox) -> None:
    def board_bean(c: Call, b: Board) -> dict[str, Any]:
        p = sb.store.projects[b.project]
        out = {"id": b.id, "self": f"{c.base}/rest/agile/1.0/board/{b.id}", "name": b.name, "type": b.type,
               "location": {"projectId": int(p.id), "displayName": f"{p.name} ({p.key})", "projectName": p.name,
                            "projectKey": p.key, "projectTypeKey": "software",
                            "avatarURI": f"{c.base}/secure/projectavatar?size=small&pid={p.id}", "name":
                            f"{p.name} ({p.key})"}}
        if b.owner is not None:  # a board located under a user
            who = c.r.user(b.owner) or {}
            out["location"] = {"userAccountId": b.owner, "displayName": who.get("displayName", ""),
                               "name": who.get("displayName", ""),
                               "avatarURI": (who.get("avatarUrls") or {}).get("24x24", "")}
        return out

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
        if not routes_sprint_update.supports_sprints(sb, board):
            raise fail(400, routes_sprint_update.NO_SPRINTS)
        states = {s for item in c.qlist("state") for s in item.split(",") if s}
        # its own sprints and those of other boards holding one of its issues: a sprint is not tied to a board
        # (Atlassian KB "Sprint management for projects appearing on multiple boards in Jira Cloud": "a sprint
        # starts appearing on a board after an issue has been moved to it from another board")
        shared = sb.store.sprint_holdings.held(board.project)  # kept up to date by every issue write
        items = [s for s in list(sb.store.sprints.values())
                 if (s.board_id == board.id or s.id in shared) and (not states or s.state in states)]
        items.sort(key=lambda s: ("closed", "active", "future").index(s.state))  # then backlog position (stable)
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
        if not is_id(board or ""):  # not str.isdecimal(): 5,000 digits or '٣' reached int()
            errors["originBoardId"] = "The origin board id is required."  # [unc] wording
        if errors:
            raise fail(400, None, errors)
        if int(board) not in sb.store.boards:  # the reference: 404 when the board does not exist
            raise fail(404, "Board does not exist or you do not have permission to see it.")
        if not manages_sprints(sb, c.user, int(board)):
            raise fail(403, NO_SPRINT_PERMISSION)
        if not routes_sprint_update.supports_sprints(sb, sb.store.boards[int(board)]):
            raise fail(400, routes_sprint_update.NO_SPRINTS)
        start, end = _ms(body.get("startDate"), "startDate"), _ms(body.get("endDate"), "endDate")
        if start is not None and end is not None and end < start:  # as an update refuses it [unc: on create]
            raise fail(400, None, {"endDate": "Sprint end date must be after the start date."})
        with sb.store.lock:
            ident = new_sprint_id(sb.store)  # never a deleted sprint's id
            new = Sprint(ident, int(board), name, "future", start, end, None, sb.store.now_ms(),
                         str(body.get("goal") or ""))
            sb.store.sprints[ident] = new
        sb.webhooks.on_sprint("sprint_created", c.r.sprint(new))
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
        return json_response({"expand": "names,schema", "startAt": start, "maxResults": limit,
                              "total": len(issues), "issues": [agile_bean(c, i) for i in issues[start:start + limit]]})

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
        done = c.qbool("done")
        if done is not None:
            epics = [e for e in epics if e["done"] == done]
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
        """POST /sprint/{id}/issue: 1 to 50 issues, all known (else 400 and nothing moves), into a future or
        active sprint; ranked before `rankBeforeIssue` / after `rankAfterIssue`. Issues of another board's
        project are taken: a sprint is not tied to a board (Atlassian KB "Sprint management for projects
        appearing on multiple boards": "a sprint starts appearing on a board after an issue has been moved to
        it from another board")."""
        sid = int(c.p["sprint"])
        target = sb.store.sprints.get(sid)
        if target is None:
            raise fail(404, f"Sprint with id {sid} does not exist or you do not have permission to see it.")
        if target.state == "closed":  # "Issues can only be moved to open or active sprints"
            raise fail(400, "Issues can only be moved to open or active sprints.")  # [unc] wording
        body = c.obj()
        issues = issues_of(c, shaped(body.get("issues"), "array"))
        anchor = rank_anchor(body) if body.get("rankBeforeIssue") or body.get("rankAfterIssue") else None
        for issue in issues:  # out of any other open sprint; the closed ones stay in its history
            kept = [s for s in issue.sprints if s != sid and s in sb.store.sprints
                    and sb.store.sprints[s].state == "closed"]
            sb.store.update(issue.id, {"sprints": (*kept, sid)}, c.user)
        if anchor is not None:
            place(c, [i for i in issues if i.id != anchor[0].id], *anchor)
        return Response(status=204)

    def rank_anchor(body: dict[str, Any], noun: str = "Issue") -> tuple[Issue, bool]:
        """The issue to rank next to and whether before it, from `rankBefore<noun>` / `rankAfter<noun>` (exactly
        one; `Issue`, or `Epic` for an epic's rank) and an optional `rankCustomFieldId` (the rank field's number);
        400 otherwise (an unknown issue: 400 for issues; the epic route answers its own 404)."""
        before, after = body.get(f"rankBefore{noun}"), body.get(f"rankAfter{noun}")
        if bool(before) == bool(after):
            raise fail(400, f"Exactly one of rankBefore{noun} and rankAfter{noun} must be given.")
        field = body.get("rankCustomFieldId")
        if field not in (None, "") and str(field) != C.RANK.rsplit("_", 1)[1]:
            raise fail(400, f"Custom field {field} is not a rank field.")
        target = sb.store.resolve(str(before or after))
        if target is None and noun == "Issue":
            raise fail(400, "Issue does not exist or you do not have permission to see it.")
        return target, bool(before)

    def place(c: Call, moving: list[Issue], target: Issue, before: bool) -> None:
        """Give `moving` (in that order) ranks just before or just after `target`."""
        with sb.store.lock:
            ids = {i.id for i in moving}
            order = sorted((i for i in sb.store.issues.values() if i.id not in ids), key=lambda i: i.rank)
            at = next(n for n, i in enumerate(order) if i.id == target.id) + (0 if before else 1)
            lo = order[at - 1].rank if at > 0 else None
            hi = order[at].rank if at < len(order) else None
            for issue in moving:
                lo = _lexo_between(lo, hi)
                sb.store.update(issue.id, {"rank": lo}, c.user)

    def issues_of(c: Call, refs: Any, limit: int = 50) -> list[Issue]:
        if not isinstance(refs, list) or not refs:
            raise fail(400, None, {"issues": "No issues were provided."})
        if len(refs) > limit:
            raise fail(400, f"A maximum of {limit} issues can be moved at once.")
        found = [sb.store.resolve(str(r)) for r in refs]
        missing = [str(r) for r, i in zip(refs, found, strict=True) if i is None]
        if missing:
            raise fail(400, f"Issue does not exist or you do not have permission to see it: {', '.join(missing)}.")
        return [i for i in found if i is not None]

    def move_to_backlog(c: Call) -> Response:
        """POST /backlog/issue: out of every future or active sprint (closed ones stay in the history)."""
        for issue in issues_of(c, c.obj().get("issues")):
            keep = tuple(s for s in issue.sprints if s in sb.store.sprints and sb.store.sprints[s].state == "closed")
            sb.store.update(issue.id, {"sprints": keep}, c.user)
        return Response(status=204)

    def move_to_board_backlog(c: Call) -> Response:
        """POST /backlog/{board}/issue: as /backlog/issue for the issues on that board; 207 naming the others."""
        board = board_of(c)
        issues = issues_of(c, c.obj().get("issues"))
        entries = []
        for issue in issues:
            if issue.project != board.project:
                entries.append({"issueId": int(issue.id), "issueKey": issue.key, "status": 400,
                                "errors": [f"Issue {issue.key} is not on board {board.id}."]})
                continue
            keep = tuple(s for s in issue.sprints if s in sb.store.sprints and sb.store.sprints[s].state == "closed")
            sb.store.update(issue.id, {"sprints": keep}, c.user)
            entries.append({"issueId": int(issue.id), "issueKey": issue.key, "status": 200})
        if all(e["status"] == 200 for e in entries):
            return Response(status=204)
        return json_response({"entries": entries}, 207)

    def rank_issues(c: Call) -> Response:
        """PUT /issue/rank: the issues (in the order given) just before ``rankBeforeIssue`` or just after
        ``rankAfterIssue``; 204 when all moved, 207 with an entry per issue otherwise."""
        body = c.obj()
        target, before = rank_anchor(body)
        refs = body.get("issues")
        if not isinstance(refs, list) or not refs or len(refs) > 50:
            raise fail(400, None, {"issues": "Between 1 and 50 issues must be given."})
        found = [sb.store.resolve(str(r)) for r in refs]
        place(c, [i for i in found if i is not None and i.id != target.id], target, before)
        if all(i is not None for i in found):
            return Response(status=204)
        entries = [{"issueId": int(i.id), "issueKey": i.key, "status": 200} if i is not None else
                   {"issueKey": str(r), "status": 404, "errors": ["Issue does not exist or you do not have "
                                                                  "permission to see it."]}
                   for r, i in zip(refs, found, strict=True)]
        return json_response({"entries": entries}, 207)

    # shared with `routes_agile_more` (looked up per request, so registration order does not matter)
    sb.agile = {"issue_page": issue_page, "board_of": board_of, "epic_of": epic_of,  # type: ignore[attr-defined]
                "board_bean": board_bean, "issues_of": issues_of, "place": place, "rank_anchor": rank_anchor}
    sb.route("GET", r"/board", boards, prefix="agile")
    sb.route("GET", r"/board/(?P<board>\d+)", lambda c: json_response(board_bean(c, board_of(c))), prefix="agile")
    sb.route("GET", r"/board/(?P<board>\d+)/sprint", board_sprints, prefix="agile")
    sb.route("GET", r"/board/(?P<board>\d+)/issue", board_issues, prefix="agile")
    sb.route("GET", r"/board/(?P<board>\d+)/sprint/(?P<sprint>\d+)/issue", board_sprint_issues, prefix="agile")
    sb.route("GET", r"/board/(?P<board>\d+)/backlog", backlog, prefix="agile")
    sb.route("GET", r"/board/(?P<board>\d+)/epic", board_epics, prefix="agile")
    sb.route("POST", r"/sprint", create_sprint, "write", prefix="agile")
    sb.route("GET", r"/sprint/(?P<sprint>\d+)", sprint, prefix="agile")
    routes_sprint_update.register(sb)  # PUT/POST /sprint/{id}
    routes_sprint_report.register(sb)  # GreenHopper's sprint report
    routes_velocity.register(sb)  # GreenHopper's velocity chart
    sb.route("POST", r"/backlog/issue", move_to_backlog, "write", prefix="agile")
    sb.route("POST", r"/backlog/(?P<board>\d+)/issue", move_to_board_backlog, "write", prefix="agile")
    sb.route("PUT", r"/issue/rank", rank_issues, "write", prefix="agile")
    sb.route("GET", r"/sprint/(?P<sprint>\d+)/issue", sprint_issues, prefix="agile")
    sb.route("POST", r"/sprint/(?P<sprint>\d+)/issue", move_to_sprint, "write", prefix="agile")
    sb.route("GET", r"/epic/(?P<epic>[A-Za-z0-9_-]+)", lambda c: json_response(c.r.epic(epic_of(c))), prefix="agile")
    sb.route("GET", r"/epic/(?P<epic>[A-Za-z0-9_-]+)/issue", epic_issues, prefix="agile")


def _between(lo: str | None, hi: str | None) -> str:
    """A rank string sorting strictly between ``lo`` and ``hi`` (either may be open); it never ends in
    '!' (0x21, the floor), so there is always room below the next one."""
    out, i, bounded = [], 0, hi is not None
    while True:
        a = ord(lo[i]) if lo is not None and i < len(lo) else 0x21
        b = ord(hi[i]) if bounded and hi is not None and i < len(hi) else 0x7F
        if b - a > 1:
            return "".join(out) + chr((a + b) // 2)
        out.append(chr(a))
        if a < b:
            bounded = False
        i += 1


def _lexo_between(lo: str | None, hi: str | None) -> str:
    """``_between`` inside LexoRank's ``0|`` bucket when both neighbours are in it (they always are here)."""
    if all(r is None or r.startswith("0|") for r in (lo, hi)):
        return "0|" + _between(lo[2:] if lo else None, hi[2:] if hi else None)
    return _between(lo, hi)


def _ms(value: Any, field: str = "startDate") -> int | None:
    """A sprint date from a body; 400 naming the field (`startDate` / `endDate`) it came in."""
    try:
        return parse_jira_ts(str(value)) if value else None
    except ValueError:
        raise fail(400, None, {field: "Invalid date format."}) from None
