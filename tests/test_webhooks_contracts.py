"""Every payload contract against the sandbox's real deliveries, over real HTTP into the served receiver."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import requests

from sandbox.partner import PartnerSender
from tests.webhook_helpers import (
    GENERIC,
    JIRA,
    SECRETS,
    SERVICENOW,
    SLACK_ACTIONS,
    SLACK_EVENTS,
    LiveReceiver,
    inbox_rows,
    settings_for,
)
from webhooks import contracts
from webhooks.app import create_app


def test_every_contract_holds_for_the_sandboxes_real_deliveries(tmp_path, make_servicenow_sandbox, make_jira_sandbox):
    settings = settings_for(tmp_path)
    checked: set[str] = set()
    with LiveReceiver(create_app(settings)) as receiver:
        # ServiceNow: outbound REST messages on incident/task changes, signed as the receiver documents
        sn = make_servicenow_sandbox(size=60)
        sn.outbound.register(receiver.url + SERVICENOW, SECRETS["servicenow"])
        incident = sn.records("incident")[0]
        sn.update("incident", incident["sys_id"], {"state": "2", "short_description": "disk full \u2013 ünïcode"})
        sn.touch("incident", 3)
        sn.insert("change_request", {"short_description": "patch the fleet"})
        sn.delete("incident", sn.records("incident")[-1]["sys_id"])
        # Jira: admin webhook with a secret; update, comment and delete
        jira = make_jira_sandbox(size=60)
        jira.webhooks.register({"name": "projectx", "url": receiver.url + JIRA, "secret": SECRETS["jira"],
                                "events": ["jira:issue_created", "jira:issue_updated", "jira:issue_deleted",
                                           "comment_created"]})
        keys = jira.touch(3)
        creds = jira.credentials
        resp = requests.post(f"{jira.url}/rest/api/2/issue/{keys[0]}/comment", json={"body": "evidence attached"},
                             auth=(creds["email"], creds["api_token"]), timeout=10)
        assert resp.status_code == 201, resp.text
        jira.delete([keys[1]])
        # Partners and Slack: the sandbox's generic sender
        partner = PartnerSender(receiver.url + GENERIC, SECRETS["generic"])
        assert partner.event("evidence.submitted", {"control": "AC-2", "uri": "s3://b/k"})[0] == 200
        slack = PartnerSender(receiver.url + SLACK_EVENTS, SECRETS["slack"], scheme="slack")
        assert slack.slack_event({"type": "app_mention", "text": "<@U1> status?", "user": "U2"}) == 200
        actions = PartnerSender(receiver.url + SLACK_ACTIONS, SECRETS["slack"], scheme="slack")
        assert actions.interaction({"type": "block_actions", "trigger_id": "13345224609.738474920.8088930838d",
                                    "user": {"id": "U2", "username": "risk.analyst"},
                                    "actions": [{"action_id": "task_approve", "value": "task-42"}]}) == 200
        assert sn.outbound.flush(30) and jira.webhooks.flush(30)
    sn_deliveries, jira_deliveries = list(sn.outbound.deliveries), list(jira.webhooks.deliveries)
    assert len(sn_deliveries) >= 6 and {d["status"] for d in sn_deliveries} == {200}
    assert {d["event"] for d in jira_deliveries} >= {"jira:issue_updated", "comment_created", "jira:issue_deleted"}
    assert {d["status"] for d in jira_deliveries} == {200}
    for d in sn_deliveries:
        assert contracts.validate("servicenow.record_change", json.loads(d["body"])) is None
        checked.add("servicenow.record_change")
    for d in jira_deliveries:
        assert contracts.validate("jira.issue_event", json.loads(d["body"])) is None
        checked.add("jira.issue_event")
    events = inbox_rows(settings, "select source, event_type, body from webhook_events")
    assert inbox_rows(settings, "select count(*) from webhook_quarantine") == [(0,)]
    by_source = {s for s, _, _ in events}
    assert by_source == {"servicenow", "jira", "generic", "slack"}
    for source, event_type, body in events:
        if source == "generic":
            assert contracts.validate("generic.event", json.loads(body)) is None
            checked.add("generic.event")
        elif event_type.startswith("event_callback"):
            assert contracts.validate("slack.event", json.loads(body)) is None
            checked.add("slack.event")
        elif event_type.startswith("interaction"):
            payload = json.loads(parse_qs(body)["payload"][0])
            assert contracts.validate("slack.interaction", payload) is None
            checked.add("slack.interaction")
    assert checked == set(contracts.NAMES)  # no contract goes unchecked


def test_contracts_are_valid_json_schema_and_reject_what_they_should():
    for name in contracts.NAMES:
        contracts.validator(name)  # raises on an invalid schema
    assert "at sys_id" in contracts.validate("servicenow.record_change", {
        "table": "incident", "sys_id": "not-an-id", "operation": "update", "sys_updated_on": "2026-12-02 10:00:00"})
    assert contracts.validate("slack.event", {"type": "event_callback", "event": {"type": "x"}})
    assert contracts.validate("generic.event", {"type": "NoDots", "timestamp": "2026-12-02T10:00:00Z", "data": {}})


def test_servicenow_retries_a_receiver_that_is_down_then_delivers_the_same_id(tmp_path, make_servicenow_sandbox):
    import socket

    settings = settings_for(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sn = make_servicenow_sandbox(size=30)
    sn.outbound.backoff_seconds = 0.05
    sn.outbound.register(f"http://127.0.0.1:{port}{SERVICENOW}", SECRETS["servicenow"])
    sn.touch("incident", 1)
    assert sn.outbound.flush(10)
    down = list(sn.outbound.deliveries)
    assert [d["attempt"] for d in down] == [1, 2, 3, 4] and all(d["error"] for d in down)
    assert len({d["identifier"] for d in down}) == 1
    with LiveReceiver(create_app(settings)) as receiver:
        sn.outbound.clear()
        sn.outbound.register(receiver.url + SERVICENOW, SECRETS["servicenow"])
        sn.touch("incident", 1)
        assert sn.outbound.flush(10)
    assert [d["status"] for d in sn.outbound.deliveries] == [200]
