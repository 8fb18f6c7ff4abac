"""Profile visibility: a user whose e-mail address is hidden ("Only you and admins") is found by
`/user/search?query=<address>` but no user bean shows the address (search, /user, users/search, assignee,
comment author, webhooks-style Python renders), except /myself to that user; pycontribs `jira` and
atlassian-python-api read such users unchanged."""

from __future__ import annotations

import pytest
import requests
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from tests.sandbox.jira.helpers import openapi, session_for

HIDDEN = "dana.hidden@corp.example"


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=20)


@pytest.fixture
def hidden(sb):
    return sb.add_user(HIDDEN, "Dana Hidden", email_visible=False)


def _search(s, sb, query):
    r = s.get(f"{sb.url}/rest/api/3/user/search", params={"query": query})
    assert r.status_code == 200, r.text
    return r.json()


def test_search_finds_a_hidden_address_by_prefix_and_never_shows_it(sb, hidden):
    s = session_for(sb)
    for query in (HIDDEN, HIDDEN.upper(), "dana.hid", "Hidden"):
        found = _search(s, sb, query)
        assert [u["accountId"] for u in found] == [hidden], query
        assert "emailAddress" not in found[0] and found[0]["displayName"] == "Dana Hidden"
    assert _search(s, sb, "corp.example") == [], "a prefix, not any substring, as Jira Cloud matches"
    assert _search(s, sb, HIDDEN + ".au") == []
    bean = s.get(f"{sb.url}/rest/api/3/user", params={"accountId": hidden}).json()
    assert bean["accountId"] == hidden and "emailAddress" not in bean
    listed = next(u for u in s.get(f"{sb.url}/rest/api/3/users/search", params={"maxResults": 1000}).json()
                  if u["accountId"] == hidden)
    assert "emailAddress" not in listed
    response = s.get(f"{sb.url}/rest/api/3/user/search", params={"query": HIDDEN})
    openapi("jira-platform-v3.json", sb.url).validate_response(RequestsOpenAPIRequest(response.request),
                                                               RequestsOpenAPIResponse(response))
    # a visible user is unchanged
    seeded = next(u for u in sb.store.users.values() if u.account_id != sb.store.me.account_id)
    assert [u["emailAddress"] for u in _search(s, sb, seeded.email)] == [seeded.email]
    assert HIDDEN not in s.get(f"{sb.url}/rest/api/3/users/search", params={"maxResults": 1000}).text


def test_assignee_and_comment_author_leave_the_hidden_address_out(sb, hidden):
    s = session_for(sb)
    created = s.post(f"{sb.url}/rest/api/3/issue", json={"fields": {
        "project": {"key": "GRC"}, "issuetype": {"name": "Task"}, "summary": "hidden owner",
        "assignee": {"accountId": hidden}}}).json()
    sb.comment_as(created["key"], "seen", actor=hidden)
    for version in ("2", "3"):
        r = s.get(f"{sb.url}/rest/api/{version}/issue/{created['key']}")
        fields = r.json()["fields"]
        assert fields["assignee"]["accountId"] == hidden and "emailAddress" not in fields["assignee"]
        assert fields["comment"]["comments"][-1]["author"]["accountId"] == hidden
        assert HIDDEN not in r.text
    python_render = next(i for i in sb.issues() if i["key"] == created["key"])  # no caller: nobody sees it
    assert "emailAddress" not in python_render["fields"]["assignee"]


def test_the_user_sees_their_own_address_and_visibility_can_change(sb):
    s = session_for(sb)
    me = sb.store.me
    sb.set_email_visible(me.account_id, False)
    assert s.get(f"{sb.url}/rest/api/3/myself").json()["emailAddress"] == me.email
    other = sb.person()
    sb.set_email_visible(other, False)
    assert "emailAddress" not in s.get(f"{sb.url}/rest/api/3/user", params={"accountId": other}).json()
    sb.set_email_visible(other, True)
    assert s.get(f"{sb.url}/rest/api/3/user", params={"accountId": other}).json()["emailAddress"]


def test_control_route_adds_users_and_add_user_is_idempotent(sb):
    r = requests.post(f"{sb.url}/_sandbox/jira/users", json={"email": "app@corp.example", "displayName": "Bot",
                                                              "accountType": "app", "emailVisible": False})
    assert r.status_code == 201
    ident = r.json()["accountId"]
    user = sb.store.users[ident]
    assert (user.account_type, user.email_visible, user.active) == ("app", False, True)
    assert sb.add_user("APP@corp.example") == ident
    assert requests.post(f"{sb.url}/_sandbox/jira/users", json={"displayName": "x"}).status_code == 400


def test_vendor_clients_read_hidden_users_unchanged(sb, hidden, pyc, atl):
    found = pyc.search_users(query=HIDDEN)
    assert [u.accountId for u in found] == [hidden] and not hasattr(found[0], "emailAddress")
    assert pyc.user(hidden).displayName == "Dana Hidden"
    issue = pyc.create_issue(project="GRC", summary="assign by e-mail", issuetype={"name": "Task"})
    pyc.assign_issue(issue.key, HIDDEN)  # pycontribs searches by the address and takes the user found
    assert pyc.issue(issue.key).fields.assignee.accountId == hidden
    users = atl.user_find_by_user_string(query=HIDDEN)
    assert [u["accountId"] for u in users] == [hidden] and "emailAddress" not in users[0]
    atl.assign_issue(issue.key, account_id=None)
    assert pyc.issue(issue.key).fields.assignee is None


def test_user_search_returns_active_users_only(sb):
    """The OpenAPI text: "Returns a list of active users that match the search string and property"."""
    gone = sb.add_user("gone.away@corp.example", "Gone Away", active=False)
    with session_for(sb) as s:
        by_query = s.get(sb.url + "/rest/api/3/user/search", params={"query": "gone.away@corp.example"}).json()
        by_id = s.get(sb.url + "/rest/api/3/user/search", params={"accountId": gone}).json()
        kept = s.get(sb.url + "/rest/api/3/user/search", params={"query": HIDDEN.split("@")[0]})
    assert by_query == [] and by_id == [] and kept.status_code == 200
