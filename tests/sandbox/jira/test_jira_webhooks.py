"""Admin webhooks: registration, signed deliveries (X-Hub-Signature sha256 HMAC), retries, JQL filters."""

from __future__ import annotations

import hashlib
import hmac
import json

from .helpers import Receiver, session_for

SECRET = "s3cr3t-webhook"


def register(s, sb, url: str, **extra) -> dict:
    body = {"name": "sync", "url": url, "events": ["jira:issue_created", "jira:issue_updated", "jira:issue_deleted"],
            "secret": SECRET, **extra}
    r = s.post(f"{sb.url}/rest/webhooks/1.0/webhook", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def verify(call: dict) -> dict:
    signature = call["headers"]["X-Hub-Signature"]
    expected = "sha256=" + hmac.new(SECRET.encode(), call["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    return json.loads(call["body"])


def test_signed_payloads_for_create_update_delete(make_jira_sandbox):
    sb = make_jira_sandbox(size=30, webhook_backoff_seconds=0.01)
    with Receiver() as rx, session_for(sb) as s:
        hook = register(s, sb, rx.url)
        listed = s.get(f"{sb.url}/rest/webhooks/1.0/webhook").json()
        assert [h["self"] for h in listed] == [hook["self"]] and "secret" not in listed[0]
        key = s.post(f"{sb.url}/rest/api/2/issue", json={"fields": {
            "project": {"key": "SEC"}, "issuetype": {"name": "Task"}, "summary": "hooked"}}).json()["key"]
        assert s.put(f"{sb.url}/rest/api/2/issue/{key}", json={"fields": {"summary": "hooked v2"}}).status_code == 204
        assert s.delete(f"{sb.url}/rest/api/2/issue/{key}").status_code == 204
        assert sb.wait_for_webhooks(5)
        payloads = [verify(c) for c in rx.calls]
    assert [p["webhookEvent"] for p in payloads] == ["jira:issue_created", "jira:issue_updated", "jira:issue_deleted"]
    created, updated, deleted = payloads
    assert created["issue"]["key"] == key and created["user"]["accountId"] == sb.store.me.account_id
    assert isinstance(created["timestamp"], int)
    assert updated["changelog"]["items"][0]["field"] == "summary"
    assert updated["changelog"]["items"][0]["toString"] == "hooked v2"
    assert deleted["issue"]["fields"]["summary"] == "hooked v2"  # pre-delete state
    headers = rx.calls[0]["headers"]
    assert headers["X-Atlassian-Webhook-Flow"] == "Primary" and headers["X-Atlassian-Webhook-Identifier"]
    assert "X-Atlassian-Webhook-Retry" not in headers


def test_retries_on_500_with_the_same_identifier(make_jira_sandbox):
    sb = make_jira_sandbox(size=30, webhook_attempts=3, webhook_backoff_seconds=0.01)
    with Receiver(statuses=[500, 503]) as rx, session_for(sb) as s:
        register(s, sb, rx.url)
        sb.touch(1)
        assert sb.wait_for_webhooks(5)
        calls = list(rx.calls)
    assert len(calls) == 3
    assert len({c["headers"]["X-Atlassian-Webhook-Identifier"] for c in calls}) == 1
    assert [c["headers"].get("X-Atlassian-Webhook-Retry") for c in calls] == [None, "1", "2"]
    assert all(verify(c)["webhookEvent"] == "jira:issue_updated" for c in calls)
    log = sb.webhook_deliveries
    assert [d["status"] for d in log] == [500, 503, 200] and [d["attempt"] for d in log] == [1, 2, 3]


def test_gives_up_after_attempts_and_does_not_retry_client_errors(make_jira_sandbox):
    sb = make_jira_sandbox(size=30, webhook_attempts=2, webhook_backoff_seconds=0.01)
    with Receiver(statuses=[500, 500, 500, 400]) as rx, session_for(sb) as s:
        register(s, sb, rx.url)
        sb.touch(1)
        sb.touch(1)
        assert sb.wait_for_webhooks(5)
    assert [d["status"] for d in sb.webhook_deliveries] == [500, 500, 500, 400]
    admin = session_for(sb).get(f"{sb.url}/_sandbox/jira/deliveries").json()["deliveries"]
    assert len(admin) == 4


def test_jql_filter_and_unregister(make_jira_sandbox):
    sb = make_jira_sandbox(size=30, webhook_backoff_seconds=0.01)
    with Receiver() as rx, session_for(sb) as s:
        hook = register(s, sb, rx.url, filters={"issue-related-events-section": "project = GRC"})
        for project in ("SEC", "GRC"):
            s.post(f"{sb.url}/rest/api/3/issue", json={"fields": {
                "project": {"key": project}, "issuetype": {"name": "Task"}, "summary": "filtered"}})
        assert sb.wait_for_webhooks(5)
        assert [verify(c)["issue"]["fields"]["project"]["key"] for c in rx.calls] == ["GRC"]
        assert s.delete(hook["self"]).status_code == 204
        sb.create_issue({"project": "GRC", "issuetype": "Task", "summary": "after delete"})
        assert sb.wait_for_webhooks(5)
        assert len(rx.calls) == 1
        bad = s.post(f"{sb.url}/rest/webhooks/1.0/webhook", json={"url": rx.url, "events": ["jira:issue_created"],
                                                                  "filters": {"issue-related-events-section": "x ="}})
        assert bad.status_code == 400
