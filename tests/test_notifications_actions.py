"""The run failure sensor and the Slack approve/deny handler, against the Slack and SMTP sandboxes."""

from __future__ import annotations

import pytest
from dagster import DagsterInstance, build_run_status_sensor_context, job, op

from assets.notifications.actions import SlackActionError, apply_slack_action
from assets.notifications.messages import APPROVE_ACTION, DENY_ACTION, Message, slack_blocks
from resources.audit import CORRELATION_TAG
from resources.warehouse import WarehouseResource
from tests.notify_helpers import delivery_env


@op
def servicenow_incidents_step():
    raise RuntimeError("ServiceNow answered 401 after token refresh")


@job
def servicenow_incidents_sync():
    servicenow_incidents_step()


def _failure_context(instance: DagsterInstance, correlation_id: str):
    result = servicenow_incidents_sync.execute_in_process(instance=instance, raise_on_error=False,
                                                          tags={CORRELATION_TAG: correlation_id})
    assert not result.success
    event = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
    run = instance.get_run_by_id(result.run_id)
    return build_run_status_sensor_context(sensor_name="run_failure_notifier", dagster_event=event,
                                           dagster_instance=instance, dagster_run=run).for_run_failure(), run


def test_run_failure_is_posted_once_with_correlation_id_and_runbook(make_slack_sandbox, make_smtp_sandbox,
                                                                   monkeypatch):
    slack = make_slack_sandbox()
    smtp = make_smtp_sandbox(username="mailer", password="pw", starttls=True)
    delivery_env(monkeypatch, slack, smtp)
    monkeypatch.setenv("PROJECTX_ENV", "prod")
    # prod routes; the sandboxes' credentials come from the environment here, not Vault (prod reads Vault only)
    monkeypatch.setattr("resources.secrets._strict_default", lambda: False)
    from sensors.run_failure import build_run_failure_sensor

    sensor = build_run_failure_sensor()
    with DagsterInstance.ephemeral() as instance:
        context, _ = _failure_context(instance, "corr-1234")
        sensor(context)
        posted = slack.messages("prod-integrations")
        assert len(posted) == 1
        blocks = str(posted[0]["blocks"])
        assert "corr-1234" in blocks and "RB-002" in blocks and "runbooks.projectx.io/RB-002" in blocks
        assert "servicenow_incidents_sync" in posted[0]["text"]
        sensor(context)  # the same failure again (a tick retried after a crash): found by metadata
        assert len(slack.messages("prod-integrations")) == 1
        slack.faults.set(rate_5xx=1.0)  # Slack down: the next failure arrives by e-mail
        context2, _ = _failure_context(instance, "corr-5678")
        from resources.notifications import NotificationsResource

        build_run_failure_sensor(NotificationsResource(backoff_base_seconds=0.01))(context2)
        mails = smtp.messages()
        assert len(mails) == 1 and "corr-5678" in mails[0].text
        assert "integrations-oncall@projectx.io" in mails[0].rcpt_tos


def _payload(action_id: str, task_id: str, action_ts: str = "1700000000.1") -> dict:
    return {"type": "block_actions", "user": {"id": "U1", "username": "amelia.hart"},
            "container": {"channel_id": "C1", "message_ts": "1700000000.000100"},
            "actions": [{"action_id": action_id, "value": task_id, "action_ts": action_ts}]}


def test_approve_and_deny_buttons_update_the_task(duckdb_warehouse):
    msg = Message([{"notification_key": "k", "event_type": "evidence_requested", "title": "Renew evidence",
                    "body": "b", "action_kind": "approval", "subject_id": "task-1"}], "slack_channel", "#x")
    actions = [e for b in slack_blocks(msg, "c") if b["type"] == "actions" for e in b["elements"]]
    assert {(a["action_id"], a["value"]) for a in actions} == {(APPROVE_ACTION, "task-1"), (DENY_ACTION, "task-1")}
    with WarehouseResource.from_env().connect() as conn:
        conn.execute("create schema marts")
        conn.execute("create table marts.tasks as select 'task-1' as task_id, 'open' as status")
        approved = apply_slack_action(conn, _payload(APPROVE_ACTION, "task-1"))
        assert (approved.decision, approved.task_status, approved.replayed) == ("approved", "open", False)
        denied = apply_slack_action(conn, _payload(DENY_ACTION, "task-1", "1700000001.2"))
        assert denied.task_status == "closed" and "amelia.hart" in denied.text
        assert conn.scalar("select status from marts.tasks where task_id = 'task-1'") == "closed"
        replay = apply_slack_action(conn, _payload(DENY_ACTION, "task-1", "1700000001.2"))
        assert replay.replayed
        assert conn.scalar("select count(*) from notifications.task_decisions") == 1
        assert conn.scalar("select count(*) from audit.events where operation like 'task_%'") == 2
        with pytest.raises(SlackActionError, match="no approval action"):
            apply_slack_action(conn, _payload("something_else", "task-1"))
        with pytest.raises(SlackActionError, match="does not exist"):
            apply_slack_action(conn, _payload(APPROVE_ACTION, "task-404"))
        with pytest.raises(SlackActionError, match="not block_actions"):
            apply_slack_action(conn, {"type": "view_submission"})


def test_inbox_handler_applies_a_click_from_the_receivers_inbox(duckdb_warehouse):
    import json
    from urllib.parse import urlencode

    from webhooks.handlers import handler_for
    from webhooks.inbox.queue import InboxEvent

    with WarehouseResource.from_env().connect() as conn:
        conn.execute("create schema marts")
        conn.execute("create table marts.tasks as select 'task-9' as task_id, 'open' as status")
    handler = handler_for("slack", "interaction:block_actions")
    form = urlencode({"payload": json.dumps(_payload(DENY_ACTION, "task-9"))})
    assert handler(InboxEvent(1, "slack", "d1", "interaction:block_actions", 0.0, form)) is None
    unknown = json.dumps(_payload(APPROVE_ACTION, "task-404"))
    assert handler(InboxEvent(2, "slack", "d2", "interaction:block_actions", 0.0, unknown)) is None
    with WarehouseResource.from_env().connect() as conn:
        assert conn.scalar("select status from marts.tasks where task_id = 'task-9'") == "closed"
        assert conn.scalar("select count(*) from notifications.task_decisions") == 1
