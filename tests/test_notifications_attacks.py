"""Hostile vendor data and a misbehaving Slack/SMTP against notification delivery.

Incident titles, Jira summaries, OneTrust names, URLs and e-mail addresses come from vendors; none of
them may mention people in Slack, add links, add e-mail headers or recipients, or stop the rest of a
batch. Slack failures (429, 5xx after the post was stored, refusals) are retried or delivered by
e-mail with the reason in the ledger, never lost and never sent twice. Approve/Deny clicks that
arrive late or without a clicker change nothing.
"""

from __future__ import annotations

import json
import re

import pytest

from assets.notifications import deliver_channel_type
from assets.notifications.messages import Message, email_bodies, slack_blocks, slack_text
from resources.notifications import NotificationsResource
from resources.warehouse import WarehouseResource
from tests.notify_helpers import delivery_env, outbox_row, write_outbox

AMELIA = "amelia.hart@projectx.example"
INJECTIONS = ["<!channel>", "<!here>", "<!everyone>", "<@U0123ABCD>", "<#C0123ABCD>", "<!subteam^S0123|@admins>",
              "<!date^1392734382^{date}|x>", "<https://evil.example|click me>"]
LINK = re.compile(r"<([^<>]*)>")


@pytest.fixture
def sandboxes(make_slack_sandbox, make_smtp_sandbox, duckdb_warehouse, monkeypatch):
    slack = make_slack_sandbox()
    smtp = make_smtp_sandbox(username="mailer", password="mail-secret", starttls=True, require_tls=True)
    delivery_env(monkeypatch, slack, smtp)
    return slack, smtp


def deliver(*channel_types: str, sleep=None, **settings) -> dict[str, int]:
    """One delivery cycle (every channel type unless named); merged counts plus the backlog after."""
    import resources.slack as slack_module

    resource = NotificationsResource(backoff_base_seconds=settings.pop("backoff", 0.01), **settings)
    original = slack_module.SlackSender.__post_init__
    if sleep is not None:
        def patched(self):
            original(self)
            self.sleep = sleep

        slack_module.SlackSender.__post_init__ = patched
    totals: dict[str, int] = {}
    try:
        with WarehouseResource.from_env().connect() as conn:
            for channel_type in channel_types or ("slack_channel", "slack_dm", "email"):
                report, backlog = deliver_channel_type(conn, channel_type, resource, None, "prod")
                for k, v in report.as_metadata().items():
                    totals[k] = totals.get(k, 0) + v
                totals.setdefault("errors", []).extend(report.errors)  # type: ignore[attr-defined]
    finally:
        slack_module.SlackSender.__post_init__ = original
    totals["backlog"] = backlog
    return totals


def mrkdwn_texts(blocks: list[dict]) -> list[str]:
    """Every mrkdwn string Slack would parse for mentions and links."""
    found = []
    for block in blocks:
        if block.get("text", {}).get("type") == "mrkdwn":
            found.append(block["text"]["text"])
        for element in block.get("elements", []):
            if element.get("type") == "mrkdwn":
                found.append(element["text"])
    return found


def assert_no_control_sequences(text: str) -> None:
    """Only our own links may appear as <...>: an http(s) URL without |, < or > and a label."""
    for inner in LINK.findall(text):
        url, _, label = inner.partition("|")
        assert re.fullmatch(r"https?://[^\s|<>]+", url), f"vendor text became a Slack control sequence: <{inner}>"
        assert label and "<" not in label
    for bad in ("<!", "<@", "<#"):
        assert bad not in text


def hostile_row(key: str, **extra) -> dict:
    return {"notification_key": key, "event_type": "servicenow_p1_incident", "summary_title": "P1 incidents",
            "title": f"INC {key} " + " ".join(INJECTIONS), "body": "Body " + " ".join(INJECTIONS), **extra}


# --- Slack text -----------------------------------------------------------------------------------

def test_vendor_text_cannot_mention_broadcast_or_link_in_slack():
    single = Message([hostile_row("a", link_url="https://sn.example/inc?id=1")], "slack_channel", "#alerts")
    summary = Message([hostile_row("a", link_url="https://sn.example/inc?id=1"), hostile_row("b")],
                      "slack_channel", "#alerts")
    for msg in (single, summary):
        blocks = slack_blocks(msg, "corr-1")
        for text in [*mrkdwn_texts(blocks), slack_text(msg)]:
            assert_no_control_sequences(text)
        assert "&lt;!channel&gt;" in json.dumps(blocks)  # shown, escaped, not dropped
    assert "&lt;!here&gt;" in slack_text(single)


@pytest.mark.parametrize("url", [
    "https://sn.example/a|<!channel>", "https://sn.example/a><!here>", "https://sn.example/a b|x",
    "javascript:alert(document.cookie)", "data:text/html,<script>alert(1)</script>", "//evil.example/x",
    "https://sn.example/" + "a" * 4000])
def test_a_vendor_url_cannot_break_out_of_its_link(url):
    rows = [hostile_row("a", link_url=url, title="INC1 database down"), hostile_row("b", title="INC2")]
    blocks = slack_blocks(Message(rows, "slack_channel", "#alerts"), "corr-1")
    for text in mrkdwn_texts(blocks):
        assert_no_control_sequences(text)
    assert "INC1 database down" in json.dumps(blocks)  # the line stays, only the link may go
    single = slack_blocks(Message(rows[:1], "slack_channel", "#alerts"), "corr-1")
    buttons = [e for b in single if b["type"] == "actions" for e in b["elements"] if "url" in e]
    for button in buttons:  # Slack refuses the whole message for a button URL it cannot take
        assert re.fullmatch(r"https?://\S+", button["url"]) and len(button["url"]) <= 3000
    text, page = email_bodies(Message(rows[:1], "email", "x@projectx.io"), "corr-1")
    assert "javascript:" not in page and "data:text" not in page and "<script" not in page


def test_truncation_never_cuts_an_entity_or_a_link_and_respects_slack_limits():
    amp = "R&D " * 2000  # escapes to 'R&amp;D ' ...: a cut at the limit used to leave '&am'
    single = slack_blocks(Message([hostile_row("a", title=amp, body=amp, subject_id="T" * 5000,
                                               action_kind="approval")], "slack_channel", "#x"), "c")
    rows = [hostile_row(f"r{n:02}", title=f"{n} " + "Q&A <b> " * 60, link_url=f"https://sn.example/{n}?a=1&b=2")
            for n in range(30)]
    summary = slack_blocks(Message(rows, "slack_channel", "#x"), "c")
    for blocks in (single, summary):
        assert len(blocks) <= 50
        for text in mrkdwn_texts(blocks):
            assert len(text) <= 3000
            assert not re.search(r"&[a-z]{0,4}$", text) and not re.search(r"&[a-z]{0,4}[^a-z;]", text), \
                "an escape was cut in half"
            assert text.count("<") == text.count(">")
            assert_no_control_sequences(text)
        for block in blocks:
            assert len(block.get("block_id", "")) <= 255
            for element in block.get("elements", []):
                assert len(element.get("value", "")) <= 2000
    assert len(slack_text(Message([hostile_row("a", title=amp, body=amp * 10)], "slack_channel", "#x"))) <= 4000
    assert "more" in json.dumps(summary)  # the rows that did not fit are counted, not silently lost


def test_invisible_and_invalid_characters_are_removed():
    nasty = "INC\u202egnp.exe\u202c \u2066x\u2069 nul\x00 bell\x07 lone\ud800surrogate zero\u200bwidth"
    msg = Message([hostile_row("a", title=nasty, body=nasty)], "slack_channel", "#x")
    payload = json.dumps({"text": slack_text(msg), "blocks": slack_blocks(msg, "c")}, ensure_ascii=False)
    payload.encode("utf-8")  # a lone surrogate made the body unencodable
    for char in ("\u202e", "\u202c", "\u2066", "\u2069", "\x00", "\x07", "\u200b"):
        assert char not in payload
    assert "gnp.exe" in payload and "surrogate" in payload
    text, page = email_bodies(msg, "c")
    for char in ("\u202e", "\x00", "\ud800"):
        assert char not in text + page


def test_the_sandbox_refuses_blocks_slack_refuses(slack_client):
    from slack_sdk.errors import SlackApiError

    too_long = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    too_many = [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}] * 51
    bad_url = [{"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open"},
                                                 "url": "javascript:alert(1)", "action_id": "a"}]}]
    for blocks in (too_long, too_many, bad_url):
        with pytest.raises(SlackApiError) as exc:
            slack_client.chat_postMessage(channel="alerts-servicenow", text="t", blocks=blocks)
        assert exc.value.response["error"] == "invalid_blocks"


def test_a_huge_hostile_incident_is_posted_to_slack_not_pushed_to_email(sandboxes):
    slack, smtp = sandboxes
    write_outbox([outbox_row("p1:a", "servicenow_p1_incident", "slack_channel", "#alerts-servicenow",
                             title="DB & cache down " * 400 + "<!channel>", body="stack & trace " * 5000,
                             link_url="https://sn.example/x|<!here>")])
    result = deliver("slack_channel")
    [posted] = slack.messages("alerts-servicenow")
    assert result["sent"] == 1 and smtp.messages() == []
    for text in [*mrkdwn_texts(posted["blocks"]), posted["text"]]:
        assert_no_control_sequences(text)


