"""Approve/Deny clicked in the Slack sandbox reach the product's real receiver over HTTP, as Slack sends
them: the sandbox finds the button on the approval request the product posted, signs Slack's
block_actions form payload and POSTs it; the inbox consumer then applies the decision."""

from __future__ import annotations

from assets.notifications.messages import APPROVE_ACTION, DENY_ACTION
from resources.warehouse import WarehouseResource
from tests.webhook_helpers import SECRETS, SLACK_ACTIONS, LiveReceiver, inbox_rows, settings_for
from webhooks.app import create_app
from webhooks.inbox import EventQueue, open_database
from webhooks.processing import process


def test_a_click_the_sandbox_sends_lands_as_the_tasks_decision_and_a_forged_one_is_refused(
        approval, tmp_path, monkeypatch):
    slack, message, approver = approval
    monkeypatch.delenv("VAULT_ADDR", raising=False)  # the handler looks the clicker up with this bot token
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.bot_token)
    monkeypatch.setenv("SLACK_API_URL", slack.url + "/api/")
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
