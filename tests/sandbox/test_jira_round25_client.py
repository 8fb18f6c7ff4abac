"""Round 25 (Jira): a second seeded login, an ordinary user (`credentials["user_email"]`/`["user_api_token"]`),
so pycontribs `jira` can vote and watch as another user than the admin (pycontribs' own `jira_normal` client),
and what that user may not do: create (403), edit (403) or delete (404, as the spec words it) a project."""

from __future__ import annotations

import pytest
from jira import JIRA
from jira.exceptions import JIRAError

from sandbox.jira.fixtures import make_jira_sandbox  # noqa: F401  (fixture)
from sandbox.jira.seed import account_id


@pytest.fixture
def sb(make_jira_sandbox):  # noqa: F811
    return make_jira_sandbox(size=30)


def _client(sb, email_key: str, token_key: str) -> JIRA:
    return JIRA(server=sb.url, basic_auth=(sb.credentials[email_key], sb.credentials[token_key]), max_retries=0)


@pytest.fixture
def admin(sb):
    client = _client(sb, "email", "api_token")
    yield client
    client.close()


@pytest.fixture
def user(sb):
    client = _client(sb, "user_email", "user_api_token")
    yield client
    client.close()


def test_second_login_is_an_ordinary_user_found_by_email(sb, admin, user):
    me = user.myself()
    assert (me["displayName"], me["emailAddress"]) == ("Sandbox User", sb.credentials["user_email"])
    assert user.current_user() == me["accountId"] != admin.current_user()
    assert [u.accountId for u in admin.search_users(query=sb.credentials["user_email"])] == [me["accountId"]]
    assert [g["name"] for g in admin._get_json("user/groups", params={"accountId": me["accountId"]})] == [
        "jira-software-users"]
    assert user.my_permissions(permissions="ADMINISTER")["permissions"]["ADMINISTER"]["havePermission"] is False
    with pytest.raises(JIRAError) as bad:
        JIRA(server=sb.url, basic_auth=(sb.credentials["user_email"], "wrong"), max_retries=0).myself()
    assert bad.value.status_code == 401


def test_second_login_leaves_the_seeded_people_alone(sb):
    assert sb.store.people == [account_id(sb.seed, i) for i in range(25)]
    assert sb.store.login_user not in sb.store.people and sb.store.login_user in sb.store.users


def test_second_login_credentials_are_configurable(make_jira_sandbox):  # noqa: F811
    box = make_jira_sandbox(size=10, credentials={"user_email": "qa.bot@example.com", "user_api_token": "t0k"})
    client = JIRA(server=box.url, basic_auth=("qa.bot@example.com", "t0k"), max_retries=0)
    assert client.myself()["emailAddress"] == "qa.bot@example.com"
    client.close()


def test_votes_as_another_user(sb, admin, user):
    issue = admin.create_issue(project="SEC", summary="vote on me", issuetype={"name": "Task"})
    assert admin.votes(issue.key).votes == 0
    assert user.add_vote(issue.key).status_code == 204
    votes = admin.votes(issue.key)
    assert (votes.votes, votes.hasVoted, [v.accountId for v in votes.voters]) == (1, False, [user.current_user()])
    assert user.votes(issue.key).hasVoted is True
    assert user.issue(issue.key).fields.votes.hasVoted is True  # the field is the caller's own view
    assert admin.issue(issue.key).fields.votes.hasVoted is False
    with pytest.raises(JIRAError) as own:  # the reporter may not vote on their own issue
        admin.add_vote(issue.key)
    assert own.value.status_code == 404
    user.remove_vote(issue.key)
    assert admin.votes(issue.key).votes == 0
    with pytest.raises(JIRAError) as again:  # the spec: 404 when the user has not voted on the issue
        user.remove_vote(issue.key)
    assert again.value.status_code == 404


def test_watching_as_another_user(sb, admin, user):
    issue = admin.create_issue(project="SEC", summary="watch me", issuetype={"name": "Task"})
    assert admin.watchers(issue.key).watchCount == 1  # the reporter
    assert user.add_watcher(issue.key, user.current_user()).status_code == 204
    seen = admin.watchers(issue.key)
    assert (seen.watchCount, seen.isWatching) == (2, True)
    assert user.watchers(issue.key).isWatching is True
    assert user.issue(issue.key).fields.watches.isWatching is True
    admin.remove_watcher(issue.key, admin.current_user())
    assert admin.issue(issue.key).fields.watches.isWatching is False
    assert user.issue(issue.key).fields.watches.isWatching is True
    assert [w.accountId for w in admin.watchers(issue.key).watchers] == [user.current_user()]


def test_comment_by_another_user_carries_that_author(sb, admin, user):
    issue = admin.create_issue(project="SEC", summary="talk", issuetype={"name": "Task"})
    made = user.add_comment(issue.key, "from the user")
    assert made.author.accountId == user.current_user()
    assert [c.author.displayName for c in admin.comments(issue.key)] == ["Sandbox User"]


def test_ordinary_user_may_not_create_edit_or_delete_projects(sb, admin, user):
    with pytest.raises(JIRAError) as create:
        user.create_project("ZZQ", "Not mine")
    assert create.value.status_code == 403
    with pytest.raises(JIRAError) as edit:
        user.project("SEC").update(name="Renamed by a user")
    assert edit.value.status_code == 403
    with pytest.raises(JIRAError) as delete:
        user.delete_project("SEC")
    assert (delete.value.status_code, delete.value.text) == (404, "No project could be found with key 'SEC'.")
    assert admin.project("SEC").name == sb.store.projects["SEC"].name != "Renamed by a user"
    assert admin.delete_project("GRC") is True
    with pytest.raises(JIRAError):
        admin.project("GRC")
