"""Round 20 (Jira): the structured user query's voter / commenter / transitioner / user-property statements, with
votes and watchers set through pycontribs `jira`, atlassian `Jira` and `JiraCloud`, unchanged."""

from __future__ import annotations

import pytest
from atlassian import Jira as AtlassianJira
from jira import JIRA
from requests import HTTPError

from sandbox.jira.fixtures import make_jira_sandbox  # noqa: F401  (fixture)
from tests.sandbox.jira.helpers import checked, jira_cloud, session_for


@pytest.fixture
def sb(make_jira_sandbox):  # noqa: F811
    return make_jira_sandbox(size=30)


@pytest.fixture
def pyc(sb):
    client = JIRA(server=sb.url, basic_auth=(sb.credentials["email"], sb.credentials["api_token"]), max_retries=0)
    yield client
    client.close()


def _ids(page):
    return {u["accountId"] for u in page["values"]}


def test_votes_and_watchers_through_the_clients(sb, pyc):
    atl = AtlassianJira(url=sb.url, username=sb.credentials["email"], password=sb.credentials["api_token"],
                        cloud=True)
    jc = jira_cloud(sb)
    me = pyc.myself()["accountId"]
    issue = next(i for i in sb.store.issues.values() if i.reporter and i.reporter != me)
    other = next(a for a in sb.store.users if a not in (me, issue.reporter))
    assert pyc.add_vote(issue.key).status_code == 204
    votes = pyc.votes(issue.key)
    assert (votes.votes, votes.hasVoted, [v.accountId for v in votes.voters]) == (1, True, [me])
    assert jc.get_votes(issue.key)["voters"][0]["accountId"] == me
    pyc.remove_vote(issue.key)
    assert jc.get_votes(issue.key)["votes"] == 0
    jc.add_vote(issue.key)
    assert pyc.votes(issue.key).hasVoted
    jc.remove_vote(issue.key)
    assert not pyc.votes(issue.key).hasVoted

    assert [w.accountId for w in pyc.watchers(issue.key).watchers] == [issue.reporter]  # the reporter by default
    assert pyc.add_watcher(issue.key, other).status_code == 204
    got = atl.issue_get_watchers(issue.key)
    assert got["watchCount"] == 2 and {w["accountId"] for w in got["watchers"]} == {issue.reporter, other}
    assert pyc.remove_watcher(issue.key, other).status_code == 204
    atl.issue_add_watcher(issue.key, me)
    assert pyc.watchers(issue.key).isWatching
    atl.issue_delete_watcher(issue.key, account_id=me)
    jc.add_watcher(issue.key, data=other)
    assert {w["accountId"] for w in jc.get_issue_watchers(issue.key)["watchers"]} == {issue.reporter, other}
    jc.remove_watcher(issue.key, account_id=other)
    assert jc.get_issue_watchers(issue.key)["watchCount"] == 1
    with pytest.raises(HTTPError):
        jc.get_votes("NOPE-999")


def test_voter_commenter_transitioner_queries(sb, pyc):
    jc = jira_cloud(sb)
    me = pyc.myself()["accountId"]
    issue, second = [i for i in sb.store.issues.values() if i.reporter and i.reporter != me][:2]
    pyc.add_vote(issue.key)
    assert _ids(jc.find_users_by_query(query=f"is voter of ({issue.key})", max_results=1000)) == {me}
    assert _ids(jc.find_users_by_query(query=f"is voter of ({second.key})", max_results=1000)) == set()

    pyc.add_comment(second.key, "checked")
    commenters = {c.author for c in sb.store.comments_of(second)}
    assert me in commenters
    assert _ids(jc.find_users_by_query(query=f"is commenter of ({second.key})", max_results=1000)) == commenters

    target = next(t for t in pyc.transitions(issue.key))
    pyc.transition_issue(issue.key, target["id"])
    with session_for(sb) as s:
        page = checked(sb, s.get(f"{sb.url}/rest/api/3/user/search/query",
                                 params={"query": f"is transitioner of ({issue.key}, {second.key})",
                                         "maxResults": 1000})).json()
        assert me in _ids(page)
        both = s.get(f"{sb.url}/rest/api/3/user/search/query/key", params={
            "query": f"is voter of ({issue.key}) and is commenter of ({second.key})", "maxResult": 1000}).json()
        assert both["values"] == [{"accountId": me}]
        for bad in ("is frobber of (X-1)", "[location] is", "is voter of"):
            assert s.get(f"{sb.url}/rest/api/3/user/search/query", params={"query": bad}).status_code == 400, bad


def test_user_property_query(sb, pyc):
    jc = jira_cloud(sb)
    me = pyc.myself()["accountId"]
    with session_for(sb) as s:
        r = s.put(f"{sb.url}/rest/api/3/user/properties/location", params={"accountId": me},
                  json={"office": {"country": "AU", "city": "Sydney AND Co"}, "floor": 3})
        assert r.status_code == 201, r.text
    query = '[location].office.city is "Sydney AND Co"'
    assert _ids(jc.find_users_by_query(query=query, max_results=1000)) == {me}
    assert _ids(jc.find_users_by_query(query="[location].floor is 3", max_results=1000)) == {me}
    assert _ids(jc.find_users_by_query(query='[location].office.city is "Perth"', max_results=1000)) == set()
    keys = jc.find_user_keys_by_query(query=f'{query} AND is voter of (NOPE-1)', max_result=1000)
    assert keys["values"] == []
