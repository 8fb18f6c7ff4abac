"""Round fourteen: bulk-create limit, `historyMetadata` in webhooks, and CAPTCHA after failed Basic logins, seen
through the vendor clients (`jira`, `atlassian-python-api`) and plain requests."""

from __future__ import annotations

import json

import pytest
import requests
from atlassian import Jira
from jira import JIRA
from jira.exceptions import JIRAError
from requests import HTTPError

from sandbox.jira import captcha
from tests.sandbox.jira.helpers import Receiver, session_for


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30, webhook_backoff_seconds=0.01)


def _task(n: int) -> dict:
    return {"fields": {"project": {"key": "SEC"}, "issuetype": {"name": "Task"}, "summary": f"bulk {n}"}}


# --- 1. bulk create: at most 50 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("ver", ["2", "3"])
def test_bulk_create_of_more_than_fifty_is_refused_whole(sb, s, ver):
    before = len(sb.store.issues)
    r = s.post(f"{sb.url}/rest/api/{ver}/issue/bulk", json={"issueUpdates": [_task(n) for n in range(51)]})
    assert r.status_code == 400 and r.json()["errorMessages"] and "50" in r.json()["errorMessages"][0]
    assert len(sb.store.issues) == before
    ok = s.post(f"{sb.url}/rest/api/{ver}/issue/bulk", json={"issueUpdates": [_task(n) for n in range(50)]})
    assert ok.status_code == 201 and len(ok.json()["issues"]) == 50 and ok.json()["errors"] == []


def test_bulk_create_limit_through_both_clients(sb, pyc, atl):
    fifty = [dict(_task(n)["fields"]) for n in range(50)]
    made = pyc.create_issues(fifty, prefetch=False)
    assert [m["status"] for m in made] == ["Success"] * 50
    with pytest.raises(HTTPError) as refused:
        atl.create_issues([_task(n) for n in range(51)])
    assert refused.value.response.status_code == 400


# --- 2. historyMetadata in the issue_updated webhook ---------------------------------------------------------------


def test_history_metadata_reaches_the_webhook_changelog(sb, atl):
    meta = {"type": "ci:sync", "description": "synced by CI", "actor": {"id": "ci", "type": "ci-bot"}}
    with Receiver() as rx, session_for(sb) as s:
        assert s.post(f"{sb.url}/rest/webhooks/1.0/webhook", json={
            "name": "h", "url": rx.url, "events": ["jira:issue_updated"]}).status_code == 201
        key = atl.issue_create(_task(0)["fields"])["key"]
        atl.issue_update(key, {"summary": "with metadata"}, history_metadata=meta)
        atl.issue_update(key, {"summary": "without"})
        assert sb.wait_for_webhooks(5)
        payloads = [json.loads(c["body"]) for c in rx.calls]
    with_meta, bare = [p["changelog"] for p in payloads]
    assert with_meta["historyMetadata"] == meta and with_meta["items"][0]["toString"] == "with metadata"
    assert "historyMetadata" not in bare and set(bare) == {"id", "items"}
    assert atl.get_issue_changelog(key)["values"][-2]["historyMetadata"] == meta


# --- 3. CAPTCHA after repeated failed Basic logins -----------------------------------------------------------------


def _bad(sb):
    return requests.get(f"{sb.url}/rest/api/3/myself", auth=(sb.credentials["email"].upper(), "wrong"))


def test_captcha_is_off_by_default(sb, s):
    assert all(_bad(sb).status_code == 401 for _ in range(6))
    assert s.get(f"{sb.url}/rest/api/3/myself").status_code == 200


def test_captcha_trips_after_consecutive_failures_and_denies_even_good_credentials(sb, s):
    sb.faults.set(captcha_after_failures=3)
    assert [_bad(sb).status_code for _ in range(2)] == [401, 401]
    assert s.get(f"{sb.url}/rest/api/3/myself").status_code == 200  # a good login starts the count again
    assert [_bad(sb).status_code for _ in range(3)] == [401, 401, 401]
    denied = s.get(f"{sb.url}/rest/api/3/myself")
    assert denied.status_code == 403 and denied.headers["X-Seraph-LoginReason"] == "AUTHENTICATION_DENIED"
    assert denied.headers["X-Authentication-Denied-Reason"] == f"CAPTCHA_CHALLENGE; login-url={sb.url}/login.jsp"
    assert s.get(f"{sb.url}/rest/api/3/serverInfo").status_code == 403  # anonymous routes refuse it too
    other = requests.get(f"{sb.url}/rest/api/3/serverInfo", auth=("someone@else.example", "x"))
    assert other.status_code == 200  # another name is not locked
    pat = requests.get(f"{sb.url}/rest/api/3/myself", headers={"Authorization": f"Bearer {sb.credentials['pat']}"})
    assert pat.status_code == 200
    login = requests.post(f"{sb.url}/rest/auth/1/session", json={
        "username": sb.credentials["email"], "password": sb.credentials["api_token"]})
    assert login.status_code == 403 and login.headers["X-Seraph-LoginReason"] == "AUTHENTICATION_DENIED"
    captcha.clear(sb)  # the browser login with the CAPTCHA answered
    assert s.get(f"{sb.url}/rest/api/3/myself").status_code == 200


def test_captcha_through_both_clients(sb):
    sb.faults.set(captcha_after_failures=2)
    creds = sb.credentials
    with pytest.raises(JIRAError) as failed:  # two failures: the constructor's serverInfo (200, anonymous) + this
        JIRA(server=sb.url, basic_auth=(creds["email"], "wrong"), max_retries=0).myself()
    assert failed.value.status_code == 401
    with pytest.raises(JIRAError) as denied:  # the constructor's serverInfo call is refused already
        JIRA(server=sb.url, basic_auth=(creds["email"], creds["api_token"]), max_retries=0)
    assert denied.value.status_code == 403 and denied.value.text.startswith("CAPTCHA_CHALLENGE; login-url=")
    atl = Jira(url=sb.url, username=creds["email"], password=creds["api_token"], cloud=True)
    with pytest.raises(HTTPError) as refused:
        atl.myself()
    assert refused.value.response.status_code == 403 and "CAPTCHA_CHALLENGE" in str(refused.value)
    sb.faults.set(captcha_after_failures=0)  # switching it off ends the lock
    assert atl.myself()["emailAddress"] == creds["email"]
