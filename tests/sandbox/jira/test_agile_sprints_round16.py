"""Round 16: sprint rules of Jira Software Cloud's Agile API, through pycontribs and atlassian-python-api.

- Starting a second active sprint on a board is refused while parallel sprints are off (the Cloud default),
  with Jira's "There can only be one active sprint on each board."; allowed once they are on.
- A closed sprint's name and goal can still be updated (other fields are ignored), per the Cloud reference.
- POST /sprint/{id}/issue takes at most 50 issues.
"""

from __future__ import annotations

import pytest
from jira.exceptions import JIRAError
from requests import HTTPError

from sandbox.jira.routes_sprint_update import ONE_ACTIVE, set_parallel_sprints

START, END = "2026-12-07T09:00:00.000+0000", "2026-12-21T17:00:00.000+0000"


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=60)


def _board_with_active(pyc) -> int:
    return next(b.id for b in pyc.boards(type="scrum") if pyc.sprints(b.id, state="active"))


def test_second_active_sprint_is_refused_unless_parallel_sprints(pyc, atl, sb):
    board = _board_with_active(pyc)
    sprint = pyc.create_sprint("Second", board)
    with pytest.raises(JIRAError) as err:
        pyc.update_sprint(sprint.id, name="Second", startDate=START, endDate=END, state="active")
    assert err.value.status_code == 400
    assert err.value.response.json()["errorMessages"] == [ONE_ACTIVE]
    with pytest.raises(HTTPError):  # the partial update (POST) is held to the same rule
        atl.update_partially_sprint(sprint.id, {"state": "active", "startDate": START, "endDate": END})
    assert pyc.sprint(sprint.id).state == "future"
    assert len(pyc.sprints(board, state="active")) == 1

    set_parallel_sprints(sb, True)
    started = pyc.update_sprint(sprint.id, name="Second", startDate=START, endDate=END, state="active")
    assert started["state"] == "active"
    assert len(pyc.sprints(board, state="active")) == 2


def test_starting_after_closing_the_active_sprint(pyc, atl):
    board = _board_with_active(pyc)
    active = pyc.sprints(board, state="active")[0]
    atl.update_partially_sprint(active.id, {"state": "closed"})
    nxt = pyc.create_sprint("Next", board)
    started = pyc.update_sprint(nxt.id, name="Next", startDate=START, endDate=END, state="active")
    assert started["state"] == "active"


def test_closed_sprint_name_and_goal_can_be_updated(pyc, atl):
    board = _board_with_active(pyc)
    closed = pyc.sprints(board, state="closed")[0]
    before = pyc.sprint(closed.id).raw
    out = pyc.update_sprint(closed.id, name="Renamed after close", goal="retro notes", startDate=START,
                            state="active")
    assert (out["name"], out["goal"], out["state"]) == ("Renamed after close", "retro notes", "closed")
    assert out["startDate"] == before["startDate"] and out["completeDate"] == before["completeDate"]
    part = atl.update_partially_sprint(closed.id, {"goal": "only the goal"})
    assert (part["name"], part["goal"], part["state"]) == ("Renamed after close", "only the goal", "closed")
    with pytest.raises(JIRAError) as err:  # the name is still required on a full update
        pyc.update_sprint(closed.id, goal="x")
    assert err.value.status_code == 400 and "name" in err.value.response.json()["errors"]


def test_add_issues_to_sprint_takes_at_most_50(pyc, atl, sb):
    board = _board_with_active(pyc)
    sprint = pyc.create_sprint("Bulk", board)
    keys = [i["key"] for i in sb.issues("2", ["summary"])]
    assert len(keys) >= 51
    with pytest.raises(JIRAError) as err:
        pyc.add_issues_to_sprint(sprint.id, keys[:51]).raise_for_status()
    assert err.value.status_code == 400
    assert pyc.search_issues(f"sprint = {sprint.id}").total == 0
    assert pyc.add_issues_to_sprint(sprint.id, keys[:50]).status_code == 204
    atl.add_issues_to_sprint(sprint.id, keys[50:52])
    sb.sync_index()
    assert atl.get_sprint_issues(sprint.id, 0, 100)["total"] == 52


def test_kanban_board_does_not_support_sprints(pyc, atl, s, sb):
    flt = pyc.create_filter("SEC flow", jql="project = SEC")
    kanban = pyc.create_board("SEC flow", flt.id, preset="kanban", location_type="project", location_id="SEC")
    for call in (lambda: pyc.sprints(kanban.id), lambda: pyc.create_sprint("Nope", kanban.id)):
        with pytest.raises(JIRAError) as err:
            call()
        assert err.value.status_code == 400
        assert err.value.response.json()["errorMessages"] == ["The board does not support sprints"]
    with pytest.raises(HTTPError):
        atl.get_all_sprints_from_board(kanban.id)
    agile = f"{sb.url}/rest/agile/1.0/board/{kanban.id}"
    s.put(f"{agile}/features", json={"feature": "SPRINTS", "enabling": True}).raise_for_status()
    listed = pyc.sprints(kanban.id)  # once the board's Sprints feature is on, no 400
    # none created on it; the SEC board's sprints holding SEC issues are shared with it (round 35: Jira lists a
    # sprint on every board showing one of its issues)
    assert listed and {x.originBoardId for x in listed} == {next(b.id for b in pyc.boards() if b.name == "SEC board")}


def test_board_sprints_are_ordered_closed_active_future(pyc, atl, sb):
    """The reference: "ordered first by state (i.e. closed, active, future) then by their position in the backlog"."""
    set_parallel_sprints(sb, True)
    board = _board_with_active(pyc)
    late = pyc.create_sprint("Late start", board)
    pyc.update_sprint(late.id, name="Late start", startDate=START, endDate=END, state="active")
    states = [s.state for s in pyc.sprints(board)]
    assert states == sorted(states, key=("closed", "active", "future").index)
    actives = [s.id for s in pyc.sprints(board, state="active")]
    assert actives[-1] == late.id and len(actives) == 2
    values = atl.get_all_sprints_from_board(board, state="active,future")["values"]
    assert [v["state"] for v in values][:2] == ["active", "active"]


def test_create_sprint_on_an_unknown_board_is_404(pyc, s, sb):
    """The reference lists 404 "if the board does not exist" for POST /sprint; a missing board id stays a 400."""
    with pytest.raises(JIRAError) as err:
        pyc.create_sprint("Orphan", 999)
    assert err.value.status_code == 404
    r = s.post(f"{sb.url}/rest/agile/1.0/sprint", json={"name": "Orphan"})
    assert r.status_code == 400 and "originBoardId" in r.json()["errors"]
