"""Round 29: a Jira webhook event for Project X's own write (made as the integration account) starts no sync.

Every push's create, update, close or comment made Jira send ``jira:issue_*`` / ``comment_*`` events, each of
which started one more whole ``jira_sync`` (ingest, dbt, push); a field that never settled would have pushed
and synced at webhook speed. The account is asked of Jira (``/myself``) once an hour; when Jira cannot be
asked, nothing is taken for an echo."""

from __future__ import annotations

import json

import pytest

from resources import jira as jira_resource
from tests.conftest import jira_env
from tests.webhook_helpers import settings_for
from webhooks.inbox import EventQueue, InboxWriter, open_database
from webhooks.processing import process


@pytest.fixture
def jira(make_jira_sandbox, monkeypatch):
    sb = make_jira_sandbox(size=5)
    jira_env(monkeypatch, sb)
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    monkeypatch.setenv("PROJECTX_ENV", "local")
    monkeypatch.setattr(jira_resource, "_ACCOUNT", {})
    return sb


def _myself(sb) -> str:
    import requests

    creds = sb.credentials
    answer = requests.get(f"{sb.url}/rest/api/3/myself", auth=(creds["email"], creds["api_token"]), timeout=10,
                          verify=sb.ca_bundle or True)
    return answer.json()["accountId"]


def _events(tmp_path, *bodies):
    settings = settings_for(tmp_path)
    writer = InboxWriter(settings)
    for n, (event_type, body) in enumerate(bodies):
        assert writer.add_event("jira", f"d-{n}", event_type, json.dumps(body), 0.0).result(10)
    writer.close()
    return EventQueue(open_database(settings), base_backoff=60)


def test_our_own_writes_start_no_sync_and_others_do(jira, tmp_path):
    me, person = _myself(jira), "5b10ac8d82e05b22cc7d4ef5"
    queue = _events(tmp_path,
                    ("jira:issue_updated", {"webhookEvent": "jira:issue_updated", "user": {"accountId": me}}),
                    ("comment_created", {"webhookEvent": "comment_created", "user": {"accountId": person},
                                         "comment": {"author": {"accountId": me}}}),
                    ("comment_updated", {"webhookEvent": "comment_updated", "comment": {
                        "author": {"accountId": me}, "updateAuthor": {"accountId": person}}}),
                    ("jira:issue_created", {"webhookEvent": "jira:issue_created", "user": {"accountId": person}}),
                    ("comment_deleted", {"webhookEvent": "comment_deleted", "user": {"accountId": person},
                                         "comment": {"author": {"accountId": me}}}),  # a person deleted ours
                    ("jira:issue_updated", {"webhookEvent": "jira:issue_updated"}))  # no author: never an echo
    jira.clear_request_log()
    result = process(queue, lambda key: None, now=1000.0)
    assert result.ignored == 2
    assert [(r.job_name, len(r.seqs)) for r in result.runs] == [("jira_sync", 4)]
    asked = [r for r in jira.request_log if r["path"].endswith("/myself")]
    assert len(asked) == 1  # asked once for the pass (and the hour), not per event
    reasons = [r[0] for r in queue.db.execute("select last_error from webhook_events where status = 'ignored'")]
    assert len(reasons) == 2 and all("echo of Project X's own write" in r for r in reasons)


def test_a_jira_that_cannot_be_asked_lets_every_event_through(jira, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("JIRA_API_TOKEN", "wrong-token")  # /myself answers 401: no account known
    me = _myself(jira)
    queue = _events(tmp_path, ("jira:issue_updated", {"user": {"accountId": me}}),
                    ("jira:issue_updated", {"user": {"accountId": me}}))
    result = process(queue, lambda key: None, now=1000.0)
    assert result.ignored == 0 and [len(r.seqs) for r in result.runs] == [2]
    assert "wrong-token" not in caplog.text
    assert sum(r["path"].endswith("/myself") for r in jira.request_log) >= 1
    before = sum(r["path"].endswith("/myself") for r in jira.request_log)
    process(_events(tmp_path / "again", ("jira:issue_updated", {"user": {"accountId": me}})), lambda k: None,
            now=1000.0)
    assert sum(r["path"].endswith("/myself") for r in jira.request_log) == before  # not asked again for 5 min
