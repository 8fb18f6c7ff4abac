"""The run failure sensor and the Slack approve/deny handler, against the Slack and SMTP sandboxes."""

from __future__ import annotations

import pytest
from dagster import DagsterInstance, build_run_status_sensor_context, job, op

from assets.notifications.actions import SlackActionError, apply_slack_action
from assets.notifications.messages import APPROVE_ACTION, DENY_ACTION
from resources.audit import CORRELATION_TAG
from resources.warehouse import WarehouseResource
from tests.notify_helpers import click, delivery_env, slack_sender


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


def test_approve_and_deny_buttons_update_the_task(approval):
    slack, message, approver = approval
    actions = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert {(a["action_id"], a["value"]) for a in actions} == {(APPROVE_ACTION, "task-1"), (DENY_ACTION, "task-1")}
    sender = slack_sender(slack)
    with WarehouseResource.from_env().connect() as conn:
        approved = apply_slack_action(conn, click(message, APPROVE_ACTION, approver, username="amelia.hart"), sender)
        assert (approved.decision, approved.task_status, approved.replayed) == ("approved", "open", False)
        deny = click(message, DENY_ACTION, approver, "1700000001.200000", username="amelia.hart")
        denied = apply_slack_action(conn, deny, sender)
        assert denied.task_status == "closed" and "amelia.hart" in denied.text
        assert conn.scalar("select status from marts.tasks where task_id = 'task-1'") == "closed"
        replay = apply_slack_action(conn, deny, sender)
        assert replay.replayed
        assert conn.scalar("select count(*) from notifications.task_decisions") == 1
        assert conn.scalar("select slack_channel || ' ' || message_ts from notifications.task_decisions") == \
            f"{message['channel']} {message['ts']}"
        assert conn.scalar("select count(*) from audit.events where operation in ('task_approved', 'task_denied')") == 2
        other = dict(deny, actions=[dict(deny["actions"][0], action_id="something_else")])
        with pytest.raises(SlackActionError, match="no approval action"):
            apply_slack_action(conn, other, sender)
        with pytest.raises(SlackActionError, match="does not exist"):
            apply_slack_action(conn, click(message, APPROVE_ACTION, approver, value="task-404"), sender)
        with pytest.raises(SlackActionError, match="not block_actions"):
            apply_slack_action(conn, {"type": "view_submission"}, sender)


def test_inbox_handler_applies_a_click_from_the_receivers_inbox(approval, monkeypatch):
    import json
    from urllib.parse import urlencode

    from webhooks.handlers import handler_for
    from webhooks.inbox.queue import InboxEvent

    slack, message, approver = approval
    monkeypatch.delenv("VAULT_ADDR", raising=False)  # the handler's bot token comes from the environment
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.bot_token)
    monkeypatch.setenv("SLACK_API_URL", slack.url + "/api/")
    stranger = slack.add_user("intern@projectx.io")
    handler = handler_for("slack", "interaction:block_actions")
    refused = json.dumps(click(message, APPROVE_ACTION, stranger, "1700000001.1"))
    assert handler(InboxEvent(1, "slack", "d1", "interaction:block_actions", 0.0, refused)) is None
    with WarehouseResource.from_env().connect() as conn:
        assert conn.scalar("select status from marts.tasks where task_id = 'task-1'") == "open"
        assert not conn.table_exists("notifications", "task_decisions") or \
            conn.scalar("select count(*) from notifications.task_decisions") == 0
    form = urlencode({"payload": json.dumps(click(message, DENY_ACTION, approver, "1700000002.1"))})
    assert handler(InboxEvent(2, "slack", "d2", "interaction:block_actions", 0.0, form)) is None
    unknown = json.dumps(click(message, APPROVE_ACTION, approver, "1700000003.1", value="task-404"))
    assert handler(InboxEvent(3, "slack", "d3", "interaction:block_actions", 0.0, unknown)) is None
    with WarehouseResource.from_env().connect() as conn:
        assert conn.scalar("select status from marts.tasks where task_id = 'task-1'") == "closed"
        assert conn.scalar("select count(*) from notifications.task_decisions") == 1
        [audit] = conn.query("select detail from audit.events where operation = 'task_decision_refused'")
        assert "intern@projectx.io" in audit["detail"] and "not an approver" in audit["detail"]
    assert slack.bot_token not in audit["detail"]
