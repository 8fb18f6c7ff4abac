"""Round twelve of vendor-client probes: `GET /field/search`'s `screensCount`/`projectsCount` expands, `projectIds`
filter, count orders and description match (checked against the official OpenAPI spec); cookie sessions at
`/rest/auth/1/session` (plain `requests` and pycontribs `JIRA(auth=...)`, `session()`, `kill_session()`); POST
`/issue/bulk` answering 400 when every element fails; DELETE `/issue/{key}/watchers` for an unknown account."""

from __future__ import annotations

import warnings

import pytest
import requests
from jira import JIRA, JIRAError

from tests.sandbox.jira.helpers import checked as _checked

TEXT = "com.atlassian.jira.plugin.system.customfieldtypes:textfield"


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30)


def _scoped_field(sb, s, atl, name, projects):
    """A custom field whose global context is replaced by one context per project id in `projects`."""
    made = atl.create_custom_field(name, TEXT)
    api = f"{sb.url}/rest/api/3/field/{made['id']}/context"
    [default] = s.get(api).json()["values"]
    assert s.delete(f"{api}/{default['id']}").status_code == 204
    for pid in projects:
        assert s.post(api, json={"name": f"only {pid}", "projectIds": [pid]}).status_code == 201
    return made["id"]


def test_field_search_screens_count(sb, s, atl):
    made = atl.create_custom_field("Review notes", TEXT)
    r = _checked(sb, s.get(f"{sb.url}/rest/api/3/field/search",
                           params={"expand": "screensCount", "maxResults": 100}))
    counts = {f["id"]: f["screensCount"] for f in r.json()["values"]}
    assert counts["assignee"] == 3  # Default, Workflow and Resolve Issue screens
    assert counts["fixVersions"] == 2 and counts["resolution"] == 1 and counts["summary"] == 1
    assert counts["status"] == 0 and counts["created"] == 0
    assert counts["customfield_10016"] == 1 and counts["customfield_10019"] == 0
    assert counts[made["id"]] == 0  # a field made through the REST API is on no screen
    top = s.get(f"{sb.url}/rest/api/3/field/search", params={"orderBy": "-screensCount"}).json()["values"]
    assert top[0]["id"] == "assignee" and top[1]["id"] == "fixVersions"
    plain = s.get(f"{sb.url}/rest/api/3/field/search").json()["values"]
    assert not any("screensCount" in f or "projectsCount" in f for f in plain)


def test_field_search_projects_count_only_for_project_scoped_fields(sb, s, atl):
    scoped = _scoped_field(sb, s, atl, "Audit area", ["10000", "10001"])
    one = _scoped_field(sb, s, atl, "Eng area", ["10002"])
    glob = atl.create_custom_field("Everywhere", TEXT)["id"]
    r = _checked(sb, s.get(f"{sb.url}/rest/api/3/field/search", params={
        "type": "custom", "expand": "projectsCount,contextsCount,screensCount,lastUsed,searcherKey"}))
    by_id = {f["id"]: f for f in r.json()["values"]}
    assert by_id[scoped]["projectsCount"] == 2 and by_id[scoped]["contextsCount"] == 2
    assert by_id[one]["projectsCount"] == 1
    assert "projectsCount" not in by_id[glob] and "projectsCount" not in by_id["customfield_10016"]
    system = s.get(f"{sb.url}/rest/api/3/field/search", params={"type": "system", "expand": "projectsCount"})
    assert not any("projectsCount" in f for f in system.json()["values"])
    order = s.get(f"{sb.url}/rest/api/3/field/search",
                  params={"type": "custom", "orderBy": "-projectsCount"}).json()["values"]
    assert [f["id"] for f in order[:2]] == [scoped, one]


def test_field_search_project_ids(sb, s, atl):
    scoped = _scoped_field(sb, s, atl, "SEC only", ["10000"])
    glob = atl.create_custom_field("All projects", TEXT)["id"]
    api = f"{sb.url}/rest/api/3/field/search"

    def ids(**params):
        r = _checked(sb, s.get(api, params={"maxResults": 200, **params}))
        assert r.status_code == 200
        return {f["id"] for f in r.json()["values"]}

    everything = ids()
    sec, eng = ids(projectIds="10000"), ids(projectIds="10002")
    assert scoped in sec and glob in sec and "summary" in sec and sec == everything
    assert scoped not in eng and glob in eng and "summary" in eng
    assert scoped in ids(projectIds=["10002", "10000"])  # a repeated parameter
    assert scoped in ids(projectIds="10002,10000")  # and a comma list
    assert ids(projectIds="999999") == set()  # no such project: no field belongs to it
    assert ids(projectIds="10002", type="custom") == {"customfield_10016", "customfield_10020", "customfield_10019",
                                                      glob}
    assert s.get(api, params={"projectIds": "SEC"}).status_code == 400


def test_field_search_query_matches_description(sb, s, atl):
    made = atl.create_custom_field("Tier", TEXT, description="Vendor risk classification")
    page = _checked(sb, s.get(f"{sb.url}/rest/api/3/field/search", params={"query": "RISK CLASS"})).json()
    assert [f["id"] for f in page["values"]] == [made["id"]]
    assert page["values"][0]["description"] == "Vendor risk classification"


# --- /rest/auth/1/session --------------------------------------------------------------------------------------------


def _login(sb, password=None, username=None):
    creds = sb.credentials
    return requests.post(f"{sb.url}/rest/auth/1/session", json={
        "username": username or creds["email"], "password": password or creds["api_token"]})


def test_session_login_cookie_current_and_logout(sb):
    r = _login(sb)
    assert r.status_code == 200
    body = r.json()
    assert body["session"]["name"] == "JSESSIONID" and r.cookies["JSESSIONID"] == body["session"]["value"]
    assert body["loginInfo"]["loginCount"] == 1 and body["loginInfo"]["failedLoginCount"] == 0
    jar = {"JSESSIONID": body["session"]["value"]}
    me = requests.get(f"{sb.url}/rest/api/3/myself", cookies=jar)
    assert me.status_code == 200 and me.json()["emailAddress"] == sb.credentials["email"]
    made = requests.post(f"{sb.url}/rest/api/2/issue", cookies=jar, json={"fields": {
        "project": {"key": "SEC"}, "summary": "via cookie", "issuetype": {"name": "Task"}}})
    assert made.status_code == 201
    assert requests.get(f"{sb.url}/rest/agile/1.0/board", cookies=jar).status_code == 200
    current = requests.get(f"{sb.url}/rest/auth/1/session", cookies=jar)
    assert current.status_code == 200
    info = current.json()
    assert info["name"] == me.json()["accountId"] and info["self"].endswith(f"user?accountId={info['name']}")
    assert info["loginInfo"]["loginCount"] == 1 and "previousLoginTime" in info["loginInfo"]
    gateway = f"{sb.url}/ex/jira/{sb.credentials['cloud_id']}/rest/api/3/myself"
    assert requests.get(gateway, cookies=jar).status_code == 401  # the gateway takes OAuth, not cookies
    out = requests.delete(f"{sb.url}/rest/auth/latest/session", cookies=jar)
    assert out.status_code == 204
    assert requests.get(f"{sb.url}/rest/api/3/myself", cookies=jar).status_code == 401
    assert requests.get(f"{sb.url}/rest/auth/1/session", cookies=jar).status_code == 401


def test_session_failed_login_and_anonymous_calls(sb, s):
    bad = _login(sb, password="not-the-token")
    assert bad.status_code == 401 and bad.json()["errorMessages"] == ["Login failed"]
    assert bad.headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED" and "JSESSIONID" not in bad.cookies
    assert _login(sb, username="nobody@example.com").status_code == 401
    assert requests.post(f"{sb.url}/rest/auth/1/session", data="nope",
                         headers={"Content-Type": "application/json"}).status_code == 400
    assert requests.get(f"{sb.url}/rest/auth/1/session").status_code == 401
    assert requests.delete(f"{sb.url}/rest/auth/1/session").status_code == 401
    assert requests.get(f"{sb.url}/rest/api/3/myself", cookies={"JSESSIONID": "FORGED"}).status_code == 401
    info = s.get(f"{sb.url}/rest/auth/1/session").json()["loginInfo"]  # Basic auth works here too
    assert info["failedLoginCount"] == 1 and "lastFailedLoginTime" in info and info["loginCount"] == 0
    assert s.delete(f"{sb.url}/rest/auth/1/session").status_code == 204  # no session to end: still 204


def test_pycontribs_cookie_auth(sb):
    creds = sb.credentials
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the client warns that cookie auth is deprecated
        client = JIRA(server=sb.url, auth=(creds["email"], creds["api_token"]), max_retries=0)
    try:
        me = client.myself()["accountId"]  # 401, login at /rest/auth/1/session, the same request again
        assert client._session.cookies.get("JSESSIONID")
        issue = client.create_issue(project="SEC", summary="cookie session", issuetype={"name": "Task"})
        assert client.issue(issue.key).fields.summary == "cookie session"
        assert client.session().name == me
        assert client.kill_session().status_code == 204
        assert client.search_issues(f"key = {issue.key}")[0].key == issue.key  # logs in again by itself
    finally:
        client.close()
    with warnings.catch_warnings(), pytest.raises(JIRAError) as failed:  # the client's first call logs in
        warnings.simplefilter("ignore", DeprecationWarning)
        JIRA(server=sb.url, auth=(creds["email"], "wrong"), max_retries=0).myself()
    assert failed.value.status_code == 401 and failed.value.url.endswith("/rest/auth/1/session")


# --- bulk create and watchers ----------------------------------------------------------------------------------------


def test_bulk_create_every_element_invalid_is_400(sb, s, pyc):
    bad = [{"fields": {"project": {"key": "NOPE"}, "summary": "x", "issuetype": {"name": "Task"}}},
           {"fields": {"project": {"key": "SEC"}, "issuetype": {"name": "Task"}}}]
    r = _checked(sb, s.post(f"{sb.url}/rest/api/3/issue/bulk", json={"issueUpdates": bad}))
    assert r.status_code == 400
    body = r.json()
    assert body["issues"] == [] and [e["failedElementNumber"] for e in body["errors"]] == [0, 1]
    assert body["errors"][1]["elementErrors"]["errors"] == {"summary": "You must specify a summary of the issue."}
    mixed = _checked(sb, s.post(f"{sb.url}/rest/api/3/issue/bulk", json={"issueUpdates": [bad[0], {"fields": {
        "project": {"key": "SEC"}, "summary": "fine", "issuetype": {"name": "Task"}}}]}))
    assert mixed.status_code == 201 and len(mixed.json()["issues"]) == 1
    out = pyc.create_issues([f["fields"] for f in bad])  # the client reads the 400 body per element
    assert [o["status"] for o in out] == ["Error", "Error"] and out[0]["error"] == {"project":
                                                                                    "valid project is required"}


def test_remove_unknown_watcher_is_404(sb, s, pyc):
    r = _checked(sb, s.delete(f"{sb.url}/rest/api/3/issue/SEC-1/watchers", params={"accountId": "nobody-123"}))
    assert r.status_code == 404 and r.json()["errorMessages"]
    with pytest.raises(JIRAError, match="No matching user"):  # pycontribs looks the user up first
        pyc.remove_watcher("SEC-1", "nobody-123")
    me = pyc.myself()["accountId"]
    pyc.add_watcher("SEC-1", me)
    assert pyc.remove_watcher("SEC-1", me).status_code == 204
    assert me not in [w.accountId for w in pyc.watchers("SEC-1").watchers]
    assert s.delete(f"{sb.url}/rest/api/3/issue/NOPE-1/watchers", params={"accountId": me}).status_code == 404
