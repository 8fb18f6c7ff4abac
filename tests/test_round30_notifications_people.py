"""Round 30: notification delivery when the person or channel on the Slack side is gone, and vendor text that
is hostile all at once, through the real Slack and SMTP sandboxes.

- An owner's DM whose e-mail Slack does not know (users.lookupByEmail ``users_not_found``: never in Slack, or
  deactivated since, which Slack answers the same) goes to that person by e-mail with Slack's reason; the other
  owners still get their DMs and Slack is not switched off.
- A channel archived between two messages of one run: the first is in Slack, the second goes by e-mail with
  ``is_archived``; nothing is dropped.
- One message carrying ``<!channel>``, ``<@U123>``, ``<http://evil|ok>``, 50 KB of text and a lone surrogate
  is posted to Slack (no mention, no foreign link, within Slack's limits) and e-mailed intact when it falls back.
"""

from __future__ import annotations

import json
import re

import pytest

from assets.notifications.delivery import Deliverer
from resources.notifications import NotificationsResource
from resources.warehouse import WarehouseResource
from tests.notify_helpers import ledger, outbox_row

ROUTE = "oncall@projectx.io"
AMELIA = "amelia.hart@projectx.example"
BRUNO = "bruno.keller@projectx.example"
STRANGER = "new.hire@projectx.io"  # has a mailbox, no Slack account
HOSTILE = "<!channel> <@U123> <http://evil|ok> lone \ud800 end"


@pytest.fixture
def sandboxes(delivery_sandboxes):
    return delivery_sandboxes


def _deliver(rows: list[dict]) -> dict:
    resource = NotificationsResource(backoff_base_seconds=0.01)
    with WarehouseResource.from_env().connect() as conn:
        report = Deliverer(conn, resource.slack(), resource.email(), admin_emails=["admins@projectx.io"]).deliver(rows)
    return report.as_metadata()


def _dm(key: str, person: str, **extra) -> dict:
    return outbox_row(key, "task_assigned", "slack_dm", person, fallback_email=ROUTE, **extra)


def _by_target() -> dict[str, dict]:
    return {r["target"]: r for r in ledger()}


def test_an_owner_slack_does_not_know_is_e_mailed_with_the_reason_and_the_others_get_dms(sandboxes):
    slack, smtp = sandboxes
    counts = _deliver([_dm("t:1", AMELIA), _dm("t:2", STRANGER), _dm("t:3", BRUNO)])
    rows = _by_target()
    assert rows[STRANGER]["status"] == "fallback" and "users_not_found" in rows[STRANGER]["error"]
    assert rows[AMELIA]["status"] == rows[BRUNO]["status"] == "sent"
    assert (counts["sent"], counts["fallback"], counts["slack_disabled"], counts["failed"]) == (2, 1, 0, 0)
    [mail] = smtp.messages()
    assert mail.rcpt_tos == [STRANGER]  # the person, not the route's list
    assert slack.method_calls("users.lookupByEmail") == 3 and slack.method_calls("chat.postMessage") == 2


def test_an_owner_deactivated_in_slack_is_e_mailed_not_dmed_into_the_void(sandboxes):
    slack, smtp = sandboxes
    uid = slack.add_user(BRUNO)
    slack.deactivate_user(uid)
    _deliver([_dm("t:1", BRUNO)])
    [row] = ledger()
    assert row["status"] == "fallback" and "users_not_found" in row["error"]
    assert [m.rcpt_tos for m in smtp.messages()] == [[BRUNO]]
    assert slack.messages() == []  # Slack would have taken a post to the deactivated person's DM


def test_a_channel_archived_mid_run_sends_the_rest_by_e_mail(sandboxes, monkeypatch):
    slack, smtp = sandboxes
    from resources.slack import SlackSender

    original = SlackSender.post

    def archive_after_first(self, channel, *args, **kwargs):
        posted = original(self, channel, *args, **kwargs)
        slack.archive("alerts-jira")  # archived by someone while the run goes on
        return posted

    monkeypatch.setattr(SlackSender, "post", archive_after_first)
    rows = [outbox_row(f"j:{n}", "jira_sla_breach", "slack_channel", "#alerts-jira") for n in range(2)]
    counts = _deliver(rows)
    statuses = sorted(r["status"] for r in ledger())
    assert statuses == ["fallback", "sent"] and (counts["sent"], counts["fallback"]) == (1, 1)
    assert "is_archived" in next(r["error"] for r in ledger() if r["status"] == "fallback")
    assert len(slack.messages("alerts-jira")) == 1 and [m.rcpt_tos for m in smtp.messages()] == [[ROUTE]]


def test_hostile_huge_text_reaches_slack_escaped_and_within_its_limits(sandboxes):
    slack, smtp = sandboxes
    huge = (HOSTILE + " ") * 1000  # about 50 KB
    counts = _deliver([outbox_row("p1:x", "servicenow_p1_incident", "slack_channel", "#alerts-servicenow",
                                  title=HOSTILE, body=huge, link_url="http://evil|ok")])
    assert counts["sent"] == 1 and smtp.messages() == []
    [posted] = slack.messages("alerts-servicenow")
    payload = json.dumps({"text": posted["text"], "blocks": posted["blocks"]}, ensure_ascii=False)
    payload.encode("utf-8")  # no lone surrogate reached Slack (it would have refused the body)
    for bad in ("<!channel>", "<@U123>", "<http://evil", "\ud800"):
        assert bad not in payload
    assert "&lt;!channel&gt;" in payload  # shown as typed, not dropped
    assert all(len(b["text"]["text"]) <= 3000 for b in posted["blocks"] if b.get("text"))
    assert len(posted["text"]) <= 4000


def test_hostile_text_falling_back_to_e_mail_arrives_readable(sandboxes):
    slack, smtp = sandboxes
    slack.set_method_error("chat.postMessage", "msg_too_long")
    _deliver([outbox_row("p1:y", "servicenow_p1_incident", "slack_channel", "#alerts-servicenow",
                         title=HOSTILE, body=(HOSTILE + "\n") * 1000)])
    [row] = ledger()
    assert row["status"] == "fallback" and "msg_too_long" in row["error"]
    [mail] = smtp.messages()
    assert "\ud800" not in mail.subject and "<!channel>" in mail.subject  # plain text in e-mail: shown as is
    assert mail.text.count("<http://evil|ok>") >= 1000 and "\ud800" not in mail.text  # the whole body, as typed
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", mail.raw.decode("utf-8", "replace"))
