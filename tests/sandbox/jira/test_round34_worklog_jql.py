"""Round 34: JQL's worklog fields through pycontribs `jira` unchanged. `worklogDate`, `worklogAuthor` and
`worklogComment` (Atlassian's JQL field reference; what timesheet exports search by) were refused as "Field
'worklogDate' does not exist or you do not have permission to view it."; they now match the issues' worklogs
(the day a worklog started, who logged it, its comment), counting only worklogs the searcher may see."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from jira import JIRA
from jira.exceptions import JIRAError

from tests.sandbox.jira.helpers import client_fixtures

sb, _session, _pyc, _atl = client_fixtures(size=40)


@pytest.fixture(scope="module")
def logged(sb):
    """SEC-3: 1h started 2026-11-02 09:00 UTC "reviewed firewall rules"; SEC-4: 2h now, visible to
    Administrators only. Both by the admin."""
    client = JIRA(server=sb.url, basic_auth=(sb.credentials["email"], sb.credentials["api_token"]), max_retries=0)
    client.add_worklog("SEC-3", timeSpent="1h", started=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
                       comment="reviewed firewall rules")
    client._session.post(f"{sb.url}/rest/api/2/issue/SEC-4/worklog", json={
        "timeSpent": "2h", "comment": "admin only", "visibility": {"type": "role", "value": "Administrators"}})
    yield client
    client.close()


def _keys(client: JIRA, jql: str) -> list[str]:
    return sorted(i.key for i in client.enhanced_search_issues(jql, maxResults=0, fields="summary"))


def test_worklog_date_matches_the_day_a_worklog_started(logged):
    assert _keys(logged, "worklogDate = '2026-11-02'") == ["SEC-3"]
    assert _keys(logged, "worklogDate in ('2026-11-01', '2026/11/02')") == ["SEC-3"]
    assert _keys(logged, "worklogDate > '2026-11-02' and project = SEC") == ["SEC-4"]  # logged today
    assert _keys(logged, "worklogDate >= startOfMonth() and worklogDate <= now()") == ["SEC-4"]
    assert _keys(logged, "project = SEC and worklogDate >= '2026-11-01'") == ["SEC-3", "SEC-4"]


def test_worklog_author_and_comment(logged, sb):
    assert _keys(logged, "worklogAuthor = currentUser()") == ["SEC-3", "SEC-4"]
    assert _keys(logged, "worklogAuthor in membersOf('jira-admins')") == ["SEC-3", "SEC-4"]
    assert _keys(logged, "worklogComment ~ firewall") == ["SEC-3"]
    user = JIRA(server=sb.url, basic_auth=(sb.credentials["user_email"], sb.credentials["user_api_token"]),
                max_retries=0)
    try:  # the Administrators-only worklog is not there for the ordinary login
        assert _keys(user, "project = SEC and worklogDate >= '2026-11-01'") == ["SEC-3"]
        assert _keys(user, "worklogComment ~ 'admin'") == []
    finally:
        user.close()


def test_worklog_fields_refuse_operators_jira_does_not_take(logged):
    with pytest.raises(JIRAError) as e:
        logged.enhanced_search_issues("worklogDate is EMPTY")
    assert e.value.status_code == 400
    assert "The operator 'IS' is not supported by the 'worklogDate' field." in e.value.text
    with pytest.raises(JIRAError) as e:
        logged.enhanced_search_issues("worklogComment = firewall")
    assert e.value.status_code == 400 and "not supported by the 'worklogComment' field" in e.value.text


def test_autocomplete_data_lists_the_worklog_clauses(logged, sb):
    fields = logged._session.get(f"{sb.url}/rest/api/3/jql/autocompletedata").json()["visibleFieldNames"]
    named = {f["value"]: f for f in fields}
    assert {"worklogAuthor", "worklogComment", "worklogDate"} <= set(named)
    assert named["worklogComment"]["operators"] == ["~", "!~"] and named["worklogDate"]["orderable"] == "false"
