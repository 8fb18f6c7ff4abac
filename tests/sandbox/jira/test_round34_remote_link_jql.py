"""Round 34: `issue in issuesWithRemoteLinksByGlobalId(...)` (Atlassian's JQL functions page: the issues holding
a remote link with one of 1 to 100 global ids; IN, NOT IN), how a two-way sync finds the Jira issue it linked to
an outside record, driven through pycontribs `jira` unchanged. It was "Unable to find JQL function". The
function's autocomplete entry (and linkedIssues' etc.) now says it yields issues, not dates."""

from __future__ import annotations

import pytest
from jira import JIRA
from jira.exceptions import JIRAError

from tests.sandbox.jira.helpers import client_fixtures

sb, _session, _pyc, _atl = client_fixtures(size=40)


@pytest.fixture(scope="module")
def linked(sb):
    client = JIRA(server=sb.url, basic_auth=(sb.credentials["email"], sb.credentials["api_token"]), max_retries=0)
    for key, n in (("SEC-2", 1), ("SEC-5", 2)):
        client.add_remote_link(key, {"url": f"https://example.service-now.com/incident.do?sys_id={n}",
                                     "title": f"INC001000{n}"}, globalId=f"servicenow:incident:{n}")
    yield client
    client.close()


def _keys(client: JIRA, jql: str) -> list[str]:
    return sorted(i.key for i in client.enhanced_search_issues(jql, maxResults=0, fields="summary"))


def test_issues_are_found_by_their_remote_links_global_ids(linked):
    assert _keys(linked, 'issue in issuesWithRemoteLinksByGlobalId("servicenow:incident:1")') == ["SEC-2"]
    assert _keys(linked, "issue in issuesWithRemoteLinksByGlobalId('servicenow:incident:1', "
                         "'servicenow:incident:2', 'servicenow:incident:3')") == ["SEC-2", "SEC-5"]
    rest = _keys(linked, 'project = SEC and key not in issuesWithRemoteLinksByGlobalId("servicenow:incident:1")')
    assert "SEC-2" not in rest and "SEC-5" in rest and len(rest) == 13


def test_a_deleted_remote_link_no_longer_matches(linked, sb):
    r = linked._session.delete(f"{sb.url}/rest/api/2/issue/SEC-5/remotelink",
                               params={"globalId": "servicenow:incident:2"})
    assert r.status_code == 204
    assert _keys(linked, 'issue in issuesWithRemoteLinksByGlobalId("servicenow:incident:2")') == []


def test_the_function_wants_ids_and_a_list_operator(linked):
    with pytest.raises(JIRAError) as e:
        linked.enhanced_search_issues("issue in issuesWithRemoteLinksByGlobalId()")
    assert e.value.status_code == 400 and "expects between '1' and '100' arguments" in e.value.text
    with pytest.raises(JIRAError) as e:
        linked.enhanced_search_issues('issue = issuesWithRemoteLinksByGlobalId("x")')
    assert e.value.status_code == 400


def test_autocomplete_lists_it_as_an_issue_list(linked, sb):
    funcs = linked._session.get(f"{sb.url}/rest/api/3/jql/autocompletedata").json()["visibleFunctionNames"]
    named = {f["value"]: f for f in funcs}
    for name in ("issuesWithRemoteLinksByGlobalId()", "linkedIssues()"):
        assert named[name]["types"] == ["com.atlassian.jira.issue.Issue"] and named[name]["isList"] == "true"
