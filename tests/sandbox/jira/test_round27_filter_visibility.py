"""Round 27: a saved filter's visibility reaches past `/filter`: JQL `filter = X` / `filter in (..)`, the agile
`/board/filter/{id}` lookup and board creation treat a filter the caller may not see as one that does not exist;
a filter's `editPermissions` decide who else may edit it; `/project/{key}/component` reads `orderBy` and `query`.
Driven by pycontribs `jira.JIRA` unchanged (raw requests where it has no method), as the admin and the ordinary
"Sandbox User"."""

from __future__ import annotations

import pytest
from jira import JIRA
from jira.exceptions import JIRAError


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30)


@pytest.fixture
def other(sb) -> JIRA:
    """pycontribs as the ordinary login (Sandbox User)."""
    client = JIRA(server=sb.url, basic_auth=(sb.credentials["user_email"], sb.credentials["user_api_token"]),
                  max_retries=0)
    yield client
    client.close()


def test_jql_filter_clause_needs_a_filter_the_caller_sees(sb, pyc, other, s):
    api = f"{sb.url}/rest/api/2"
    f = pyc.create_filter(name="admin only", jql="project = SEC AND issuetype = Bug", favourite=False)
    mine = {i.key for i in pyc.search_issues(f"filter = {f.id}", maxResults=100)}
    assert mine and mine == {i.key for i in pyc.search_issues("filter = 'admin only'", maxResults=100)}
    for jql in (f"filter = {f.id}", "filter = 'admin only'", f"filter in ({f.id})", f"filter != {f.id}"):
        with pytest.raises(JIRAError) as refused:
            other.search_issues(jql)
        assert refused.value.status_code == 400
        assert refused.value.response.json()["errorMessages"] == [
            f"The value '{f.id if 'admin' not in jql else 'admin only'}' does not exist for the field 'filter'."]
    s.post(f"{api}/filter/{f.id}/permission", json={"type": "user", "accountId": other.myself()["accountId"]})
    assert {i.key for i in other.search_issues(f"filter = {f.id}", maxResults=100)} == mine
    assert other.search_issues("filter in ('admin only')", maxResults=0).total == len(mine)


def test_agile_filter_lookups_need_a_filter_the_caller_sees(sb, pyc, other, s):
    f = pyc.create_filter(name="board source", jql="project = GRC", favourite=False)
    board = pyc.create_board("GRC private", filter_id=f.id, location_type="user")
    agile = f"{sb.url}/rest/agile/1.0/board"
    assert [b["name"] for b in s.get(f"{agile}/filter/{f.id}").json()["values"]] == [board.name]
    seen = other._session.get(f"{agile}/filter/{f.id}")
    assert seen.status_code == 200 and seen.json()["values"] == []
    with pytest.raises(JIRAError) as refused:
        other.create_board("stolen", filter_id=f.id, location_type="user")
    assert refused.value.status_code == 400 and "filterId" in refused.value.response.json()["errors"]
    s.post(f"{sb.url}/rest/api/2/filter/{f.id}/permission", json={"type": "authenticated"})
    assert [b["name"] for b in other._session.get(f"{agile}/filter/{f.id}").json()["values"]] == [board.name]
    assert other.create_board("allowed", filter_id=f.id, location_type="user").name == "allowed"
