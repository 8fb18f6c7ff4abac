"""Approve/Deny clicked in the Slack sandbox reach the product's real receiver over HTTP, as Slack sends
them: the sandbox finds the button on the approval request the product posted, signs Slack's
block_actions form payload and POSTs it; the inbox consumer then applies the decision."""

from __future__ import annotations

import json
import logging
import time
from types import SimpleNamespace
from urllib.parse import quote

from assets.notifications.messages import APPROVE_ACTION, DENY_ACTION, OPEN_LINK_ACTION
from resources.warehouse import WarehouseResource
from tests.notify_helpers import APPROVER, make_tasks, send_approval
from tests.webhook_helpers import SECRETS, SLACK_ACTIONS, LiveReceiver, inbox_rows, settings_for
from webhooks.app import create_app
from webhooks.inbox import EventQueue, open_database
from webhooks.processing import process


def test_a_click_the_sandbox_sends_lands_as_the_tasks_decision_and_a_forged_one_is_refused(
        approval, tmp_path, monkeypatch):
    slack, message, approver = approval
    _handler_env(slack, monkeypatch)
    settings = settings_for(tmp_path)
    with LiveReceiver(create_app(settings)) as served:
        slack.configure_interactivity(served.url + SLACK_ACTIONS, SECRETS["slack"])
        denied = slack.click(message["channel"], message["ts"], DENY_ACTION, user=approver)
        assert (denied["ok"], denied["status"], denied["error"]) == (True, 200, None), denied["body"]
        slack.configure_interactivity(signing_secret="a-secret-the-receiver-does-not-know")
        forged = slack.click(message["channel"], message["ts"], APPROVE_ACTION, user=approver)
        assert (forged["ok"], forged["status"], forged["error"]) == (False, 401, "http_error")
    # the genuine click is in the inbox; the forged one was refused before it got in
    assert inbox_rows(settings, "select source, event_type from webhook_events") == [
        ("slack", "interaction:block_actions")]
    assert inbox_rows(settings, "select endpoint, reason from webhook_rejections") == [
        ("slack_interactions", "bad_signature")]

    db = open_database(settings)
    try:
        result = process(EventQueue(db), lambda key: None)  # what the webhook_inbox sensor runs
    finally:
        db.close()
    assert (result.done, result.failed, result.runs) == (1, 0, [])
    with WarehouseResource.from_env().connect() as conn:
        assert conn.scalar("select status from marts.tasks where task_id = 'task-1'") == "closed"
        [decision] = conn.query("select * from notifications.task_decisions")
    assert (decision["task_id"], decision["decision"], decision["decided_by"]) == ("task-1", "denied", "approver")
    assert (decision["slack_channel"], decision["message_ts"]) == (message["channel"], message["ts"])
    assert decision["action_ts"] == denied["payload"]["actions"][0]["action_ts"]


def _buttons(slack, message) -> list[str]:
    """The action ids of the buttons the message shows now (after any chat.update)."""
    [kept] = [m for m in slack.messages(message["channel"]) if m["ts"] == message["ts"] and not m.get("ephemeral")]
    return [e.get("action_id") for b in kept["message"].get("blocks") or [] if b.get("type") == "actions"
            for e in b.get("elements") or []]


def _handler_env(slack, monkeypatch) -> None:
    """The inbox handler's Slack client (who clicked, the feedback) on the sandbox's bot token."""
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.bot_token)
    monkeypatch.setenv("SLACK_API_URL", slack.url + "/api/")


def _clicks_through_the_receiver(slack, tmp_path, monkeypatch, *clicks) -> list[dict]:
    """Each (message, action_id, user) clicked in the sandbox, delivered to a live receiver, then
    processed by the inbox consumer; returns what the sandbox reported per click."""
    _handler_env(slack, monkeypatch)
    settings = settings_for(tmp_path)
    with LiveReceiver(create_app(settings)) as served:
        slack.configure_interactivity(served.url + SLACK_ACTIONS, SECRETS["slack"])
        sent = [slack.click(m["channel"], m["ts"], action_id, user=user) for m, action_id, user in clicks]
    assert all(s["ok"] for s in sent), [s["body"] for s in sent]
    db = open_database(settings)
    try:
        result = process(EventQueue(db), lambda key: None)
    finally:
        db.close()
    assert (result.done, result.failed) == (len(clicks), 0)
    return sent


def test_a_decision_replaces_the_requests_buttons_with_who_decided(approval, tmp_path, monkeypatch):
    slack, message, approver = approval
    assert {APPROVE_ACTION, DENY_ACTION} <= set(_buttons(slack, message))
    _clicks_through_the_receiver(slack, tmp_path, monkeypatch, (message, APPROVE_ACTION, approver))
    assert not {APPROVE_ACTION, DENY_ACTION} & set(_buttons(slack, message)), "nobody clicks a decided request"
    [kept] = [m for m in slack.messages(message["channel"]) if m["ts"] == message["ts"]]
    shown = json.dumps(kept["message"]["blocks"])
    # The decider by username and Slack user id (a mention): two people may share a username.
    assert f"Approved by approver (<@{approver}>): task task-1 is open." in shown and kept["message"].get("edited")
    assert "Renew the evidence of task-1" in shown, "the request itself stays as it was sent"
    assert [b["type"] for b in kept["message"]["blocks"]][-1] == "context", "runbook and correlation id stay last"


def test_a_refused_click_is_told_why_in_private_and_the_request_keeps_its_buttons(approval, tmp_path, monkeypatch):
    slack, message, _ = approval
    outsider = slack.add_user("outsider@projectx.io", "Olly Outsider")
    _clicks_through_the_receiver(slack, tmp_path, monkeypatch, (message, APPROVE_ACTION, outsider))
    with WarehouseResource.from_env().connect() as conn:
        assert conn.scalar("select status from marts.tasks where task_id = 'task-1'") == "open"
    assert {APPROVE_ACTION, DENY_ACTION} <= set(_buttons(slack, message))
    [reply] = [m for m in slack.messages(message["channel"]) if m.get("ephemeral")]
    assert reply["ephemeral_user"] == outsider and reply["via"] == "chat.postEphemeral"
    assert "task-1 changed nothing" in reply["text"] and "outsider@projectx.io is not an approver" in reply["text"]


def test_a_click_on_the_open_link_is_finished_quietly(make_slack_sandbox, duckdb_warehouse, tmp_path, monkeypatch,
                                                       caplog):
    slack = make_slack_sandbox()
    monkeypatch.setenv("PROJECTX_SLACK_APPROVERS", APPROVER)
    make_tasks("task-2")
    message = send_approval(slack, "task-2", link_url="https://projectx.example/tasks/task-2")
    approver = slack.add_user(APPROVER, "Amelia Hart")
    assert OPEN_LINK_ACTION in _buttons(slack, message)
    with caplog.at_level(logging.WARNING, logger="webhooks"):
        _clicks_through_the_receiver(slack, tmp_path, monkeypatch, (message, OPEN_LINK_ACTION, approver))
    assert not [r for r in caplog.records if "not applied" in r.getMessage()]
    assert {APPROVE_ACTION, DENY_ACTION} <= set(_buttons(slack, message)), "a link click decides nothing"


class _RecordingSlack:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    def call(self, method: str, **kwargs) -> dict:
        self.calls.append((method, kwargs))
        return {"ok": True}


def test_a_decision_never_writes_another_messages_blocks_into_the_request():
    """Only the container was checked against the ledger: the payload's message must be that very one."""
    from webhooks.slack.actions import _mark_decided

    request = {"type": "actions", "elements": [{"type": "button", "action_id": APPROVE_ACTION, "value": "task-1"}]}
    other = {"type": "section", "text": {"type": "mrkdwn", "text": "<https://evil.example|click me>"}}
    payload = {"container": {"channel_id": "C1", "message_ts": "1700000000.000100"},
               "message": {"ts": "1700000000.000200", "blocks": [other, request]}}
    slack = _RecordingSlack()
    _mark_decided(slack, payload, "Approved by a: task task-1 is open.")
    assert slack.calls == []
    payload["message"]["ts"] = "1700000000.000100"
    _mark_decided(slack, payload, "Approved by a: task task-1 is open.")
    [(method, args)] = slack.calls
    assert (method, args["channel"], args["ts"]) == ("chat.update", "C1", "1700000000.000100")


def test_a_click_handed_over_again_after_a_failed_update_fixes_the_message(approval, tmp_path, monkeypatch):
    """The decision commits before chat.update: when Slack fails the update, the inbox handing the
    same click over again (after a crash, say) still ends with the request showing who decided."""
    from webhooks.slack.actions import apply_slack_action

    slack, message, approver = approval
    slack.set_method_error("chat.update", "internal_error")
    [sent] = _clicks_through_the_receiver(slack, tmp_path, monkeypatch, (message, APPROVE_ACTION, approver))
    assert {APPROVE_ACTION, DENY_ACTION} <= set(_buttons(slack, message)), "Slack refused the update"
    with WarehouseResource.from_env().connect() as conn:
        assert conn.scalar("select decision from notifications.task_decisions where task_id = 'task-1'") == "approved"
    slack.set_method_error("chat.update", None)
    apply_slack_action(SimpleNamespace(body="payload=" + quote(json.dumps(sent["payload"])), delivery_id="again"))
    assert not {APPROVE_ACTION, DENY_ACTION} & set(_buttons(slack, message))


def test_a_long_rate_limit_refuses_the_click_instead_of_stalling_the_inbox(approval, tmp_path, monkeypatch):
    """The click's Slack calls run in the inbox sensor's tick: a 429 asking for a minute is not waited
    out; the lookup fails, the click is refused (the person clicks again) and the handler returns."""
    from webhooks.slack.actions import MAX_RETRY_AFTER_S, apply_slack_action

    slack, message, approver = approval
    _handler_env(slack, monkeypatch)
    slack.configure_interactivity("http://127.0.0.1:9/unused", SECRETS["slack"])  # the payload is what counts
    payload = slack.click(message["channel"], message["ts"], APPROVE_ACTION, user=approver)["payload"]
    slack.faults.set(rate_429=1.0, retry_after=int(MAX_RETRY_AFTER_S * 12))
    started = time.monotonic()
    apply_slack_action(SimpleNamespace(body="payload=" + quote(json.dumps(payload)), delivery_id="limited"))
    assert time.monotonic() - started < MAX_RETRY_AFTER_S * 6, "the handler waited out Slack's minute"
    slack.faults.clear()
    with WarehouseResource.from_env().connect() as conn:
        assert conn.scalar("select status from marts.tasks where task_id = 'task-1'") == "open"
        [refused] = conn.query("select detail from audit.events where operation = 'task_decision_refused'")
    assert "rate limited" in str(refused["detail"])


def test_kill_dash_nine_between_the_decision_and_chat_update_then_the_inbox_finishes_it(
        approval, tmp_path, monkeypatch):
    """A real crash, not an injected error: the inbox consumer runs in its own process and is killed with
    SIGKILL while Slack holds its chat.update open (the decision is committed, the request still shows its
    buttons). The click stays in the inbox; the next consumer pass records nothing twice and fixes the
    message."""
    import os
    import signal
    import subprocess
    import sys
    import threading

    from sandbox.core.faults import Decision

    slack, message, approver = approval
    _handler_env(slack, monkeypatch)
    settings = settings_for(tmp_path)
    with LiveReceiver(create_app(settings)) as served:
        slack.configure_interactivity(served.url + SLACK_ACTIONS, SECRETS["slack"])
        assert slack.click(message["channel"], message["ts"], APPROVE_ACTION, user=approver)["ok"]

    arrived, release, real_decide = threading.Event(), threading.Event(), slack.faults.decide

    def hold_the_update(auth_faults: bool = True, method: str = "", path: str = "") -> Decision:
        if path.endswith("/chat.update"):  # Slack has the request; its answer never reaches the killed process
            arrived.set()
            release.wait(60)
            return Decision(status=503)
        return real_decide(auth_faults, method, path)

    monkeypatch.setattr(slack.faults, "decide", hold_the_update)
    consumer = ("import sys; from pathlib import Path; from tests.webhook_helpers import settings_for; "
                "from webhooks.inbox import EventQueue, open_database; from webhooks.processing import process; "
                "process(EventQueue(open_database(settings_for(Path(sys.argv[1])))), lambda key: None)")
    proc = subprocess.Popen([sys.executable, "-c", consumer, str(tmp_path)], cwd=os.getcwd(), env=dict(os.environ))
    try:
        deadline = time.monotonic() + 120
        while not arrived.wait(0.2):
            assert proc.poll() is None, f"the consumer exited ({proc.returncode}) before chat.update"
            assert time.monotonic() < deadline, "the consumer never reached chat.update"
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()  # never leave it holding the warehouse and the inbox for the next tests
        try:
            proc.wait(timeout=30)
        finally:
            release.set()
    assert proc.returncode == -signal.SIGKILL
    monkeypatch.setattr(slack.faults, "decide", real_decide)

    with WarehouseResource.from_env().connect() as conn:
        assert conn.scalar("select count(*) from notifications.task_decisions") == 1, "committed before Slack"
    assert {APPROVE_ACTION, DENY_ACTION} <= set(_buttons(slack, message)), "the update never landed"
    assert inbox_rows(settings, "select status from webhook_events") == [("pending",)], "the click is not lost"

    db = open_database(settings)
    try:
        result = process(EventQueue(db), lambda key: None)
    finally:
        db.close()
    assert (result.done, result.failed) == (1, 0)
    assert inbox_rows(settings, "select status from webhook_events") == [("done",)]
    assert not {APPROVE_ACTION, DENY_ACTION} & set(_buttons(slack, message)), "the replay fixed the message"
    with WarehouseResource.from_env().connect() as conn:
        assert conn.query("select task_id, decision from notifications.task_decisions") == [
            {"task_id": "task-1", "decision": "approved"}]
        assert conn.scalar("select count(*) from audit.events where operation = 'task_approved'") == 1
