"""Who may decide a task from Slack (assets.notifications.approvers): adversarial clicks.

Approval requests are really posted to the Slack sandbox over HTTP by the delivery code (which
writes the ledger); the clicks are what Slack would send for them, changed the way an attacker or a
mistake would change them. A refused click leaves the task and its decisions untouched and is in
the audit log with who tried and why.
"""

from __future__ import annotations

import json
import time

import pytest

from assets.notifications import ledger as ledger_module
from assets.notifications.actions import SlackActionRefused, apply_slack_action
from assets.notifications.messages import APPROVE_ACTION, DENY_ACTION
from resources.warehouse import WarehouseResource
from tests.notify_helpers import APPROVER, click, make_tasks, send_approval, slack_sender


def _slack(make_slack_sandbox, monkeypatch):
    monkeypatch.setenv("PROJECTX_SLACK_APPROVERS", f"Risk.Lead@projectx.io; {APPROVER.upper()}, ciso@projectx.io")
    make_tasks("task-1", "task-2")
    return make_slack_sandbox()


@pytest.fixture
def slack(make_slack_sandbox, duckdb_warehouse, monkeypatch):
    return _slack(make_slack_sandbox, monkeypatch)


@pytest.fixture
def slack_any(make_slack_sandbox, any_warehouse, monkeypatch):
    """``slack`` on DuckDB and on PostgreSQL."""
    return _slack(make_slack_sandbox, monkeypatch)


def apply(slack, payload: dict, with_slack: bool = True):
    with WarehouseResource.from_env().connect() as conn:
        return apply_slack_action(conn, payload, slack_sender(slack) if with_slack else None)


def refused(slack, payload: dict, match: str, with_slack: bool = True) -> dict:
    """Apply a click that must be refused; returns the audit event's detail."""
    with pytest.raises(SlackActionRefused, match=match):
        apply(slack, payload, with_slack)
    with WarehouseResource.from_env().connect() as conn:
        assert [r["status"] for r in conn.query("select status from marts.tasks order by task_id")] == ["open", "open"]
        assert not conn.table_exists("notifications", "task_decisions") or \
            conn.scalar("select count(*) from notifications.task_decisions") == 0
        events = conn.query("select object_id, status, detail from audit.events "
                            "where operation = 'task_decision_refused' order by occurred_at")
    assert events and events[-1]["status"] == "refused"
    detail = json.loads(events[-1]["detail"])
    assert detail["slack_user_id"] == payload["user"]["id"] and match.split(" ")[0] in detail["reason"]
    assert slack.bot_token not in events[-1]["detail"]
    return detail


def decision(task_id: str) -> tuple[str, str]:
    with WarehouseResource.from_env().connect() as conn:
        decided = conn.table_exists("notifications", "task_decisions") and \
            conn.scalar("select decision from notifications.task_decisions where task_id = %s", (task_id,))
        return conn.scalar("select status from marts.tasks where task_id = %s", (task_id,)), decided or None


def test_an_approver_in_the_channel_may_decide(slack):
    message = send_approval(slack, "task-1")
    approver = slack.add_user("risk.lead@PROJECTX.io")  # listed as Risk.Lead@projectx.io: case does not matter
    result = apply(slack, click(message, DENY_ACTION, approver))
    assert (result.decision, result.task_status) == ("denied", "closed")
    assert decision("task-1") == ("closed", "denied")
    assert slack.method_calls("users.info") == 1


def test_a_user_who_is_no_approver_is_refused_and_audited(slack):
    message = send_approval(slack, "task-1")
    intern = slack.add_user("intern@projectx.io")
    detail = refused(slack, click(message, APPROVE_ACTION, intern, username="intern"), "intern@projectx.io is not")
    assert detail["email"] == "intern@projectx.io" and detail["decision"] == "approved"
    assert (detail["channel_id"], detail["message_ts"]) == (message["channel"], message["ts"])
    assert "ciso@projectx.io" not in json.dumps(detail)  # the refusal does not list who may approve


def refusals() -> list[dict]:
    with WarehouseResource.from_env().connect() as conn:
        return conn.query("select event_id, correlation_id, detail from audit.events "
                          "where operation = 'task_decision_refused' order by occurred_at")


@pytest.mark.parametrize("any_warehouse", ["duckdb", "postgres"], indirect=True)
def test_a_redelivered_refused_click_is_audited_once(slack_any):
    """The inbox may hand the same click over again (a crash after the audit row's commit, a redelivery):
    it is refused again, but the audit log keeps one row per click. Another click by the same person
    (a new action_ts and trigger_id) is a new attempt and gets its own row."""
    slack = slack_any
    message = send_approval(slack, "task-1")
    intern = slack.add_user("intern@projectx.io")
    payload = click(message, APPROVE_ACTION, intern, "1700000003.000100", username="intern")
    payload["trigger_id"] = "1700000003.1234.abcdef"
    refused(slack, payload, "intern@projectx.io is not")
    refused(slack, json.loads(json.dumps(payload)), "intern@projectx.io is not")  # the same delivery again
    assert len(refusals()) == 1
    again = click(message, APPROVE_ACTION, intern, "1700000009.000100", username="intern")
    again["trigger_id"] = "1700000009.5678.abcdef"
    refused(slack, again, "intern@projectx.io is not")
    rows = refusals()
    assert len(rows) == 2 and rows[0]["correlation_id"] != rows[1]["correlation_id"]
    assert [json.loads(r["detail"])["action_ts"] for r in rows] == ["1700000003.000100", "1700000009.000100"]


def test_nobody_may_decide_in_a_channel_when_no_approver_is_configured(slack, monkeypatch):
    message = send_approval(slack, "task-1")
    monkeypatch.setenv("PROJECTX_SLACK_APPROVERS", " ; ,")
    refused(slack, click(message, APPROVE_ACTION, slack.add_user(APPROVER)), "PROJECTX_SLACK_APPROVERS lists no")


def test_a_swapped_button_value_cannot_decide_another_task(slack):
    first, second = send_approval(slack, "task-1"), send_approval(slack, "task-2")
    approver = slack.add_user(APPROVER)
    refused(slack, click(first, DENY_ACTION, approver, value="task-2"), "message .* is the approval request of another")
    assert decision("task-2") == ("open", None)
    assert apply(slack, click(second, DENY_ACTION, approver)).task_status == "closed"  # on its own request it may


@pytest.mark.parametrize("change", ["unknown_ts", "other_channel", "no_container"])
def test_a_click_on_no_sent_message_is_refused(slack, change):
    message = send_approval(slack, "task-1")
    payload = click(message, APPROVE_ACTION, slack.add_user(APPROVER))
    if change == "unknown_ts":
        payload["container"]["message_ts"] = "1700000000.999999"
    elif change == "other_channel":
        payload["container"]["channel_id"] = slack.workspace.channel("alerts-servicenow")["id"]
    else:
        del payload["container"]
    refused(slack, payload, "message .* is no message Project X sent" if change != "no_container" else "the click")


def test_a_click_on_a_message_that_is_no_approval_request_is_refused(slack):
    from assets.notifications.delivery import Deliverer
    from tests.notify_helpers import outbox_row

    request = send_approval(slack, "task-1")
    row = outbox_row("p1:1", "servicenow_p1_incident", "slack_channel", "#compliance-delivery", subject_id="task-1")
    with WarehouseResource.from_env().connect() as conn:
        Deliverer(conn, slack_sender(slack), None).deliver([row])
    incident = slack.messages("compliance-delivery")[-1]
    payload = click(request, APPROVE_ACTION, slack.add_user(APPROVER))
    payload["container"]["message_ts"] = incident["ts"]  # the buttons grafted onto another message of ours
    refused(slack, payload, "message .* is not an approval request")


def test_a_dm_recipient_may_decide_and_nobody_else(slack):
    owner = slack.add_user("owner@projectx.io")
    message = send_approval(slack, "task-1", "slack_dm", "owner@projectx.io")
    assert message["channel"].startswith("D")
    approver = slack.add_user(APPROVER)  # an approver is not the DM's recipient
    refused(slack, click(message, APPROVE_ACTION, approver), "only the DM's recipient")
    result = apply(slack, click(message, APPROVE_ACTION, owner, "1700000002.1"), with_slack=False)
    assert (result.decision, result.task_status) == ("approved", "open")
    assert decision("task-1") == ("open", "approved")
    assert slack.method_calls("users.info") == 0  # the recipient is in the ledger: no lookup needed


@pytest.mark.parametrize("failure", ["user_not_found", "deactivated", "no_email", "slack_down", "no_slack"])
def test_a_clicker_who_cannot_be_looked_up_is_refused_with_the_reason(slack, failure):
    message = send_approval(slack, "task-1")
    user = slack.add_user(APPROVER)
    expected = {"user_not_found": "could not look up .*user_not_found",
                "deactivated": "could not look up .*deactivated",
                "no_email": "could not look up .*users:read.email",
                "slack_down": "could not look up .*failed 2 times",
                "no_slack": "Slack is not configured"}[failure]
    if failure == "user_not_found":
        slack.set_method_error("users.info", "user_not_found")
    elif failure == "deactivated":
        slack.workspace.users[user]["deleted"] = True
    elif failure == "no_email":
        del slack.workspace.users[user]["profile"]["email"]
    elif failure == "slack_down":
        slack.faults.set(rate_5xx=1.0, paths=[r"/api/users\.info"])
    started = time.monotonic()
    refused(slack, click(message, APPROVE_ACTION, user), expected, with_slack=failure != "no_slack")
    assert time.monotonic() - started < 15


@pytest.fixture
def old_ledger(any_warehouse):
    """A ledger as the first release created it (no subject_id, action_kind, slack_user), with a sent
    approval request, and the outbox row it came from."""
    with WarehouseResource.from_env().connect() as conn:
        conn.execute("create schema if not exists notifications")
        conn.execute("""create table notifications.delivery_ledger (
            notification_key varchar primary key, delivery_key varchar not null, event_type varchar,
            channel_type varchar not null, target varchar, status varchar not null, attempts integer not null,
            slack_channel varchar, slack_ts varchar, message_id varchar, error varchar, correlation_id varchar,
            first_attempt_at timestamp not null, updated_at timestamp not null, next_attempt_at timestamp)""")
        for key in ("req:task-1", "p1:1"):
            conn.execute("insert into notifications.delivery_ledger values (%s, %s, 'evidence_requested', "
                         "'slack_channel', '#compliance-delivery', 'sent', 1, 'C1', %s, null, null, 'c', "
                         "current_timestamp, current_timestamp, null)", (key, "dlv-" + key, f"17.{len(key)}"))
        conn.execute("create schema if not exists marts")
        conn.execute("create table marts.notification_outbox as select 'req:task-1' as notification_key, "
                     "'task-1' as subject_id, 'approval' as action_kind union all "
                     "select 'p1:1', 'INC1', cast(null as varchar)")
        conn.raw.commit()
    return any_warehouse


def test_an_older_ledger_is_migrated_idempotently(old_ledger):
    with WarehouseResource.from_env().connect() as conn:
        ledger_module.ensure_ledger(conn)
        ledger_module.ensure_ledger(conn)  # again: nothing to add, nothing to fill
        rows = conn.query("select notification_key, subject_id, action_kind, slack_user "
                          "from notifications.delivery_ledger order by notification_key")
    assert rows == [{"notification_key": "p1:1", "subject_id": None, "action_kind": None, "slack_user": None},
                    {"notification_key": "req:task-1", "subject_id": "task-1", "action_kind": "approval",
                     "slack_user": None}]
