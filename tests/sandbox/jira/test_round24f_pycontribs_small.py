"""Round 24f: what pycontribs `jira`'s own smaller resource tests (watchers, votes, worklogs, links, versions,
components, fields, priorities, resolutions, statuses, ...; run in cloud mode against the sandbox) found — a new
site's four resolutions (10002 is Duplicate) and auto-adjusted worklogs on an issue without an estimate."""

from __future__ import annotations

import pytest


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30)


def _unestimated(pyc):
    return pyc.create_issue(project="SEC", summary="no estimate", issuetype={"name": "Bug"})


def test_resolutions_are_a_new_sites_four(sb, pyc, atl):
    assert [(r.id, r.name) for r in pyc.resolutions()] == [
        ("10000", "Done"), ("10001", "Won't Do"), ("10002", "Duplicate"), ("10003", "Cannot Reproduce")]
    assert pyc.resolution("10002").name == "Duplicate"
    issue = _unestimated(pyc)
    atl.set_issue_status(issue.key, "Done", fields={"resolution": {"name": "Duplicate"}})
    assert pyc.issue(issue.key).fields.resolution.id == "10002"
    assert [i.key for i in pyc.search_issues(f'key = {issue.key} AND resolution = "Duplicate"')] == [issue.key]


def test_auto_adjust_counts_a_missing_remaining_estimate_as_zero(sb, pyc):
    issue = _unestimated(pyc)
    assert pyc.issue(issue.key, fields="timetracking").raw["fields"]["timetracking"] == {}
    worklog = pyc.add_worklog(issue.key, "3h")

    def remaining():
        return pyc.issue(issue.key, fields="timetracking").fields.timetracking.remainingEstimate

    assert remaining() == "0m" and pyc.issue(issue.key).fields.timeestimate == 0
    worklog.update(comment="Updated!", timeSpent="2h")  # 1h less logged: 1h back on the estimate
    assert (worklog.comment, worklog.timeSpent, remaining()) == ("Updated!", "2h", "1h")
    worklog.delete()  # the 2h go back
    assert remaining() == "3h"


def test_leave_keeps_no_estimate_and_new_sets_one(sb, pyc):
    issue = _unestimated(pyc)
    pyc.add_worklog(issue.key, "1h", adjustEstimate="leave")
    assert pyc.issue(issue.key).fields.timeestimate is None
    pyc.add_worklog(issue.key, "1h", adjustEstimate="new", newEstimate="4h")
    assert pyc.issue(issue.key, fields="timetracking").fields.timetracking.remainingEstimate == "4h"
