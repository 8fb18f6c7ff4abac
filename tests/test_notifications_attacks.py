"""Hostile vendor data and a misbehaving Slack/SMTP against notification delivery.

Incident titles, Jira summaries, OneTrust names, URLs and e-mail addresses come from vendors; none of
them may mention people in Slack, add links, add e-mail headers or recipients, or stop the rest of a
batch. Slack failures (429, 5xx after the post was stored, refusals) are retried or delivered by
e-mail with the reason in the ledger, never lost and never sent twice. Approve/Deny clicks that
arrive late or without a clicker change nothing.
"""

from __future__ import annotations

import re

import pytest

from assets.notifications import deliver_channel_type
from resources.notifications import NotificationsResource
from resources.warehouse import WarehouseResource
from tests.notify_helpers import delivery_env

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


