"""Round 35 review of the agile changes (5fbf9495..7f4a5f78), attacked with pycontribs `jira` and plain requests.

- Seeded sprint issues read as "added after the start" (created after it, with no Sprint changelog: the seed files
  them so), so the velocity chart's commitment and the sprint report's added keys moved for seeded data; a
  seeded active sprint closed read a 0 commitment.
- GET /board/{id}/sprint walked every issue on every page (24-96 ms at 200k issues).
- POST /epic/{id} skipped the issue edit's summary checks, stripped the summary, took a name of any length.
- The velocity chart and sprint report counted another project's issue moved into the board's sprint;
  POST /board/{id}/issue took issues sitting in an active or future sprint (not in the backlog).
- The rankBeforeIssue of POST /board/{id}/issue was checked only for its 204.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from jira import JIRA

from sandbox.jira.routes_sprint_update import set_parallel_sprints
from tests.sandbox.jira.helpers import session_for

GH = "/rest/greenhopper/1.0/rapid/charts"


@pytest.fixture(scope="module")
def sb():
    from sandbox.jira import JiraSandbox

    with JiraSandbox(seed=42, size=200, tls=False) as box:
        set_parallel_sprints(box, True)  # new sprints start beside the seeded active ones (which never move)
        yield box


@pytest.fixture(scope="module")
def pyc(sb):
    client = JIRA(server=sb.url, basic_auth=(sb.credentials["email"], sb.credentials["api_token"]), max_retries=0)
    yield client
    client.close()


@pytest.fixture(scope="module")
def s(sb):
    with session_for(sb) as session:
        yield session


def _agile(sb) -> str:
    return f"{sb.url}/rest/agile/1.0"


def _board(pyc: JIRA, name: str) -> int:
    return next(b.id for b in pyc.boards() if b.name == name)


def _velocity(sb, s, board: int) -> dict[str, tuple[float, float]]:
    r = s.get(f"{sb.url}{GH}/velocity", params={"rapidViewId": board})
    assert r.status_code == 200, r.text
    return {k: (v["estimated"]["value"], v["completed"]["value"]) for k, v in r.json()["velocityStatEntries"].items()}


# --- 1. seeded sprint data reads as before round 35 --------------------------------------------------------------

# what the emulator of f50fd567 (before the round-35 agile changes) gave at seed 42, size 200
SEEDED_VELOCITY = {
    1: {"1": (133.0, 133.0), "2": (33.0, 33.0), "3": (0.0, 0.0)},
    2: {"7": (85.0, 85.0), "8": (16.0, 16.0), "9": (26.0, 26.0)},
    3: {"13": (224.0, 224.0), "14": (73.0, 73.0), "15": (15.0, 15.0), "16": (0.0, 0.0)},
}


def test_seeded_closed_sprints_read_as_before_in_velocity_and_sprint_report(sb, s):
    for board, expected in SEEDED_VELOCITY.items():
        assert _velocity(sb, s, board) == expected
        for sprint, (estimated, _) in expected.items():
            r = s.get(f"{sb.url}{GH}/sprintreport", params={"rapidViewId": board, "sprintId": sprint})
            assert r.status_code == 200, r.text
            contents = r.json()["contents"]
            assert contents["issueKeysAddedDuringSprint"] == {}  # the seed filed them before the start
            assert contents["allIssuesEstimateSum"]["value"] == estimated
            assert contents["puntedIssues"] == []


def test_closing_a_seeded_active_sprint_commits_the_points_in_it(pyc, sb, s):
    board = _board(pyc, "SEC board")
    active = next(x for x in pyc.sprints(board, state="active") if x.originBoardId == board)
    inside = [i for i in sb.store.issues.values() if active.id in i.sprints]
    points = sum(i.points or 0 for i in inside)
    assert inside and points > 0  # the seed put pointed issues in it
    r = s.post(f"{_agile(sb)}/sprint/{active.id}", json={"state": "closed"})
    assert r.status_code == 200, r.text
    estimated, _ = _velocity(sb, s, board)[str(active.id)]
    assert estimated == points
    report = s.get(f"{sb.url}{GH}/sprintreport", params={"rapidViewId": board, "sprintId": active.id}).json()
    assert report["contents"]["issueKeysAddedDuringSprint"] == {}


# --- 2. GET /board/{id}/sprint: other boards' sprints from an index, not a walk of every issue ----------------

def _new_issue(pyc: JIRA, project: str, summary: str = "r35 review") -> str:
    return pyc.create_issue(project=project, issuetype={"name": "Task"}, summary=summary).key


class _Walked(dict):
    """The store's issue table, telling whether anything walked all of it."""

    walks = 0

    def values(self):
        type(self).walks += 1
        return super().values()


def test_board_sprints_lists_another_boards_sprint_right_after_a_move_in_and_not_after_a_move_out(pyc, sb):
    grc, sec = _board(pyc, "GRC board"), _board(pyc, "SEC board")
    first, second = pyc.create_sprint("r35 review a", grc), pyc.create_sprint("r35 review b", grc)
    key = _new_issue(pyc, "SEC")
    listed = lambda: {x.id for x in pyc.sprints(sec)}  # noqa: E731
    assert not {first.id, second.id} & listed()
    pyc.add_issues_to_sprint(first.id, [key])
    assert first.id in listed() and second.id not in listed()
    pyc.add_issues_to_sprint(second.id, [key])  # out of the first (an open sprint), into the second
    assert second.id in listed() and first.id not in listed()
    pyc.move_to_backlog([key])
    assert not {first.id, second.id} & listed()
    pyc.add_issues_to_sprint(first.id, [key])
    assert first.id in listed()
    pyc.issue(key).delete()
    assert first.id not in listed()
    assert first.id in {x.id for x in pyc.sprints(grc)}  # its own board still lists it


def test_board_sprints_does_not_walk_every_issue(pyc, sb, s):
    sec = _board(pyc, "SEC board")
    table = sb.store.issues
    sb.store.issues = _Walked(table)
    try:
        _Walked.walks = 0
        r = s.get(f"{_agile(sb)}/board/{sec}/sprint")
        assert r.status_code == 200 and r.json()["values"]
        assert _Walked.walks == 0  # JIRA.sprints() calls it in loops: at 200k issues a walk cost 24-96 ms a page
    finally:
        sb.store.issues = table


# --- 3. POST /epic/{id} checks the summary as the issue edit does, keeps it as sent, caps the name -------------

def test_epic_update_checks_summary_as_the_issue_edit_and_caps_the_name(pyc, sb, s):
    key = pyc.create_issue(project="GRC", issuetype={"name": "Epic"}, summary="r35 review epic").key
    url = f"{_agile(sb)}/epic/{key}"
    for value, message in (("x" * 256, "Summary must be less than 255 characters."),
                           ("two\nlines", "The summary is invalid because it contains newline characters."),
                           ("   ", "You must specify a summary of the issue.")):
        r = s.post(url, json={"summary": value})
        assert r.status_code == 400, value
        assert r.json()["errors"] == {"summary": message}
        # the platform's issue edit says the same
        edit = s.put(f"{sb.url}/rest/api/2/issue/{key}", json={"fields": {"summary": value}})
        assert edit.status_code == 400 and edit.json()["errors"] == {"summary": message}
    assert pyc.issue(key).fields.summary == "r35 review epic"  # nothing changed
    r = s.post(url, json={"summary": "  spaced out  "})
    assert r.status_code == 200, r.text
    assert pyc.issue(key).fields.summary == "  spaced out  "  # kept as sent, as the issue edit keeps it
    assert s.post(url, json={"name": "n" * 256}).json() == {
        "errorMessages": [], "errors": {"name": "The entered text is too long. It exceeds the allowed limit of 255 "
                                                "characters."}}
    r = s.post(url, json={"name": "n" * 255})
    assert r.status_code == 200 and r.json()["name"] == "n" * 255


# --- 4. the board's own issues only; POST /board/{id}/issue moves backlog issues only ----------------------------

def _new_pointed(pyc: JIRA, project: str, points: float) -> str:
    key = _new_issue(pyc, project)
    pyc._session.put(f"{pyc._options['server']}/rest/agile/1.0/issue/{key}/estimation",
                     data=f'{{"value": {points}}}').raise_for_status()
    return key


def _ts(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def test_velocity_and_sprint_report_count_only_the_boards_own_issues(pyc, sb, s):
    grc = _board(pyc, "GRC board")
    sprint = pyc.create_sprint("r35 review velocity", grc)
    ours, theirs = _new_pointed(pyc, "GRC", 3), _new_pointed(pyc, "SEC", 5)
    assert pyc.add_issues_to_sprint(sprint.id, [ours, theirs]).status_code == 204
    start = sb.store.now_ms() + 60_000  # both in it before the start: committed, were they the board's
    r = s.post(f"{_agile(sb)}/sprint/{sprint.id}", json={"state": "active", "startDate": _ts(start),
                                                           "endDate": "2099-01-01T00:00:00.000+0000"})
    assert r.status_code == 200, r.text
    assert s.post(f"{_agile(sb)}/sprint/{sprint.id}", json={"state": "closed"}).status_code == 200
    assert _velocity(sb, s, grc)[str(sprint.id)] == (3.0, 0.0)
    # the other project's issue is counted on its own board's chart, which lists the sprint holding it
    assert _velocity(sb, s, _board(pyc, "SEC board"))[str(sprint.id)] == (5.0, 0.0)
    report = s.get(f"{sb.url}{GH}/sprintreport", params={"rapidViewId": grc, "sprintId": sprint.id}).json()
    contents = report["contents"]
    assert [i["key"] for i in contents["issuesNotCompletedInCurrentSprint"]] == [ours]
    assert contents["allIssuesEstimateSum"]["value"] == 3.0


def test_moving_onto_a_board_takes_backlog_issues_only(pyc, sb, s):
    grc = _board(pyc, "GRC board")
    sprint = pyc.create_sprint("r35 review board move", grc)
    in_sprint, in_backlog = _new_issue(pyc, "GRC"), _new_issue(pyc, "GRC")
    pyc.add_issues_to_sprint(sprint.id, [in_sprint])
    rank = sb.store.resolve(in_sprint).rank
    r = s.post(f"{_agile(sb)}/board/{grc}/issue", json={"issues": [in_sprint, in_backlog],
                                                        "rankAfterIssue": in_backlog})
    assert r.status_code == 207, r.text
    assert r.json()["entries"] == [
        {"issueId": int(sb.store.resolve(in_sprint).id), "issueKey": in_sprint, "status": 400,
         "errors": [f"Issue {in_sprint} is not in the backlog of board {grc}."]},
        {"issueId": int(sb.store.resolve(in_backlog).id), "issueKey": in_backlog, "status": 200}]
    assert sb.store.resolve(in_sprint).rank == rank  # not moved
    assert s.post(f"{_agile(sb)}/board/{grc}/issue", json={"issues": [in_backlog]}).status_code == 204
