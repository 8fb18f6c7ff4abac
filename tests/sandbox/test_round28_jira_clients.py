"""Round 28 (Jira): the vendors' clients unchanged against the sandbox. A filter's editors share it (POST and
DELETE `/filter/{id}/permission`, PUT `sharePermissions`), `expand=sharedUsers` lists whom its shares reach, and
the bulk issue property operations read their `filter` ({entityIds, currentValue, hasProperty}) and refuse fields
they do not know; POST `/issue/properties` (by list) exists. Driven by pycontribs `jira.JIRA` and
atlassian-python-api's `JiraCloud` (its REST v3 methods; `atlassian.Jira` has none for these)."""

from __future__ import annotations

import pytest
import requests
from atlassian.jira import JiraCloud
from jira import JIRA
from jira.exceptions import JIRAError

from sandbox.jira.fixtures import make_jira_sandbox  # noqa: F401  (fixture)
from tests.sandbox.jira.helpers import checked, session_for

API = "/rest/api/3"


@pytest.fixture
def sb(make_jira_sandbox):  # noqa: F811
    return make_jira_sandbox(size=30)


def _pyc(sb, ordinary: bool = False) -> JIRA:
    keys = ("user_email", "user_api_token") if ordinary else ("email", "api_token")
    return JIRA(server=sb.url, basic_auth=(sb.credentials[keys[0]], sb.credentials[keys[1]]), max_retries=0)


def _cloud(sb, ordinary: bool = False) -> JiraCloud:
    keys = ("user_email", "user_api_token") if ordinary else ("email", "api_token")
    return JiraCloud(url=sb.url, username=sb.credentials[keys[0]], password=sb.credentials[keys[1]])


@pytest.fixture
def pyc(sb):
    client = _pyc(sb)
    yield client
    client.close()


@pytest.fixture
def other(sb):
    client = _pyc(sb, ordinary=True)
    yield client
    client.close()


@pytest.fixture
def s(sb):
    with session_for(sb) as session:
        yield session


def _editable_by(pyc: JIRA, s: requests.Session, sb, account: str) -> str:
    f = pyc.create_filter(name="team bugs", jql="project = SEC AND issuetype = Bug", favourite=False)
    made = s.put(f"{sb.url}{API}/filter/{f.id}", json={"editPermissions": [{"type": "user",
                                                                              "user": {"accountId": account}}]})
    assert made.status_code == 200 and made.json()["sharePermissions"] == []
    return f.id


def test_only_the_owner_shares_a_filter_its_editors_edit_it(sb, pyc, other, s):
    """The spec: adding or deleting a share needs the user to own the filter (400 / 404 otherwise), and PUT
    changes its sharing only for its owner; an editor changes its name and JQL."""
    editor = other.myself()["accountId"]
    fid = _editable_by(pyc, s, sb, editor)
    atl_editor = _cloud(sb, ordinary=True)
    with pytest.raises(requests.HTTPError) as refused:
        atl_editor.add_share_permission(fid, data={"type": "group", "groupname": "jira-software-users"})
    assert refused.value.response.status_code == 400 and refused.value.response.json()["errorMessages"]
    assert pyc.filter(fid).sharePermissions == []
    added = _cloud(sb).add_share_permission(fid, data={"type": "group", "groupname": "jira-software-users"})
    share_id = added[0]["id"]
    assert atl_editor.get_share_permission(fid, share_id)["group"]["name"] == "jira-software-users"
    gone = session_for(sb, ordinary=True).delete(f"{sb.url}{API}/filter/{fid}/permission/{share_id}")
    assert gone.status_code == 404 and [p.type for p in pyc.filter(fid).sharePermissions] == ["group"]
    body = {"name": "team bugs", "sharePermissions": [{"type": "authenticated"}]}
    put = session_for(sb, ordinary=True).put(f"{sb.url}{API}/filter/{fid}", json=body)
    assert put.status_code == 200 and put.json()["name"] == "team bugs"
    assert [p["type"] for p in put.json()["sharePermissions"]] == ["group"]


def test_a_viewer_may_not_share_and_a_stranger_gets_404(sb, pyc, other, s):
    f = pyc.create_filter(name="mine", jql="project = SEC", favourite=False)
    atl_other = _cloud(sb, ordinary=True)
    with pytest.raises(requests.HTTPError) as hidden:  # the spec: 404 when the caller may not view it
        atl_other.add_share_permission(f.id, data={"type": "global"})
    assert hidden.value.response.status_code == 404
    assert set(hidden.value.response.json()) == {"errorMessages", "errors"}
    s.post(f"{sb.url}{API}/filter/{f.id}/permission", json={"type": "group", "groupname": "jira-software-users"})
    with pytest.raises(requests.HTTPError) as refused:  # a viewer, no editor: the spec's 400
        atl_other.add_share_permission(f.id, data={"type": "global"})
    assert refused.value.response.status_code == 400 and refused.value.response.json()["errorMessages"]
    share = s.get(f"{sb.url}{API}/filter/{f.id}/permission").json()[0]["id"]
    gone = session_for(sb, ordinary=True).delete(f"{sb.url}{API}/filter/{f.id}/permission/{share}")
    assert gone.status_code == 404 and len(s.get(f"{sb.url}{API}/filter/{f.id}/permission").json()) == 1


def test_expand_shared_users_lists_whom_the_shares_reach(sb, pyc, other, s):
    f = pyc.create_filter(name="for users", jql="project = SEC", favourite=False)
    url = f"{sb.url}{API}/filter/{f.id}"
    plain = checked(sb, s.get(url)).json()["sharedUsers"]
    assert plain == {"size": 0, "items": [], "max-results": 0, "start-index": 0, "end-index": 0}
    assert s.get(url, params={"expand": "sharedUsers"}).json()["sharedUsers"]["size"] == 0  # private: no one
    me = other.myself()["accountId"]
    s.post(f"{url}/permission", json={"type": "user", "accountId": me})
    listed = checked(sb, s.get(url, params={"expand": "sharedUsers"})).json()["sharedUsers"]
    assert [u["accountId"] for u in listed["items"]] == [me] and listed["size"] == 1
    s.post(f"{url}/permission", json={"type": "group", "groupname": "jira-software-users"})
    members = s.get(f"{sb.url}{API}/group/member", params={"groupname": "jira-software-users",
                                                              "maxResults": 50}).json()["values"]
    everyone = s.get(url, params={"expand": "sharedUsers"}).json()["sharedUsers"]
    assert {u["accountId"] for u in everyone["items"]} == {m["accountId"] for m in members if m["active"]} | {me}
    assert everyone["size"] == len(everyone["items"]) and everyone["start-index"] == 0
    page = s.get(url, params={"expand": "sharedUsers[1:2]"}).json()["sharedUsers"]
    assert [u["accountId"] for u in page["items"]] == [u["accountId"] for u in everyone["items"][1:3]]
    assert (page["size"], page["start-index"], page["end-index"]) == (everyone["size"], 1, 2)
    # the favourite and "my" lists, and pycontribs' own filter read, carry it too
    mine = s.get(f"{sb.url}{API}/filter/my", params={"expand": "sharedUsers"}).json()
    assert [x["sharedUsers"]["size"] for x in mine if x["id"] == f.id] == [everyone["size"]]
    assert pyc.filter(f.id).raw["sharedUsers"]["size"] == 0


def _props(s, sb, ids, key):
    out = {}
    for i in ids:
        r = s.get(f"{sb.url}{API}/issue/{i}/properties/{key}")
        out[i] = r.json()["value"] if r.status_code == 200 else None
    return out


def test_bulk_set_issue_property_reads_its_filter(sb, pyc, s):
    jc = _cloud(sb)
    ids = [int(i.id) for i in pyc.search_issues("project = SEC ORDER BY key", maxResults=5)]
    assert len(ids) == 5
    task = jc.bulk_set_issue_property("team", data={"value": {"n": 1}, "filter": {"entityIds": ids[:3]}})
    assert task["status"] == "COMPLETE"
    assert _props(s, sb, ids, "team") == {ids[0]: {"n": 1}, ids[1]: {"n": 1}, ids[2]: {"n": 1},
                                          ids[3]: None, ids[4]: None}
    s.put(f"{sb.url}{API}/issue/{ids[1]}/properties/team", json={"n": 9})
    jc.bulk_set_issue_property("team", data={"value": {"n": 2},
                                             "filter": {"entityIds": ids, "currentValue": {"n": 1}}})
    assert _props(s, sb, ids, "team") == {ids[0]: {"n": 2}, ids[1]: {"n": 9}, ids[2]: {"n": 2},
                                          ids[3]: None, ids[4]: None}
    jc.bulk_set_issue_property("team", data={"value": "new", "filter": {"entityIds": ids, "hasProperty": False}})
    jc.bulk_set_issue_property("team", data={"value": True, "filter": {"entityIds": ids[:2], "hasProperty": True}})
    assert _props(s, sb, ids, "team") == {ids[0]: True, ids[1]: True, ids[2]: {"n": 2}, ids[3]: "new",
                                          ids[4]: "new"}
    jc.bulk_set_issue_property("team", data={"value": "x", "filter": {"entityIds": ids, "currentValue": 1}})
    assert _props(s, sb, ids, "team")[ids[0]] is True  # JSON equality: true is not 1
    url = f"{sb.url}{API}/issue/properties/team"
    for body in ({"value": 1, "filter": {"entityIds": ids, "currentValue": True, "hasProperty": False}},
                 {"value": 1, "filter": {"entityIds": ids, "bogus": 1}},
                 {"value": 1, "filter": {"hasProperty": "maybe"}}, {"value": 1, "unknown": {}}):
        refused = s.put(url, json=body)
        assert refused.status_code == 400, body
        assert set(refused.json()) == {"errorMessages", "errors"}
    assert _props(s, sb, ids, "team") == {ids[0]: True, ids[1]: True, ids[2]: {"n": 2}, ids[3]: "new",
                                          ids[4]: "new"}  # nothing applied by a refused call
    jc.bulk_delete_issue_property("team", data={"entityIds": ids[:4], "currentValue": "new"})
    assert _props(s, sb, ids, "team")[ids[3]] is None and _props(s, sb, ids, "team")[ids[4]] == "new"


def test_bulk_set_properties_by_list(sb, pyc, s):
    jc = _cloud(sb)
    ids = [int(i.id) for i in pyc.search_issues("project = GRC ORDER BY key", maxResults=3)]
    task = jc.bulk_set_issues_properties_list(data={"entitiesIds": ids[:2], "properties": {"a": 1, "b": [2]}})
    assert task["status"] == "COMPLETE"
    assert _props(s, sb, ids, "a") == {ids[0]: 1, ids[1]: 1, ids[2]: None}
    assert _props(s, sb, ids, "b")[ids[1]] == [2]
    for body in ({"entitiesIds": [], "properties": {"a": 1}}, {"entitiesIds": ids, "properties": {}},
                 {"entitiesIds": ids, "properties": {f"k{n}": n for n in range(11)}}, {"issues": ids}):
        with pytest.raises(requests.HTTPError) as refused:
            jc.bulk_set_issues_properties_list(data=body)
        assert refused.value.response.status_code == 400, body
    with pytest.raises(JIRAError):  # pycontribs reads the property the bulk call set
        pyc._session.get(f"{sb.url}{API}/issue/{ids[2]}/properties/a")


def test_filter_search_subscriptions_is_the_spec_array(sb, pyc, s):
    f = pyc.create_filter(name="subscribed?", jql="project = SEC", favourite=True)
    found = checked(sb, s.get(f"{sb.url}{API}/filter/search", params={
        "filterName": "subscribed?", "expand": "subscriptions,favourite,jql,owner,sharePermissions"})).json()
    assert [(v["id"], v["subscriptions"], v["favourite"], v["jql"]) for v in found["values"]] == [
        (f.id, [], True, "project = SEC")]
    # the Filter bean itself keeps its paged list (FilterSubscriptionsList)
    assert pyc.filter(f.id).raw["subscriptions"] == {"size": 0, "items": [], "max-results": 0, "start-index": 0,
                                                     "end-index": 0}
