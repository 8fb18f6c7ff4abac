"""The GreenHopper velocity chart: GET `/rest/greenhopper/1.0/rapid/charts/velocity[.json]?rapidViewId=`.

A private path Jira Cloud still serves (the board's Velocity report reads it), which sprint-velocity exports
call with plain requests. `sprints`: the board's closed sprints, the most recently completed first (at most
7, the report's default window [unc]), each as GreenHopper's short sprint bean; `velocityStatEntries`:
`{"<sprint id>": {"estimated": {"value", "text"}, "completed": {"value", "text"}}}` in story points, where
`estimated` is the commitment (the issues in the sprint when it started: those in it now that were not added
after the start, plus those there at the start and taken out after it) and `completed` the issues in it now
in the done category, as the sprint report (`routes_sprint_report`) counts them. One walk of the issues serves
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
    from sandbox.jira.model import Issue, Sprint
    from sandbox.jira.sandbox import JiraSandbox

WINDOW = 7


def register(sb: JiraSandbox) -> None:
    def moves(issue: Issue, wanted: set[int]) -> dict[int, tuple[int | None, int | None]]:
        """For each sprint of `wanted` the issue's history names: when it was last put in and taken out."""
        out: dict[int, tuple[int | None, int | None]] = {}
        for h in sb.store.history_of(issue):
            for item in h.items:
                if item.get("field") != "Sprint":
                    continue
                before, after = _sprint_ids(item.get("from")), _sprint_ids(item.get("to"))
                for sid in (after ^ before) & wanted:
                    added, removed = out.get(sid, (None, None))
                    out[sid] = (h.created, removed) if sid in after else (added, h.created)
        return out

    def entries(closed: list[Sprint]) -> dict[str, dict[str, dict[str, float | str]]]:
        """Every windowed sprint's commitment and completed points, walking the issues once."""
        wanted = {s.id for s in closed}
        committed: dict[int, list[Issue]] = {s.id: [] for s in closed}
        done: dict[int, list[Issue]] = {s.id: [] for s in closed}
        for issue in list(sb.store.issues.values()):
            now_in = wanted.intersection(issue.sprints)
            history = moves(issue, wanted)  # one walk of its changelog for every sprint
            if not now_in and not history:
                continue  # neither in a windowed sprint nor ever moved in or out of one
            for s in closed:
                put_in, taken_out = history.get(s.id, (None, None))
                early = put_in is None or s.start is None or put_in <= s.start  # there when the sprint started
                if s.id in now_in:
                    if C.STATUSES[issue.status_id][1] == "done":
                        done[s.id].append(issue)
                    if early:
                        committed[s.id].append(issue)
                elif taken_out is not None and s.start is not None and taken_out > s.start and early:
                    committed[s.id].append(issue)  # taken out after the start: still the commitment
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
        closed = sorted((s for s in list(sb.store.sprints.values()) if s.board_id == board.id
                         and s.state == "closed"), key=lambda s: (s.complete or 0, s.id), reverse=True)[:WINDOW]
        sprints = [{"id": s.id, "sequence": s.id, "name": s.name, "state": "CLOSED", "linkedPagesCount": 0,
                    "goal": s.goal} for s in closed]
        return json_response({"sprints": sprints, "velocityStatEntries": entries(closed)})

    sb.router.add("GET", GREENHOPPER + r"/rapid/charts/velocity(?:\.json)?", velocity)
