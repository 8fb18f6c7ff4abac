"""Dynamic webhooks of an OAuth 2.0 app (`/rest/api/3/webhook`), through atlassian-python-api with an OAuth 2.0
token on the gateway URL: register, list, deliver (JWT, `matchedWebhookIds`, `fieldIdsFilter`), refresh, expire,
delete; Basic callers are refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from atlassian.jira import JiraCloud
from requests import HTTPError

from tests.sandbox.jira.helpers import Receiver, jira_cloud
from tests.sandbox.jira.test_jira_auth import login

SCOPES = "read:jira-work write:jira-work manage:jira-webhook offline_access"


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30, webhook_backoff_seconds=0.01)


@pytest.fixture
def app(sb, monkeypatch) -> JiraCloud:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # oauthlib's documented switch for a plain-http server
    tok = login(sb, SCOPES)
    return JiraCloud(url=f"{sb.url}/ex/jira/{sb.credentials['cloud_id']}",
                oauth2={"client_id": sb.credentials["client_id"],
                        "token": {"access_token": tok["access_token"], "token_type": "Bearer"}})


def _claims(token: str, secret: str) -> dict:
    head, body, sig = token.split(".")
    want = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)) == want
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def test_register_list_deliver_refresh_delete(sb, app, atl):
    with Receiver() as rx:
        result = app.register_dynamic_webhooks(data={"url": rx.url, "webhooks": [
            {"events": ["jira:issue_created", "jira:issue_updated"], "jqlFilter": "project = SEC"},
            {"events": ["jira:issue_updated"], "jqlFilter": "project in (SEC, GRC)", "fieldIdsFilter": ["summary"]},
            {"events": ["jira:issue_created"], "jqlFilter": "watchers > 1"},
            {"events": ["sprint_started"], "jqlFilter": "project = SEC"}]})["webhookRegistrationResult"]
        first, second = result[0]["createdWebhookId"], result[1]["createdWebhookId"]
        assert result[2] == {"errors": ["The clause watchers is unsupported"]} and "errors" in result[3]
        listed = app.get_dynamic_webhooks_for_app()
        assert [(h["id"], h["jqlFilter"]) for h in listed["values"]] == [(first, "project = SEC"),
                                                                         (second, "project in (SEC, GRC)")]
        assert listed["values"][1]["fieldIdsFilter"] == ["summary"]
        assert atl.get("rest/webhooks/1.0/webhook") == []  # not admin webhooks

        issue = app.create_issue(data={"fields": {"project": {"key": "SEC"}, "summary": "new",
                                                  "issuetype": {"name": "Task"}}})
        app.edit_issue(issue["key"], data={"fields": {"labels": ["x"]}})  # not the summary: only the first matches
        app.edit_issue(issue["key"], data={"fields": {"summary": "renamed"}})  # both match: one delivery, both ids
        assert sb.wait_for_webhooks()
        bodies = [json.loads(c["body"]) for c in rx.calls]
        assert [(b["webhookEvent"], b["matchedWebhookIds"]) for b in bodies] == [
            ("jira:issue_created", [first]), ("jira:issue_updated", [first]),
            ("jira:issue_updated", [first, second])]
        headers = rx.calls[0]["headers"]
        assert "X-Hub-Signature" not in headers
        claims = _claims(headers["Authorization"].removeprefix("Bearer "), sb.credentials["client_secret"])
        assert (claims["iss"], claims["aud"]) == (sb.credentials["cloud_id"], sb.credentials["client_id"])

        expires = listed["values"][0]["expirationDate"]
        sb.advance_clock(3600)
        refreshed = app.refresh_webhooks(data={"webhookIds": [first, 999]})["expirationDate"]
        assert abs(refreshed - expires - 3600 * 1000) < 5000  # the sandbox clock also runs
        assert [h["expirationDate"] for h in app.get_dynamic_webhooks_for_app()["values"]] == \
            [refreshed, listed["values"][1]["expirationDate"]]
        sb.advance_clock(30 * 24 * 3600 - 1800)  # the second hook has expired, the first not yet
        rx.calls.clear()
        app.edit_issue(issue["key"], data={"fields": {"summary": "again"}})
        assert sb.wait_for_webhooks()
        assert [json.loads(c["body"])["matchedWebhookIds"] for c in rx.calls] == [[first]]

        app.delete_webhook_by_id(data={"webhookIds": [first, 12345]})
        assert [h["id"] for h in app.get_dynamic_webhooks_for_app()["values"]] == [second]
        with pytest.raises(HTTPError) as connect_only:
            app.get_failed_webhooks()
        assert connect_only.value.response.status_code == 403


def test_basic_auth_callers_are_not_apps(sb):
    atl = jira_cloud(sb)
    for call in (lambda: atl.get_dynamic_webhooks_for_app(),
                 lambda: atl.register_dynamic_webhooks(data={"url": "https://example.com/h", "webhooks": [
                     {"events": ["jira:issue_created"], "jqlFilter": "project = SEC"}]})):
        with pytest.raises(HTTPError) as refused:
            call()
        assert refused.value.response.status_code == 403
        assert refused.value.response.json()["errorMessages"]


def test_comment_updated_and_deleted_events(sb, app, pyc):
    with Receiver() as rx:
        [made] = app.register_dynamic_webhooks(data={"url": rx.url, "webhooks": [
            {"events": ["comment_created", "comment_updated", "comment_deleted"],
             "jqlFilter": "project = SEC"}]})["webhookRegistrationResult"]
        comment = pyc.add_comment("SEC-1", "first")
        comment.update(body="second")
        comment.delete()
        pyc.add_comment("ENG-1", "other project")
        assert sb.wait_for_webhooks()
        bodies = [json.loads(c["body"]) for c in rx.calls]
    assert [(b["webhookEvent"], b["comment"]["id"], b["matchedWebhookIds"]) for b in bodies] == [
        ("comment_created", comment.id, [made["createdWebhookId"]]),
        ("comment_updated", comment.id, [made["createdWebhookId"]]),
        ("comment_deleted", comment.id, [made["createdWebhookId"]])]
    assert bodies[1]["comment"]["body"] == "second"


def test_issue_property_events(sb, app, pyc):
    with Receiver() as rx:
        [made] = app.register_dynamic_webhooks(data={"url": rx.url, "webhooks": [
            {"events": ["issue_property_set", "issue_property_deleted"], "jqlFilter": "project = SEC",
             "issuePropertyKeysFilter": ["sync"]}]})["webhookRegistrationResult"]
        pyc.add_issue_property("SEC-1", "sync", {"at": 1})
        pyc.add_issue_property("SEC-1", "other", {"at": 2})  # not a key the hook asked for
        app.delete("rest/api/3/issue/SEC-1/properties/sync")
        assert sb.wait_for_webhooks()
        bodies = [json.loads(c["body"]) for c in rx.calls]
    assert [(b["webhookEvent"], b["property"], b["issue"]["key"], b["matchedWebhookIds"]) for b in bodies] == [
        ("issue_property_set", {"key": "sync", "value": {"at": 1}}, "SEC-1", [made["createdWebhookId"]]),
        ("issue_property_deleted", {"key": "sync"}, "SEC-1", [made["createdWebhookId"]])]
