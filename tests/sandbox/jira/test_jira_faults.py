"""Each fault switched on and off at run time, its effect shown with plain `requests`."""

from __future__ import annotations

import time

import pytest
import requests

from .helpers import session_for

SEARCH = "/rest/api/3/search/jql"


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=120)


def page_through(s, sb, jql: str, page: int = 10) -> list[dict]:
    out, token = [], None
    for _ in range(500):
        params = {"jql": jql, "maxResults": page, "fields": "updated,summary"}
        if token:
            params["nextPageToken"] = token
        body = s.get(sb.url + SEARCH, params=params).json()
        out += body["issues"]
        token = body.get("nextPageToken")
        if not token:
            return out
    raise AssertionError("pagination did not terminate")


def test_rate_limit_429(sb, s):
    sb.faults.set(rate_429=1.0, retry_after=2)
    r = s.get(f"{sb.url}/rest/api/3/myself")
    assert r.status_code == 429 and r.headers["Retry-After"] == "2"
    assert r.headers["X-RateLimit-Remaining"] == "0" and r.headers["RateLimit-Reason"] == "jira-burst-based"
    assert r.headers["X-RateLimit-Reset"].endswith("Z")
    assert r.json() == {"errorMessages": ["Rate limit exceeded."], "errors": {}}
    sb.faults.set(html_errors=1)
    r = s.get(f"{sb.url}/rest/api/3/myself")
    assert r.status_code == 429 and r.headers["Content-Type"].startswith("text/html") and "Oops" in r.text
    sb.faults.clear()
    assert s.get(f"{sb.url}/rest/api/3/myself").status_code == 200


def test_server_errors(sb, s):
    sb.faults.set(rate_5xx=1.0, status_5xx=503)
    r = s.get(sb.url + SEARCH, params={"jql": "project = SEC"})
    assert r.status_code == 503 and r.headers["Retry-After"] == "1" and r.json()["errorMessages"]
    sb.faults.set(status_5xx=500)
    assert s.get(sb.url + SEARCH, params={"jql": "project = SEC"}).status_code == 500
    sb.faults.clear()
    assert s.get(sb.url + SEARCH, params={"jql": "project = SEC"}).status_code == 200


def test_slow_responses_cause_client_timeouts(sb, s):
    sb.faults.set(delay_seconds=0.5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        s.get(f"{sb.url}/rest/api/3/myself", timeout=0.15)
    sb.faults.clear()
    assert s.get(f"{sb.url}/rest/api/3/myself", timeout=2).status_code == 200


def test_auth_faults_401_and_403(sb, s):
    sb.faults.set(rate_401=1.0)
    assert s.get(f"{sb.url}/rest/api/3/myself").status_code == 401
    sb.faults.set(rate_401=0, rate_403=1.0)
    r = s.get(f"{sb.url}/rest/api/3/issue/SEC-1")
    assert r.status_code == 403 and r.json()["errorMessages"]
    sb.faults.clear()
    assert s.get(f"{sb.url}/rest/api/3/issue/SEC-1").status_code == 200


def test_faults_over_the_admin_http_api(sb, s):
    assert requests.patch(f"{sb.url}/_sandbox/faults", json={"rate_429": 1, "search_lag_seconds": 3}).status_code == 200
    assert s.get(f"{sb.url}/rest/api/3/myself").status_code == 429
    assert requests.get(f"{sb.url}/_sandbox/faults").json()["search_lag_seconds"] == 3
    assert requests.put(f"{sb.url}/_sandbox/faults", json={"bogus": 1}).status_code == 400
    assert requests.delete(f"{sb.url}/_sandbox/faults").status_code == 200
    assert s.get(f"{sb.url}/rest/api/3/myself").status_code == 200


def test_malformed_records(sb, s):
    sb.faults.set(rate_malformed=0.5)
    issues = s.get(sb.url + SEARCH, params={"jql": "project = ENG", "fields": "*all", "maxResults": 100}).json()
    bad = [i for i in issues["issues"] if i["id"] is None or i["fields"].get("summary") is None
           or i["fields"].get("updated", "").startswith("2026-13") or i["fields"].get("customfield_10016") == "five"]
    assert 0 < len(bad) < len(issues["issues"])
    sb.faults.clear()
    issues = s.get(sb.url + SEARCH, params={"jql": "project = ENG", "fields": "*all", "maxResults": 100}).json()
    assert all(i["id"] and i["fields"]["summary"] for i in issues["issues"])


def test_records_change_while_paging(sb, s):
    before = len([i for i in sb.store.issues.values() if i.project == "ENG"])
    sb.faults.set(touch_per_page=3)
    rows = page_through(s, sb, "project = ENG ORDER BY updated ASC")
    ids = [r["id"] for r in rows]
    assert len(ids) > len(set(ids)) == before  # touched issues move behind the cursor and come again
    sb.faults.clear()
    rows = page_through(s, sb, "project = ENG ORDER BY updated ASC")
    assert len(rows) == len({r["id"] for r in rows}) == before


def test_records_deleted_while_paging_and_between_syncs(sb, s):
    start = {str(i.id) for i in sb.store.issues.values()}
    sb.faults.set(delete_per_page=1)
    rows = page_through(s, sb, "project in (SEC, GRC, ENG) ORDER BY key")
    sb.faults.clear()
    assert len(sb.store.issues) < len(start) and len(rows) < len(start)
    # between syncs: an incremental `updated >=` query cannot see deletions, an id census can
    checkpoint = sb.store.now_ms()
    gone = sb.delete(["SEC-2", "GRC-2"])
    assert gone == ["SEC-2", "GRC-2"]
    delta = s.get(sb.url + SEARCH, params={"jql": f"updated >= {checkpoint}"}).json()
    assert delta["issues"] == []
    census = s.get(sb.url + SEARCH, params={"jql": "project in (SEC, GRC, ENG)", "maxResults": 5000}).json()
    alive = {i["id"] for i in census["issues"]}
    deleted = {str(i) for i in sb.store.deleted}
    assert alive == {str(i) for i in sb.store.issues} and not alive & deleted
    assert len(start - alive) == len(deleted)
    assert s.get(f"{sb.url}/rest/api/3/issue/SEC-2").status_code == 404
    assert all(k not in {i.key for i in sb.store.issues.values()} for k in gone)


def test_eventual_consistency_lag_in_search(sb, s):
    sb.faults.set(search_lag_seconds=0.6)
    key = s.post(f"{sb.url}/rest/api/3/issue", json={"fields": {
        "project": {"key": "SEC"}, "issuetype": {"name": "Task"}, "summary": "lagging"}}).json()["key"]
    assert s.get(f"{sb.url}/rest/api/3/issue/{key}").status_code == 200  # GET sees it at once
    query = {"jql": f"key = {key} OR summary ~ lagging", "fields": "summary"}
    assert s.get(sb.url + SEARCH, params=query).json()["issues"] == []  # search does not, yet
    issue_id = s.get(f"{sb.url}/rest/api/3/issue/{key}").json()["id"]
    reconciled = s.get(sb.url + SEARCH, params={**query, "reconcileIssues": issue_id}).json()["issues"]
    assert [i["key"] for i in reconciled] == [key]  # read-after-write via reconcileIssues
    time.sleep(0.7)
    assert [i["key"] for i in s.get(sb.url + SEARCH, params=query).json()["issues"]] == [key]
    # an update is searchable only after the lag; until then search serves the old version
    s.put(f"{sb.url}/rest/api/3/issue/{key}", json={"fields": {"labels": ["late"]}})
    assert s.get(sb.url + SEARCH, params={"jql": "labels = late"}).json()["issues"] == []
    sb.faults.clear()
    time.sleep(0.7)
    assert len(s.get(sb.url + SEARCH, params={"jql": "labels = late"}).json()["issues"]) == 1
    # with the lag off, writes are searchable immediately
    s.put(f"{sb.url}/rest/api/3/issue/{key}", json={"fields": {"labels": ["now"]}})
    assert len(s.get(sb.url + SEARCH, params={"jql": "labels = now"}).json()["issues"]) == 1


def test_empty_pages_with_a_token(sb, s):
    expected = {str(i.id) for i in sb.store.issues.values() if i.project == "SEC"}
    sb.faults.set(empty_page_rate=0.5)
    rows = page_through(s, sb, "project = SEC ORDER BY key", page=5)
    assert {r["id"] for r in rows} == expected and len(rows) == len(expected)
    log = [e for e in sb.request_log if e["path"] == SEARCH]
    assert len(log) > len(expected) // 5 + 1  # some pages came back empty
    sb.faults.clear()


def test_token_expiry_action(sb):
    from .test_jira_auth import bearer, gateway, login

    tokens = login(sb)
    assert requests.get(gateway(sb, "/myself"), headers=bearer(tokens["access_token"])).status_code == 200
    sb.faults.set(expire_tokens=True)
    assert requests.get(gateway(sb, "/myself"), headers=bearer(tokens["access_token"])).status_code == 401


def test_burst_limit(make_jira_sandbox):
    sb = make_jira_sandbox(size=10, burst_limit=3)
    with session_for(sb) as s:
        codes = [s.get(f"{sb.url}/rest/api/3/myself").status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200] and codes[3] == 429
        time.sleep(1.05)
        assert s.get(f"{sb.url}/rest/api/3/myself").status_code == 200
