"""Round 28: slack_sdk (WebClient, AsyncWebClient, WebhookClient) unchanged against the Slack sandbox.

Before round 28 the sandbox posted Block Kit messages Slack refuses with invalid_blocks: a header whose text is
mrkdwn (a header takes plain_text only), a text object of another type, a section with more than 10 `fields`
or a field over 2000 characters, an image block without `alt_text`, a button `style` other than
primary/danger (in an actions block or as a section's accessory). A client that was happy against the sandbox
then failed on slack.com. The valid forms of the same blocks still post."""

from __future__ import annotations

import asyncio

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookClient

CHANNEL = "#alerts-servicenow"
PT = {"type": "plain_text", "text": "Go"}


def _md(text: str) -> dict:
    return {"type": "mrkdwn", "text": text}


REFUSED = [
    ([{"type": "header", "text": _md("*Incident*")}], "must be a valid enum value [json-pointer:/blocks/0/text/type]"),
    ([{"type": "section", "text": {"type": "markdown", "text": "x"}}],
     "must be a valid enum value [json-pointer:/blocks/0/text/type]"),
    ([{"type": "divider"}, {"type": "section", "fields": [_md(f"f{i}") for i in range(11)]}],
     "no more than 10 items allowed [json-pointer:/blocks/1/fields]"),
    ([{"type": "section", "fields": [_md("ok"), _md("f" * 2001)]}],
     "must be less than 2001 characters [json-pointer:/blocks/0/fields/1/text]"),
    ([{"type": "section", "fields": [{"text": "no type"}]}],
     "must be a valid enum value [json-pointer:/blocks/0/fields/0/type]"),
    ([{"type": "image", "image_url": "https://example.com/chart.png"}],
     "missing required field: alt_text [json-pointer:/blocks/0]"),
    ([{"type": "image", "alt_text": "chart"}], "missing required field: image_url [json-pointer:/blocks/0]"),
    ([{"type": "actions", "elements": [{"type": "button", "text": PT, "action_id": "a", "style": "blue"}]}],
     "failed to match all allowed schemas [json-pointer:/blocks/0/elements/0]"),
    ([{"type": "section", "text": _md("s"),
       "accessory": {"type": "button", "text": PT, "action_id": "a", "style": "secondary"}}],
     "failed to match all allowed schemas [json-pointer:/blocks/0/accessory]"),
]

ACCEPTED = [
    {"type": "header", "text": {"type": "plain_text", "text": "Incident INC0010001", "emoji": True}},
    {"type": "section", "fields": [_md(f"*f{i}*\n" + "v" * 1990) for i in range(10)]},
    {"type": "image", "image_url": "https://example.com/chart.png", "alt_text": "chart"},
    {"type": "section", "text": _md("s"), "accessory": {"type": "button", "text": PT, "action_id": "b",
                                                      "style": "danger"}},
    {"type": "actions", "elements": [{"type": "button", "text": PT, "action_id": "a", "style": "primary"},
                                     {"type": "button", "text": PT, "action_id": "c"}]},
]


@pytest.mark.parametrize(("blocks", "problem"), REFUSED)
def test_post_message_refuses_blocks_slack_refuses(slack_client, slack_sandbox, blocks, problem):
    before = len(slack_sandbox.messages(CHANNEL))
    with pytest.raises(SlackApiError) as info:
        slack_client.chat_postMessage(channel=CHANNEL, text="fallback", blocks=blocks)
    resp = info.value.response
    assert resp.status_code == 200 and resp["error"] == "invalid_blocks"
    assert resp["errors"] == [problem] and resp["response_metadata"]["messages"] == [f"[ERROR] {problem}"]
    assert len(slack_sandbox.messages(CHANNEL)) == before  # nothing posted


def test_valid_forms_of_the_same_blocks_post_and_update(slack_client, slack_sandbox):
    posted = slack_client.chat_postMessage(channel=CHANNEL, text="fallback", blocks=ACCEPTED)
    kept = slack_client.conversations_history(channel=posted["channel"], limit=1)["messages"][0]
    assert kept["ts"] == posted["ts"] and [b["type"] for b in kept["blocks"]] == [b["type"] for b in ACCEPTED]
    assert kept["blocks"][2]["alt_text"] == "chart" and len(kept["blocks"][1]["fields"]) == 10
    with pytest.raises(SlackApiError) as info:  # chat.update checks the same way and keeps the message
        slack_client.chat_update(channel=posted["channel"], ts=posted["ts"], text="x",
                                 blocks=[{"type": "header", "text": _md("*edited*")}])
    assert info.value.response["error"] == "invalid_blocks"
    again = slack_client.conversations_history(channel=posted["channel"], limit=1)["messages"][0]
    assert again["blocks"] == kept["blocks"]


def test_incoming_webhook_refuses_an_image_without_alt_text(slack_sandbox):
    hook = WebhookClient(slack_sandbox.webhook_url)
    before = len(slack_sandbox.messages())
    bad = hook.send(text="chart", blocks=[{"type": "image", "image_url": "https://example.com/c.png"}])
    assert (bad.status_code, bad.body) == (400, "invalid_blocks")
    good = hook.send(text="chart", blocks=[{"type": "image", "image_url": "https://example.com/c.png",
                                            "alt_text": "chart"}])
    assert (good.status_code, good.body) == (200, "ok") and len(slack_sandbox.messages()) == before + 1


def test_async_client_sees_the_same_refusal(slack_sandbox):
    async def run():
        client = AsyncWebClient(token=slack_sandbox.bot_token, base_url=slack_sandbox.url + "/api/")
        with pytest.raises(SlackApiError) as info:
            await client.chat_postMessage(channel=CHANNEL, text="x",
                                          blocks=[{"type": "section", "fields": [_md("f")] * 11}])
        ok = await client.chat_postMessage(channel=CHANNEL, text="x",
                                           blocks=[{"type": "section", "fields": [_md("f")] * 10}])
        return info.value.response, ok

    refused, ok = asyncio.run(run())
    assert refused["error"] == "invalid_blocks" and refused["errors"] == [
        "no more than 10 items allowed [json-pointer:/blocks/0/fields]"]
    assert ok["ok"] and len(ok["message"]["blocks"][0]["fields"]) == 10
