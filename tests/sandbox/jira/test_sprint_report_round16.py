"""Round 16: GreenHopper's sprint report (`/rest/greenhopper/1.0/rapid/charts/sprintreport`), which pycontribs'
`incompletedIssuesEstimateSum`, `removed_issues` and `removedIssuesEstimateSum` read when the client is made with
`agile_rest_path="greenhopper"` (with the default `agile` path Jira Cloud answers 404, and so does the sandbox)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
from jira import JIRA
from jira.exceptions import JIRAError

from sandbox.jira.routes_sprint_update import set_parallel_sprints

END = "2030-12-21T17:00:00.000+0000"


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=60)


@pytest.fixture
def gh(sb):
    client = JIRA(server=sb.url, basic_auth=(sb.credentials["email"], sb.credentials["api_token"]), max_retries=0,
                  options={"agile_rest_path": "greenhopper"})
    yield client
    client.close()


def test_sprint_report_sums_and_removed_issues(pyc, gh, sb, s):
    set_parallel_sprints(sb, True)
    board = pyc.boards()[0].id
    sprint = pyc.create_sprint("Report", board)
    keys = [i["key"] for i in sb.issues("2", ["status", "issuetype"]) if i["key"].startswith(
        sb.store.boards[board].project) and i["fields"]["status"]["statusCategory"]["key"] != "done"
        and i["fields"]["issuetype"]["name"] in ("Story", "Task", "Bug")][:3]
    for key, points in zip(keys, (3, 5, 8), strict=True):
        s.put(f"{sb.url}/rest/agile/1.0/issue/{key}/estimation", json={"value": points}).raise_for_status()
    pyc.add_issues_to_sprint(sprint.id, keys)
    start = datetime.fromtimestamp(sb.store.now_ms() / 1000 + 60, UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    pyc.update_sprint(sprint.id, name="Report", startDate=start, endDate=END, state="active")
    sb.advance_clock(120)
    pyc.move_to_backlog([keys[2]])  # taken out after the start: "punted"

    assert gh.incompletedIssuesEstimateSum(board, sprint.id) == 8.0
    assert gh.removedIssuesEstimateSum(board, sprint.id) == 8.0
    assert [i.key for i in gh.removed_issues(board, sprint.id)] == [keys[2]]
    body = s.get(f"{sb.url}/rest/greenhopper/1.0/rapid/charts/sprintreport",
                 params={"rapidViewId": board, "sprintId": sprint.id}).json()
    contents = body["contents"]
    assert sorted(i["key"] for i in contents["issuesNotCompletedInCurrentSprint"]) == sorted(keys[:2])
    assert contents["completedIssues"] == [] and contents["allIssuesEstimateSum"]["value"] == 8.0
    assert body["sprint"]["state"] == "ACTIVE" and body["sprint"]["completeDate"] == "<unknown>"
    assert contents["puntedIssues"][0]["estimateStatistic"]["statFieldValue"] == {"value": 8.0}
    assert contents["issueKeysAddedDuringSprint"] == {}  # all were in before the start
    # one of the board's own issues: the report counts only those (round 35: the board's project, as its filter)
    late = next(i["key"] for i in sb.issues("2", ["status"]) if i["key"] not in keys
                and i["key"].startswith(sb.store.boards[board].project + "-")
                and i["fields"]["status"]["statusCategory"]["key"] != "done")
    pyc.add_issues_to_sprint(sprint.id, [late])
    again = s.get(f"{sb.url}/rest/greenhopper/1.0/rapid/charts/sprintreport",
                  params={"rapidViewId": board, "sprintId": sprint.id}).json()["contents"]
    assert again["issueKeysAddedDuringSprint"] == {late: True}


def test_sprint_report_errors_and_default_path(pyc, gh, sb, s):
    with pytest.raises(JIRAError) as err:  # Jira Cloud's Agile 1.0 has no rapid/charts: pycontribs' default path
        pyc.incompletedIssuesEstimateSum(1, 1)
    assert err.value.status_code == 404
    with pytest.raises(JIRAError) as err:
        gh.incompletedIssuesEstimateSum(999, 1)
    assert err.value.status_code == 404
    with pytest.raises(JIRAError) as err:
        gh.incompletedIssuesEstimateSum(1, 99999)
    assert err.value.status_code == 404
    url = f"{sb.url}/rest/greenhopper/1.0/rapid/charts/sprintreport"
    assert s.get(url, params={"rapidViewId": 1}).status_code == 400
    assert requests.get(url, params={"rapidViewId": 1, "sprintId": 1}, timeout=10).status_code == 401
