"""Updating a sprint (Agile 1.0): PUT `/sprint/{id}` (full) and POST `/sprint/{id}` (partial).

As the Jira Software Cloud reference says:
- PUT is a full update (what the body leaves out is cleared; the name is required); POST is partial.
- A future sprint starts (state `active`) only with both dates; an active one closes (completeDate now); other
  state changes are 400; `completeDate` cannot be set.
- For closed sprints only the name and goal can be updated; changes to other fields are ignored (the newer Cloud
  text, as jira.js's Cloud `agile` docs carry it; the shared spec, version 1001.0.0, still says a closed sprint
  cannot be updated at all, as the Data Center reference does [unc: which one Cloud does today]).
- Parallel sprints are off by default on a Jira Cloud site: a board then has at most one active sprint, and
  starting a second one is refused with "There can only be one active sprint on each board." (the wording of
  Atlassian's knowledge-base article; the `errorMessages` shape is a guess [unc]). Turn them on with
  `set_parallel_sprints(sb, True)` (Jira's admin toggle has no public REST API).
- A board without sprints (kanban; see `supports_sprints`) answers 400 "The board does not support sprints".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.core.http import Response, json_response
from sandbox.jira.call import Call
from sandbox.jira.errors import fail
from sandbox.jira.ownership import NO_SPRINT_PERMISSION, manages_sprints

if TYPE_CHECKING:
    from sandbox.jira.model import Board, Sprint
    from sandbox.jira.sandbox import JiraSandbox

PARALLEL = "parallel_sprints"
ONE_ACTIVE = "There can only be one active sprint on each board."
NO_SPRINTS = "The board does not support sprints"


def supports_sprints(sb: JiraSandbox, board: Board) -> bool:
    """Whether a board has sprints: its SPRINTS feature (`routes_agile_board_more`), by default on for scrum
    boards only. Jira answers 400 `NO_SPRINTS` for a kanban board's GET /board/{id}/sprint (as clients that
    list every board's sprints know), and for a sprint created on one [unc: the wording there]."""
    state = sb.store.work.get("board_features", {}).get(board.id, {}).get("SPRINTS")
    return board.type == "scrum" if state is None else bool(state)


def set_parallel_sprints(sb: JiraSandbox, enabled: bool) -> None:
    """The site's "Parallel sprints" setting (Jira admin > Features); off by default, as on a new Cloud site."""
    with sb.store.lock:
        sb.store.work[PARALLEL] = bool(enabled)


def parallel_sprints(sb: JiraSandbox) -> bool:
    return bool(sb.store.work.get(PARALLEL, False))


def register(sb: JiraSandbox) -> None:
    from sandbox.jira.routes_agile import _ms  # here: routes_agile imports this module

    def sprint_of(c: Call) -> Sprint:
        s = sb.store.sprints.get(int(c.p["sprint"]))
        if s is None:
            raise fail(404, f"Sprint with id {c.p['sprint']} does not exist or you do not have permission to see it.")
        return s

    def name_errors(name: str) -> None:
        if not name:
            raise fail(400, None, {"name": "Sprint name cannot be empty."})
        if len(name) > 255:
            raise fail(400, None, {"name": "Sprint name is too long."})

    def update_sprint(c: Call) -> Response:
        s = sprint_of(c)
        if not manages_sprints(sb, c.user, s.board_id):
            raise fail(403, NO_SPRINT_PERMISSION)
        body = c.obj()
        full = c.req.method == "PUT"
        name = str(body["name"] if body.get("name") is not None else ("" if full else s.name)).strip()
        goal = str(body["goal"] if body.get("goal") is not None else ("" if full else s.goal))
        name_errors(name)
        if s.state == "closed":  # only the name and goal; the rest of the body is ignored
            with sb.store.lock:
                changed = (s.name, s.goal) != (name, goal)
                s.name, s.goal = name, goal
            if changed:
                sb.webhooks.on_sprint("sprint_updated", c.r.sprint(s))
            return json_response(c.r.sprint(s))
        start = _ms(body["startDate"]) if "startDate" in body else (None if full else s.start)
        end = _ms(body["endDate"], "endDate") if "endDate" in body else (None if full else s.end)
        state = str(body.get("state") or s.state).lower()
        if state not in ("future", "active", "closed") or (state != s.state and (s.state, state) not in (
                ("future", "active"), ("active", "closed"))):
            raise fail(400, f"The sprint cannot be moved from state '{s.state}' to '{state}'.")
        if state != "future" and (start is None or end is None):
            raise fail(400, None, {k: "Sprint must have a start and end date." for k, v in
                                   (("startDate", start), ("endDate", end)) if v is None})
        if start is not None and end is not None and end < start:
            raise fail(400, None, {"endDate": "Sprint end date must be after the start date."})
        with sb.store.lock:
            if s.state == "future" and state == "active" and not parallel_sprints(sb) and any(
                    o.board_id == s.board_id and o.state == "active" and o.id != s.id
                    for o in sb.store.sprints.values()):
                raise fail(400, ONE_ACTIVE)
            before = (s.name, s.goal, s.start, s.end, s.state)
            s.name, s.goal, s.start, s.end = name, goal, start, end
            if state == "closed" and s.state != "closed":
                s.complete = sb.store.now_ms()
            s.state = state
            sb.store.relations_version += 1  # openSprints()/closedSprints()/futureSprints() results are cached on it
        event = ("sprint_started" if before[4] != state == "active" else "sprint_closed" if before[4] != state
                 else "sprint_updated" if before != (s.name, s.goal, s.start, s.end, s.state) else None)
        if event:
            sb.webhooks.on_sprint(event, c.r.sprint(s))
        return json_response(c.r.sprint(s))

    sb.route("PUT", r"/sprint/(?P<sprint>\d+)", update_sprint, "write", prefix="agile")
    sb.route("POST", r"/sprint/(?P<sprint>\d+)", update_sprint, "write", prefix="agile")
