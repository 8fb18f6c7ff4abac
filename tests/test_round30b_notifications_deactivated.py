"""Round 30b: a person deactivated in Slack after the sender looked them up still gets the notification.

The sender caches ``users.lookupByEmail`` for its life and posts a DM to the user id. A person deactivated
after that look-up was posted to (a DM no one reads): a fresh look-up says ``users_not_found``, the cached
id said nothing. A cached id is now confirmed with ``conversations.open`` before the post, which Slack
answers ``user_disabled`` for a deactivated user (the sandbox opened the DM): the DM goes to the person by
e-mail with that reason, nothing lost. The first DM to someone costs no extra call.
"""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from assets.notifications.delivery import Deliverer
from resources.notifications import NotificationsResource
from resources.slack import SlackSender
from resources.warehouse import WarehouseResource
from tests.notify_helpers import ledger, outbox_row

ROUTE = "oncall@projectx.io"
BRUNO = "bruno.keller@projectx.example"


@pytest.fixture
def sandboxes(delivery_sandboxes):
    return delivery_sandboxes


def _dm(key: str, person: str) -> dict:
    return outbox_row(key, "task_assigned", "slack_dm", person, fallback_email=ROUTE)


def test_conversations_open_to_a_deactivated_user_is_user_disabled(sandboxes):
    slack, _ = sandboxes
    uid = slack.add_user("gone@projectx.example")
    client = WebClient(token=slack.bot_token, base_url=slack.url + "/api/")
    assert client.conversations_open(users=uid)["ok"]
    slack.deactivate_user(uid)
    with pytest.raises(SlackApiError) as caught:
        client.conversations_open(users=uid)
    assert caught.value.response.data == {"ok": False, "error": "user_disabled"}
    slack.deactivate_user(uid, False)
    assert client.conversations_open(users=uid)["ok"]


def test_a_person_deactivated_mid_run_after_their_look_up_gets_the_rest_by_e_mail(sandboxes, monkeypatch):
    slack, smtp = sandboxes
    uid = slack.add_user(BRUNO)
    original = SlackSender.post

    def deactivate_after_first(self, channel, *args, **kwargs):
        posted = original(self, channel, *args, **kwargs)
        slack.deactivate_user(uid)  # an admin deactivates Bruno while the run goes on
        return posted

    monkeypatch.setattr(SlackSender, "post", deactivate_after_first)
    resource = NotificationsResource(backoff_base_seconds=0.01)
    with WarehouseResource.from_env().connect() as conn:
        report = Deliverer(conn, resource.slack(), resource.email(), admin_emails=["admins@projectx.io"]).deliver(
            [_dm("t:1", BRUNO), _dm("t:2", BRUNO)])
    counts = report.as_metadata()
    rows = {r["notification_key"]: r for r in ledger()}
    statuses = sorted(r["status"] for r in rows.values())
    assert statuses == ["fallback", "sent"] and (counts["sent"], counts["fallback"], counts["failed"]) == (1, 1, 0)
    [late] = [r for r in rows.values() if r["status"] == "fallback"]
    assert "user_disabled" in late["error"]
    assert [m.rcpt_tos for m in smtp.messages()] == [[BRUNO]]  # to the person, with the reason
    assert len(slack.messages()) == 1  # the first DM only: nothing posted into a deactivated person's DM
    assert slack.method_calls("users.lookupByEmail") == 1 and slack.method_calls("conversations.open") == 1
    assert counts["slack_disabled"] == 0
