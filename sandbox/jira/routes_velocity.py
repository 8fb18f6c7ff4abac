"""The GreenHopper velocity chart: GET `/rest/greenhopper/1.0/rapid/charts/velocity[.json]?rapidViewId=`.

A private path Jira Cloud still serves (the board's Velocity report reads it), which sprint-velocity exports
call with plain requests. `sprints`: the board's closed sprints, the most recently completed first (at most
7, the report's default window [unc]), each as GreenHopper's short sprint bean; `velocityStatEntries`:
`{"<sprint id>": {"estimated": {"value", "text"}, "completed": {"value", "text"}}}` in story points, where
`estimated` is the commitment (the issues in the sprint when it started, replayed from the Sprint changelog
however often an issue went in and out: added after the start is not committed, taken out after it still
is [unc: the docs say no more than "when the sprint started"]) and `completed` the issues in it now in the
done category, as the sprint report (`routes_sprint_report`) counts them. One walk of the issues serves
every sprint of the window. [unc: the wording of the errors, as the sprint report's: no board id 400, an
unknown board 404.]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.core.http import Request, Response, json_response
from sandbox.jira import catalog as C
from sandbox.jira.errors import fail
from sandbox.jira.ids import is_id
from sandbox.jira.routes_sprint_report import GREENHOPPER, _sprint_ids, _sum

if TYPE_CHECKING:
    from sandbox.jira.model import Board, Issue, Sprint
    from sandbox.jira.sandbox import JiraSandbox

WINDOW = 7


def register(sb: JiraSandbox) -> None:
    def moves(issue: Issue, wanted: set[int]) -> dict[int, list[tuple[int, bool]]]:
        """For each sprint of `wanted` the issue's history names, every move in (True) or out (False) of it, in
        the order of the changelog (when, and whether the issue was in the sprint after it)."""
        out: dict[int, list[tuple[int, bool]]] = {}
        for h in sb.store.history_of(issue):
            for item in h.items:
                if item.get("field") != "Sprint":
                    continue
                before, after = _sprint_ids(item.get("from")), _sprint_ids(item.get("to"))
                for sid in (after ^ before) & wanted:
                    out.setdefault(sid, []).append((h.created, sid in after))
        return out

    def at_start(issue: Issue, s: Sprint, steps: list[tuple[int, bool]]) -> bool:
        """Whether the issue was in the sprint when it started: the last move at or before the start says so;
        without one, the state the first later move left (or, with no move at all, where it is now), unless the
        issue was made through the API after the start (then it was added after it, whatever field set it). A
        seeded issue is in its sprint from the start (the seed files it without a changelog), as it always read."""
        if s.start is None:
            return s.id in issue.sprints
        earlier = [inside for when, inside in steps if when <= s.start]
        if earlier:
            return earlier[-1]
        if issue.created > s.start and not sb.store.from_seed(issue):
            return False
        return (not steps[0][1]) if steps else s.id in issue.sprints

    def entries(board: Board, closed: list[Sprint]) -> dict[str, dict[str, dict[str, float | str]]]:
        """Every windowed sprint's commitment and completed points, walking the issues once. The commitment is
        the issues in the sprint when it started, however often they were moved in and out after it: one added
        after the start is not committed (even if it was there before the start and taken out), one taken out
        after the start still is (committed, not completed). Only the board's own issues count (its project's, as
        every board read here takes them): another project's issue moved into the sprint belongs to its own
        board's chart [unc: Jira scopes a board's reports to the board's filter]."""
        wanted = {s.id for s in closed}
        committed: dict[int, list[Issue]] = {s.id: [] for s in closed}
        done: dict[int, list[Issue]] = {s.id: [] for s in closed}
        for issue in list(sb.store.issues.values()):
            if issue.project != board.project:
                continue
            now_in = wanted.intersection(issue.sprints)
            history = moves(issue, wanted)  # one walk of its changelog for every sprint
            if not now_in and not history:
                continue  # neither in a windowed sprint nor ever moved in or out of one
            for s in closed:
                if s.id in now_in and C.STATUSES[issue.status_id][1] == "done":
                    done[s.id].append(issue)
                if (s.id in now_in or s.id in history) and at_start(issue, s, history.get(s.id, [])):
                    committed[s.id].append(issue)
        return {str(s.id): {"estimated": _sum(committed[s.id]), "completed": _sum(done[s.id])} for s in closed}

    def velocity(req: Request) -> Response:
        sb.context(req, "read", default_ver="2")
        ref = req.query.get("rapidViewId") or ""
        if not is_id(ref):
            raise fail(400, "The rapidViewId parameter is required.")
        board = sb.store.boards.get(int(ref))
        if board is None:
            raise fail(404, "The requested board cannot be viewed because it either does not exist or you do not "
                            "have permission to view it.")
        # the board's own sprints and, as GET /board/{id}/sprint lists them, other boards' sprints holding its
        # issues: an issue moved into another board's sprint is counted on its own board's chart
        shared = sb.store.sprint_holdings.held(board.project)
        closed = sorted((s for s in list(sb.store.sprints.values()) if (s.board_id == board.id or s.id in shared)
                         and s.state == "closed"), key=lambda s: (s.complete or 0, s.id), reverse=True)[:WINDOW]
        sprints = [{"id": s.id, "sequence": s.id, "name": s.name, "state": "CLOSED", "linkedPagesCount": 0,
                    "goal": s.goal} for s in closed]
        return json_response({"sprints": sprints, "velocityStatEntries": entries(board, closed)})

    sb.router.add("GET", GREENHOPPER + r"/rapid/charts/velocity(?:\.json)?", velocity)
