"""Round 19: the hostile clicker. Approve/Deny clicks an attacker, a stale client or two people at once
would send, through the Slack sandbox to the product's live receiver over loopback HTTP (signed as
Slack signs them), then handed over by the inbox consumer; or straight to the warehouse side where
only ordering is at stake. A click that must not decide leaves the task and its decisions untouched.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from assets.notifications.actions import SlackActionError, SlackActionRefused
from assets.notifications.actions import apply_slack_action as apply_to_warehouse
from assets.notifications.messages import APPROVE_ACTION, DENY_ACTION
from resources.warehouse import WarehouseResource
from tests.notify_helpers import APPROVER, click, slack_sender
from tests.webhook_helpers import SECRETS, SLACK_ACTIONS, LiveReceiver, settings_for
from webhooks.app import create_app
from webhooks.inbox import EventQueue, open_database
from webhooks.processing import process
from webhooks.slack.actions import apply_slack_action as inbox_handler

SECOND = "second.approver@projectx.io"


def _handler_env(slack, monkeypatch) -> None:
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.bot_token)
    monkeypatch.setenv("SLACK_API_URL", slack.url + "/api/")


def _through_receiver(slack, tmp_path, monkeypatch, *payloads):
    """Each payload signed and POSTed by the sandbox to a live receiver, then processed by the inbox
    consumer; returns (what the sandbox reported per payload, the consumer's result)."""
    _handler_env(slack, monkeypatch)
    settings = settings_for(tmp_path)
    with LiveReceiver(create_app(settings)) as served:
        slack.configure_interactivity(served.url + SLACK_ACTIONS, SECRETS["slack"])
        sent = [slack.interactivity.send(p) for p in payloads]
    db = open_database(settings)
    try:
        result = process(EventQueue(db), lambda key: None)
    finally:
        db.close()
    return sent, result


def _state(task_id: str = "task-1") -> tuple[str, str | None]:
    with WarehouseResource.from_env().connect() as conn:
        decided = conn.table_exists("notifications", "task_decisions") and \
            conn.scalar("select decision from notifications.task_decisions where task_id = %s", (task_id,))
        return conn.scalar("select status from marts.tasks where task_id = %s", (task_id,)), decided or None


def _audit(operation: str) -> int:
    with WarehouseResource.from_env().connect() as conn:
        return conn.scalar("select count(*) from audit.events where operation = %s", (operation,))


def _ephemerals(slack, message, user: str) -> list[str]:
    return [m["text"] for m in slack.messages(message["channel"])
            if m.get("ephemeral") and m.get("ephemeral_user") == user]


class _Catcher:
    """A loopback HTTP server that counts whatever is sent to it (an attacker's response_url)."""

    def __enter__(self):
        self.hits: list[str] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                hits.append(self.path)
                self.send_response(200)
                self.end_headers()

            do_GET = do_PUT = do_POST

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_an_outsider_is_refused_and_no_response_url_elsewhere_is_ever_called(approval, tmp_path, monkeypatch):
    slack, message, approver = approval
    outsider = slack.add_user("outsider@projectx.io", "Olly Outsider")
    with _Catcher() as catcher:
        hostile = {**click(message, APPROVE_ACTION, outsider, "1700000001.000100"),
                   "response_url": catcher.url + "/actions/T1/1/steal", "trigger_id": "1.2.outsider"}
        genuine = {**click(message, DENY_ACTION, approver, "1700000002.000100", username="amelia"),
                   "response_url": catcher.url + "/actions/T1/2/genuine", "trigger_id": "1.2.approver"}
        sent, result = _through_receiver(slack, tmp_path, monkeypatch, hostile, genuine)
    assert [s["status"] for s in sent] == [200, 200] and (result.done, result.failed) == (2, 0)
    assert catcher.hits == [], "the product answers through the Web API only, never a payload's response_url"
    assert _state() == ("closed", "denied")
    assert _audit("task_decision_refused") == 1 and _audit("task_denied") == 1
    [why] = _ephemerals(slack, message, outsider)
    assert "outsider@projectx.io is not an approver" in why


def test_a_click_replayed_with_a_fresh_signature_is_decided_once(approval, tmp_path, monkeypatch):
    slack, message, approver = approval
    payload = {**click(message, APPROVE_ACTION, approver, "1700000001.000100", username="amelia"),
               "trigger_id": "1.2.same"}
    sent, result = _through_receiver(slack, tmp_path, monkeypatch, payload, payload, payload)
    assert all(s["status"] == 200 for s in sent) and result.failed == 0
    assert _state() == ("open", "approved") and _audit("task_approved") == 1
    assert _ephemerals(slack, message, approver) == [], "the same click again is not a lost decision"


def test_a_client_edited_value_naming_another_task_decides_neither(approval, tmp_path, monkeypatch):
    slack, message, approver = approval
    with WarehouseResource.from_env().connect() as conn:
        conn.execute("insert into marts.tasks values ('task-2', 'open')")
        conn.raw.commit()
    edited = {**click(message, DENY_ACTION, approver, value="task-2"), "trigger_id": "1.2.edited"}
    [sent], result = _through_receiver(slack, tmp_path, monkeypatch, edited)
    assert sent["status"] == 200 and (result.done, result.failed) == (1, 0)
    assert _state("task-1") == ("open", None) and _state("task-2") == ("open", None)
    [why] = _ephemerals(slack, message, approver)
    assert "approval request of another task" in why


def test_a_huge_control_character_value_is_finished_with_bounded_log_lines(approval, tmp_path, monkeypatch, caplog):
    slack, message, approver = approval
    value = "task-1\x00\r\n\u202e" + "A" * 30_000
    with caplog.at_level(logging.WARNING):
        sent, result = _through_receiver(slack, tmp_path, monkeypatch, {**click(
            message, APPROVE_ACTION, approver, value=value), "trigger_id": "1.2.huge"})
    assert sent[0]["status"] == 200 and (result.done, result.failed) == (1, 0)
    assert _state() == ("open", None)
    lines = [r.getMessage() for r in caplog.records if "not applied" in r.getMessage()]
    assert lines and all(len(line) < 2_000 and "\n" not in line and "\x00" not in line for line in lines)


def test_a_view_submission_for_a_modal_never_opened_decides_nothing(approval, tmp_path, monkeypatch):
    slack, _, approver = approval
    forged = {"type": "view_submission", "user": {"id": approver, "username": "amelia"}, "trigger_id": "9.9.9",
              "team": {"id": "T1"}, "api_app_id": "A1",
              "view": {"id": "V0NEVER", "type": "modal", "callback_id": "approve_task", "private_metadata": "task-1",
                       "state": {"values": {"b": {APPROVE_ACTION: {"type": "plain_text_input", "value": "task-1"}}}}}}
    [sent], result = _through_receiver(slack, tmp_path, monkeypatch, forged)
    assert sent["status"] == 200, sent["body"]
    assert result.done == 0, "no handler decides from a view_submission"
    assert _state() == ("open", None) and _audit("task_approved") == 0


@pytest.fixture
def two_approvers(approval, monkeypatch):
    slack, message, approver = approval
    monkeypatch.setenv("PROJECTX_SLACK_APPROVERS", f"{APPROVER},{SECOND}")
    _handler_env(slack, monkeypatch)
    return slack, message, approver, slack.add_user(SECOND, "Sam Second")


def _handle(payload: dict) -> None:
    inbox_handler(SimpleNamespace(body=json.dumps(payload), delivery_id="d"))


@pytest.mark.parametrize("deny_first", [True, False])
def test_approve_and_deny_at_the_same_instant_deny_stands_whatever_the_order(two_approvers, deny_first):
    slack, message, first, second = two_approvers
    approve = click(message, APPROVE_ACTION, first, "1700000005.000001", username="amelia")
    deny = click(message, DENY_ACTION, second, "1700000005.000001", username="sam")
    for payload in ([deny, approve] if deny_first else [approve, deny]):
        _handle(payload)
    assert _state() == ("closed", "denied")
    told = _ephemerals(slack, message, first)
    if deny_first:  # the approval came second and lost: its clicker is told which decision stands
        assert len(told) == 1 and "another decision stands" in told[0] and "Denied by sam" in told[0]
    assert _ephemerals(slack, message, second) == []


def test_an_older_click_handed_over_late_is_told_the_newer_decision(two_approvers):
    slack, message, first, second = two_approvers
    _handle(click(message, DENY_ACTION, second, "1700000009.000001", username="sam"))
    _handle(click(message, APPROVE_ACTION, first, "1700000008.000001", username="amelia"))
    assert _state() == ("closed", "denied")
    [told] = _ephemerals(slack, message, first)
    assert "Denied by sam" in told


def test_an_approve_on_a_task_closed_since_the_request_is_refused(approval):
    slack, message, approver = approval
    with WarehouseResource.from_env().connect() as conn:
        conn.execute("update marts.tasks set status = 'closed' where task_id = 'task-1'")  # the vendor closed it
        conn.raw.commit()
        with pytest.raises(SlackActionRefused, match="is closed"):
            apply_to_warehouse(conn, click(message, APPROVE_ACTION, approver), slack_sender(slack))
    assert _state() == ("closed", None) and _audit("task_decision_refused") == 1


def test_a_denied_task_still_takes_the_same_click_again_and_a_later_decision(approval):
    slack, message, approver = approval
    with WarehouseResource.from_env().connect() as conn:
        deny = click(message, DENY_ACTION, approver, "1700000001.1")
        assert apply_to_warehouse(conn, deny, slack_sender(slack)).task_status == "closed"
        again = apply_to_warehouse(conn, deny, slack_sender(slack))
        assert again.replayed and not again.superseded
        later = apply_to_warehouse(conn, click(message, APPROVE_ACTION, approver, "1700000002.1"), slack_sender(slack))
    assert (later.decision, later.task_status) == ("approved", "open") and _audit("task_decision_refused") == 0


@pytest.mark.parametrize("actions", ["approve_task", {"action_id": APPROVE_ACTION}, ["x", 3],
                                     [{"action_id": [APPROVE_ACTION], "value": "task-1"}],
                                     [{"action_id": "approve_task_v2", "value": "task-1", "action_ts": "1.1"}]])
def test_malformed_or_unknown_actions_are_unusable_clicks_not_crashes(approval, actions):
    slack, message, approver = approval
    payload = {**click(message, APPROVE_ACTION, approver), "actions": actions}
    with WarehouseResource.from_env().connect() as conn, pytest.raises(SlackActionError) as caught:
        apply_to_warehouse(conn, payload, slack_sender(slack))
    assert not isinstance(caught.value, SlackActionRefused) and len(str(caught.value)) < 400
    assert _state() == ("open", None)


def test_an_approver_whose_slack_email_changed_is_refused_under_the_new_one(approval):
    slack, message, approver = approval
    slack.workspace.users[approver]["profile"]["email"] = "amelia.hart@elsewhere.example"
    with WarehouseResource.from_env().connect() as conn, pytest.raises(SlackActionRefused,
                                                                       match=r"elsewhere\.example is not an approver"):
        apply_to_warehouse(conn, click(message, APPROVE_ACTION, approver), slack_sender(slack))
    assert _state() == ("open", None)


def test_a_decisions_audit_event_names_the_slack_user_and_the_email_checked(approval):
    slack, message, approver = approval
    with WarehouseResource.from_env().connect() as conn:
        apply_to_warehouse(conn, click(message, APPROVE_ACTION, approver, username="amelia"), slack_sender(slack))
        [event] = conn.query("select detail from audit.events where operation = 'task_approved'")
    detail = json.loads(event["detail"])
    assert (detail["decided_by"], detail["slack_user_id"], detail["email"], detail["channel_type"]) == (
        "amelia", approver, APPROVER, "slack_channel"), "the username alone is not who decided: a control needs the id"


def test_a_click_on_the_request_of_a_task_gone_since_tells_the_clicker(approval, tmp_path, monkeypatch):
    slack, message, approver = approval
    with WarehouseResource.from_env().connect() as conn:
        conn.execute("delete from marts.tasks where task_id = 'task-1'")  # renewed: the renewal task is gone
        conn.raw.commit()
    genuine = {**click(message, APPROVE_ACTION, approver, "1700000001.1"), "trigger_id": "1.2.gone"}
    made_up = {**click(message, APPROVE_ACTION, approver, "1700000002.1", value="task-404"), "trigger_id": "1.2.404"}
    _, result = _through_receiver(slack, tmp_path, monkeypatch, genuine, made_up)
    assert (result.done, result.failed) == (2, 0)
    [why] = _ephemerals(slack, message, approver)
    assert "task-1 no longer exists" in why, "a made-up task id is not answered"
    assert _audit("task_decision_refused") == 1 and _audit("task_approved") == 0
