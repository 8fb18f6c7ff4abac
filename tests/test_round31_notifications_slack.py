"""Round 31: Slack's refusals of one message, through slack_sdk against the Slack sandbox, each ending somewhere a
person sees it with the fix named.

- ``msg_too_long`` for a message with a link to its record: posted again shortened (subject, the Open button, a
  line saying why), in the channel, not only by e-mail; one without a link still goes by e-mail whole (round 29).
- ``invalid_blocks`` for the shortened one too: by e-mail, the reason naming Slack's Block Kit limits.
- ``is_archived`` / ``not_in_channel``: the reason names the fix (unarchive / invite the bot); a route with no
  e-mail to fall back to is a dead letter (``failed``) carrying that reason, never dropped.
- A 429 on every post: each wait is exactly Retry-After, at most six posts, then e-mail and the breaker (no six
  more posts for the next message of the run).
"""

from __future__ import annotations

import pytest

from assets.notifications.delivery import Deliverer
from resources.notifications import NotificationsResource
from resources.slack import SlackSender
from resources.warehouse import WarehouseResource
from tests.notify_helpers import ledger, outbox_row

LINK = "https://example.service-now.com/nav_to.do?uri=incident.do?sys_id=abc123"


@pytest.fixture
def sandboxes(delivery_sandboxes):
    return delivery_sandboxes


def _row(key: str, target: str = "#alerts-servicenow", **extra) -> dict:
    return outbox_row(key, "servicenow_p1_incident", "slack_channel", target, **extra)


def _deliver(rows: list[dict], sender: SlackSender | None = None) -> dict:
    resource = NotificationsResource(backoff_base_seconds=0.01)
    with WarehouseResource.from_env().connect() as conn:
        report = Deliverer(conn, sender or resource.slack(), resource.email()).deliver(rows)
    return report.as_metadata()


def test_msg_too_long_is_posted_shortened_with_the_records_link(sandboxes, monkeypatch):
    """Slack counts the text longer than the notifier did (its limit, its counting [unc]): the full message is
    refused, the shortened one is in the channel with the link to the whole record."""
    import sandbox.slack.webapi as webapi

    slack, smtp = sandboxes
    monkeypatch.setattr(webapi, "MAX_TEXT", 400)  # the sandbox's Slack now refuses what ours sends in full
    body = "Database cluster down; " * 100
    counts = _deliver([_row("p1:long", title="INC0042 core DB down", body=body, link_url=LINK)])
    [row] = ledger()
    assert (row["status"], counts["sent"], counts["fallback"]) == ("sent", 1, 0)
    assert "shortened" in row["error"] and "msg_too_long" in row["error"]
    [posted] = slack.messages("alerts-servicenow")
    assert row["slack_ts"] == posted["ts"] and slack.method_calls("chat.postMessage") == 2
    shown = str(posted["blocks"]) + posted["text"]
    assert "INC0042 core DB down" in shown and "Database cluster down" not in shown  # the body went
    assert any(e.get("url") == LINK for b in posted["blocks"] for e in b.get("elements", []))  # Open, to the record
    assert "Shortened" in shown and LINK.split("?")[0] in posted["text"]
    assert posted["message"]["metadata"]["event_payload"]["delivery_key"] == row["delivery_key"]  # found if lost
    assert smtp.messages() == []


def test_invalid_blocks_for_the_shortened_one_too_goes_by_email_with_the_reason(sandboxes):
    slack, smtp = sandboxes
    slack.set_method_error("chat.postMessage", "invalid_blocks")
    counts = _deliver([_row("p1:blocks", link_url=LINK)])
    [row] = ledger()
    assert (row["status"], counts["fallback"]) == ("fallback", 1)
    assert "invalid_blocks" in row["error"] and "Block Kit limits" in row["error"]
    assert slack.method_calls("chat.postMessage") == 2  # the full one, the shortened one; no retry loop
    [mail] = smtp.messages()
    assert mail.rcpt_tos == ["oncall@projectx.io"] and "Body of p1:blocks" in mail.text  # whole, by e-mail


def test_an_archived_channel_names_the_fix_and_without_an_email_route_is_a_dead_letter(sandboxes):
    slack, smtp = sandboxes
    counts = _deliver([_row("a:1", "#legacy-alerts"), _row("a:2", "#legacy-alerts", fallback_email=None),
                       _row("a:3")])
    rows = {r["notification_key"]: r for r in ledger()}
    assert [rows[k]["status"] for k in ("a:1", "a:2", "a:3")] == ["fallback", "failed", "sent"]
    for key in ("a:1", "a:2"):
        assert "is_archived" in rows[key]["error"] and "unarchive it" in rows[key]["error"]
        assert "resources/owners.yaml" in rows[key]["error"]
    assert "no e-mail recipient" in rows["a:2"]["error"]
    assert (counts["sent"], counts["fallback"], counts["failed"]) == (1, 1, 1)
    assert [m.rcpt_tos for m in smtp.messages()] == [["oncall@projectx.io"]]
    assert len(slack.messages("alerts-servicenow")) == 1  # Slack still used after the refusals


def test_not_in_channel_names_the_invite(sandboxes):
    slack, smtp = sandboxes
    slack.set_scopes([s for s in slack.grants.scopes if s != "chat:write.public"])  # as an older install
    _deliver([_row("r:1", "#random")])  # a public channel the bot is not in
    [row] = ledger()
    assert row["status"] == "fallback" and "not_in_channel" in row["error"] and "/invite @Project X" in row["error"]
    assert slack.messages("random") == [] and len(smtp.messages()) == 1


def test_a_429_on_every_post_waits_retry_after_each_time_then_e_mail_and_the_breaker(sandboxes):
    slack, smtp = sandboxes
    slack.faults.set(rate_429=1.0, retry_after=2, paths=[r"/api/chat\.postMessage"])
    waits: list[float] = []
    sender = SlackSender(token=slack.bot_token, base_url=slack.url + "/api/", backoff_base=0.01, timeout=5,
                         sleep=waits.append)
    counts = _deliver([_row("rl:1"), _row("rl:2"), _row("rl:3")], sender)
    assert waits == [2.0] * 5  # Retry-After exactly, between six posts: bounded
    assert slack.method_calls("chat.postMessage") == 6  # the breaker: the other two never tried Slack
    assert (counts["fallback"], counts["sent"]) == (3, 0) and len(smtp.messages()) == 3
    assert {r["status"] for r in ledger()} == {"fallback"}
    assert all("Retry-After" in r["error"] or "breaker" in r["error"] or "429" in r["error"] for r in ledger())
