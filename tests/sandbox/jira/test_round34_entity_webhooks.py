"""Round 34: admin webhooks for Jira Software's sprint events (`sprint_created`, `sprint_updated`,
`sprint_started`, `sprint_closed`, `sprint_deleted`) and the issue-related `worklog_created/updated/deleted` and
`attachment_created/deleted` (the shared reference's event list). Registering a hook for any of them was refused
("Unsupported webhook event(s)"), so "sprint completed" notifications and attachment mirroring could not be
driven. Now each change made through pycontribs `jira` is delivered, signed as the issue events are, as
`{"timestamp", "webhookEvent", "sprint" | "worklog" | "attachment": <its REST bean>}`; the hook's JQL filter
narrows worklog and attachment events by their issue."""

from __future__ import annotations

import hashlib
import hmac
import io
import json

import pytest
from jira import JIRA

from tests.sandbox.jira.helpers import Receiver, session_for

SECRET = "r34-sprint-secret"
SPRINT_EVENTS = ["sprint_created", "sprint_updated", "sprint_started", "sprint_closed", "sprint_deleted"]


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30, webhook_backoff_seconds=0.01)


def _events(rx: Receiver) -> list[dict]:
    out = []
    for call in rx.calls:
        expected = "sha256=" + hmac.new(SECRET.encode(), call["body"], hashlib.sha256).hexdigest()
        assert hmac.compare_digest(call["headers"]["X-Hub-Signature"], expected)
        out.append(json.loads(call["body"]))
    return out


def test_a_sprints_life_is_delivered_to_an_admin_webhook(sb):
    with Receiver() as rx, session_for(sb) as s:
        r = s.post(f"{sb.url}/rest/webhooks/1.0/webhook", json={
            "name": "sprints", "url": rx.url, "events": SPRINT_EVENTS, "secret": SECRET})
        assert r.status_code == 201, r.text
        pyc = JIRA(server=sb.url, basic_auth=(sb.credentials["email"], sb.credentials["api_token"]), max_retries=0)
        board = next(b.id for b in pyc.boards() if b.name == "SEC board")
        active = pyc.sprints(board, state="active")[0]
        pyc.update_sprint(active.id, name=active.name, startDate=active.startDate, endDate=active.endDate,
                          state="closed")
        new = pyc.create_sprint("r34 sprint", board)
        pyc.update_sprint(new.id, name="r34 sprint", goal="ship the sync")
        pyc.update_sprint(new.id, name="r34 sprint", startDate="2026-12-07T09:00:00.000Z",
                          endDate="2026-12-21T09:00:00.000Z", state="active", goal="ship the sync")
        spare = pyc.create_sprint("r34 spare", board)
        pyc.sprint(spare.id).delete()
        pyc.close()
        assert sb.wait_for_webhooks(5)
        events = _events(rx)
    assert [(e["webhookEvent"], e["sprint"]["name"]) for e in events] == [
        ("sprint_closed", active.name), ("sprint_created", "r34 sprint"), ("sprint_updated", "r34 sprint"),
        ("sprint_started", "r34 sprint"), ("sprint_created", "r34 spare"), ("sprint_deleted", "r34 spare")]
    closed, started = events[0]["sprint"], events[3]["sprint"]
    assert closed["state"] == "closed" and closed["completeDate"] and closed["id"] == active.id
    assert started["state"] == "active" and started["goal"] == "ship the sync" and started["originBoardId"] == board
    assert all(isinstance(e["timestamp"], int) for e in events)


def test_issue_hooks_do_not_get_sprint_events(sb):
    with Receiver() as rx, session_for(sb) as s:
        r = s.post(f"{sb.url}/rest/webhooks/1.0/webhook", json={
            "name": "issues", "url": rx.url, "events": ["jira:issue_updated"], "secret": SECRET})
        assert r.status_code == 201, r.text
        r = s.post(f"{sb.url}/rest/webhooks/1.0/webhook", json={
            "name": "closed only", "url": rx.url + "?only=closed", "events": ["sprint_closed"], "secret": SECRET})
        assert r.status_code == 201, r.text
        r = s.post(f"{sb.url}/rest/agile/1.0/sprint", json={"name": "quiet", "originBoardId": 1})
        assert r.status_code == 201, r.text
        assert sb.wait_for_webhooks(5)
        assert rx.calls == []


def test_worklog_and_attachment_events_follow_the_hooks_jql_filter(sb):
    with Receiver() as rx, session_for(sb) as s:
        r = s.post(f"{sb.url}/rest/webhooks/1.0/webhook", json={
            "name": "evidence", "url": rx.url + "/${issue.key}", "secret": SECRET,
            "events": ["worklog_created", "worklog_updated", "worklog_deleted", "attachment_created",
                       "attachment_deleted"], "filters": {"issue-related-events-section": "project = SEC"}})
        assert r.status_code == 201, r.text
        pyc = JIRA(server=sb.url, basic_auth=(sb.credentials["email"], sb.credentials["api_token"]), max_retries=0)
        w = pyc.add_worklog("SEC-3", timeSpent="1h", comment="evidence review")
        w.update(timeSpent="2h")
        w.delete()
        att = pyc.add_attachment("SEC-3", attachment=io.BytesIO(b"audit log"), filename="audit.txt")
        pyc.delete_attachment(att.id)
        pyc.add_worklog("GRC-1", timeSpent="1h")  # filtered out
        pyc.add_attachment("GRC-1", attachment=io.BytesIO(b"x"), filename="x.txt")
        pyc.close()
        assert sb.wait_for_webhooks(5)
        events, paths = _events(rx), [c["path"] for c in rx.calls]
    assert [e["webhookEvent"] for e in events] == ["worklog_created", "worklog_updated", "worklog_deleted",
                                                   "attachment_created", "attachment_deleted"]
    assert set(paths) == {"/hook/SEC-3"}
    created, updated = events[0]["worklog"], events[1]["worklog"]
    assert created["id"] == str(w.id) and created["timeSpentSeconds"] == 3600
    assert created["comment"] == "evidence review"
    assert updated["timeSpentSeconds"] == 7200 and events[2]["worklog"]["id"] == str(w.id)
    assert events[3]["attachment"]["filename"] == "audit.txt" and events[3]["attachment"]["size"] == 9
    assert events[4]["attachment"]["id"] == events[3]["attachment"]["id"]
