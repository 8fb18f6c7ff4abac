"""Jira hard deletes with the default configuration (issue 18, class 5): the census is off, so a
deleted issue is marked by the ``jira:issue_deleted`` webhook, through ``mark_issues_deleted``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipelines.jira.deletions import mark_issues_deleted
from tests.conftest import jira_env
from tests.ingestion_harness import JIRA_ISSUES, assert_parity, marked_deleted, sql, sync


def test_webhook_deletes_end_in_parity_without_the_census(make_jira_sandbox, monkeypatch, duckdb_warehouse):
    sb = make_jira_sandbox(size=60)
    jira_env(monkeypatch, sb)
    monkeypatch.delenv("ENABLE_JIRA_DELTA_RECON", raising=False)
    events: list[dict] = []
    sb.store.listeners.append(lambda e: events.append(e) if e["webhookEvent"] == "jira:issue_deleted" else None)
    sync("jira", "cli")
    keys = [i["key"] for i in sb.issues(fields=["updated"])[:12]]
    sb.delete(keys)
    sb.sync_index()
    sync("jira", "cli")
    assert len(marked_deleted(duckdb_warehouse, JIRA_ISSUES)) == 0  # nothing else sees a Jira delete

    for event in events:  # what the webhook receiver's inbox processing does per event
        mark_issues_deleted([event["issue"].id], datetime.fromtimestamp(event["timestamp"] / 1000, UTC))
    mark_issues_deleted([events[0]["issue"].id], datetime.fromtimestamp(events[0]["timestamp"] / 1000, UTC))
    assert len(events) == 12
    assert_parity(sb, duckdb_warehouse, JIRA_ISSUES)
    rows = sql(duckdb_warehouse, "select detected_by, count(*) from jira.deletions group by 1")
    assert rows == [("webhook", 12)]
    sync("jira", "cli")  # the issue sync after it keeps them marked
    assert_parity(sb, duckdb_warehouse, JIRA_ISSUES)


def test_mark_issues_deleted_refuses_keys_and_naive_times(duckdb_warehouse):
    with pytest.raises(ValueError, match=r"issue\.id"):
        mark_issues_deleted(["PROJ-1"], datetime.now(UTC))
    with pytest.raises(ValueError, match="timezone-aware"):
        mark_issues_deleted(["10001"], datetime.now())
    assert mark_issues_deleted([], datetime.now(UTC)) == 0


def test_the_webhook_handler_form_marks_the_event_issue(duckdb_warehouse):
    """The receiver's handler registry passes an inbox event (``payload()`` = the Jira body)."""
    import json
    from types import SimpleNamespace

    body = {"webhookEvent": "jira:issue_deleted", "timestamp": 1764000000000, "issue": {"id": "10042", "key": "P-1"}}
    event = SimpleNamespace(payload=lambda: json.loads(json.dumps(body)), delivery_id="d-1", received_at=1.0)
    assert mark_issues_deleted(event) is None
    [(record_id, deleted_at, how, run_id)] = sql(
        duckdb_warehouse, "select record_id, deleted_at, detected_by, run_id from jira.deletions")
    assert (record_id, how, run_id) == ("10042", "webhook", "webhook:d-1")
    assert deleted_at.timestamp() == 1764000000


def test_jira_deletes_arrive_through_the_receiver_and_the_inbox(make_jira_sandbox, monkeypatch, duckdb_warehouse,
                                                                 tmp_path):
    """The whole path with the default configuration: the Jira emulator posts signed ``jira:issue_deleted``
    deliveries over HTTP to the running receiver, the inbox keeps them, processing runs the deletion
    handler, and the warehouse ends in parity (a redelivery changes nothing)."""
    import httpx

    from tests.webhook_helpers import SECRETS, LiveReceiver, settings_for
    from webhooks.app import create_app
    from webhooks.inbox import EventQueue, open_database
    from webhooks.processing import process

    sb = make_jira_sandbox(size=40)
    jira_env(monkeypatch, sb)
    monkeypatch.delenv("ENABLE_JIRA_DELTA_RECON", raising=False)
    monkeypatch.delenv("EMAIL_BRIDGE_ADDRESSES", raising=False)
    settings = settings_for(tmp_path)
    sync("jira", "cli")
    with LiveReceiver(create_app(settings)) as served:
        sb.webhooks.register({"name": "projectx", "url": served.url + "/api/integrations/jira/webhook",
                              "secret": SECRETS["jira"], "events": ["jira:issue_deleted"]})
        sb.delete([i["key"] for i in sb.issues(fields=["updated"])[:5]])
        assert sb.webhooks.flush(20)
        forged = httpx.post(served.url + "/api/integrations/jira/webhook", timeout=10, content=b'{"x": 1}',
                            headers={"content-type": "application/json", "X-Hub-Signature": "sha256=" + "0" * 64,
                                     "X-Atlassian-Webhook-Identifier": "forged-1"})
        assert forged.status_code == 401
    sb.sync_index()
    db = open_database(settings)
    try:
        queue = EventQueue(db, base_backoff=0)
        result = process(queue, lambda key: None)
        assert not result.errors, result.errors
        assert queue.dead_letters() == []
    finally:
        db.close()
    rows = sql(duckdb_warehouse, "select detected_by, count(*) from jira.deletions group by 1")
    assert rows == [("webhook", 5)]
    sync("jira", "cli")
    assert_parity(sb, duckdb_warehouse, JIRA_ISSUES)
