"""Round 34: the board's velocity chart, GET /rest/greenhopper/1.0/rapid/charts/velocity[.json]?rapidViewId=
(the private path Jira Cloud's Velocity report reads; how sprint-velocity imports get committed and completed
story points per sprint). It was a 404. Now: the board's closed sprints, the last completed first, and per
sprint `estimated` (the commitment at start) and `completed` (done issues), agreeing with the sprint report."""

from __future__ import annotations

from jira import JIRA

from tests.sandbox.jira.helpers import client_fixtures, session_for

sb, _session, pyc, _atl = client_fixtures(size=40)



def _velocity(pyc: JIRA, sb, board: int, suffix: str = ".json"):
    return pyc._session.get(f"{sb.url}/rest/greenhopper/1.0/rapid/charts/velocity{suffix}",
                            params={"rapidViewId": board})


def _report(pyc: JIRA, sb, board: int, sprint: int) -> dict:
    r = pyc._session.get(f"{sb.url}/rest/greenhopper/1.0/rapid/charts/sprintreport",
                         params={"rapidViewId": board, "sprintId": sprint})
    return r.json()["contents"]


def test_closed_sprints_last_first_with_points_as_the_sprint_report_counts_them(pyc, sb):
    board = next(b.id for b in pyc.boards() if b.name == "SEC board")
    closed = [s.id for s in pyc.sprints(board, state="closed")]
    r = _velocity(pyc, sb, board)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [s["id"] for s in body["sprints"]] == sorted(closed, reverse=True)
    assert {s["state"] for s in body["sprints"]} == {"CLOSED"}
    assert set(body["velocityStatEntries"]) == {str(i) for i in closed}
    for sid in closed:
        report, entry = _report(pyc, sb, board, sid), body["velocityStatEntries"][str(sid)]
        assert entry["completed"]["value"] == report["completedIssuesEstimateSum"]["value"]
    assert any(e["completed"]["value"] > 0 for e in body["velocityStatEntries"].values())
    assert _velocity(pyc, sb, board, suffix="").json() == body


def test_a_sprint_closed_through_the_client_leads_the_chart(pyc, sb):
    board = next(b.id for b in pyc.boards() if b.name == "SEC board")
    active = pyc.sprints(board, state="active")[0]
    committed = sum(i.fields.customfield_10016 or 0 for i in pyc.search_issues(
        f"sprint = {active.id}", maxResults=False, fields="customfield_10016"))
    pyc.update_sprint(active.id, name=active.name, startDate=active.startDate, endDate=active.endDate,
                      state="closed")
    body = _velocity(pyc, sb, board).json()
    assert body["sprints"][0]["id"] == active.id
    entry = body["velocityStatEntries"][str(active.id)]
    assert entry["estimated"]["value"] == committed
    assert entry["completed"]["value"] == _report(pyc, sb, board, active.id)["completedIssuesEstimateSum"]["value"]


def test_an_unknown_or_missing_board(sb):
    with session_for(sb) as s:
        r = s.get(f"{sb.url}/rest/greenhopper/1.0/rapid/charts/velocity.json", params={"rapidViewId": 999})
        assert r.status_code == 404 and "board" in r.json()["errorMessages"][0]
        r = s.get(f"{sb.url}/rest/greenhopper/1.0/rapid/charts/velocity.json")
        assert r.status_code == 400 and r.json()["errorMessages"] == ["The rapidViewId parameter is required."]
