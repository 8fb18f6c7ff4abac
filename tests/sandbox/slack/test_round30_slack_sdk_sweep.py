"""Round 30: slack_sdk (unchanged) against the Slack sandbox where the round-30 sweep found it unlike Slack.

- A lone surrogate in a message's text: ``json.dumps`` writes it as an unpaired ``\\ud800`` escape, which is no
  Unicode text. The sandbox stored it and echoed it back in conversations.history; a JSON decoder that yields
  UTF-8 (Slack's) refuses the body: ``invalid_json`` on the Web API, 400 ``invalid_payload`` on an incoming
  webhook and a response_url [unc: Slack's exact codes].
- A deactivated person: Slack documents users.lookupByEmail as answering ``users_not_found`` for them; the sandbox
  found them. users.info still shows them (``deleted: true``) and a post to their DM still succeeds
  (python-slack-sdk #1156) [unc].

The rest of the sweep (chat.* with blocks, attachments, threads and broadcasts, permalinks, DMs, cursor paging
with ``types``, files_upload_v2, reactions, views.open, auth.test, AsyncWebClient, WebhookClient, 429 with
RateLimitErrorRetryHandler, SignatureVerifier on interactions and events) matched Slack and is pinned by the
earlier rounds' tests."""

from __future__ import annotations

import asyncio

import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookClient

LONE = "lone \ud800 surrogate"


def test_a_lone_surrogate_in_json_is_invalid_json_and_nothing_is_stored(slack_sandbox, slack_client):
    before = len(slack_sandbox.messages("general"))
    with pytest.raises(SlackApiError) as exc:
        slack_client.chat_postMessage(channel="#general", text=LONE)
    assert exc.value.response.status_code == 200 and exc.value.response["error"] == "invalid_json"
    with pytest.raises(SlackApiError) as exc:
        slack_client.chat_postMessage(channel="#general", text="ok", blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": LONE}}])
    assert exc.value.response["error"] == "invalid_json"
    assert len(slack_sandbox.messages("general")) == before
    # a surrogate pair written as two escapes is one character, and is taken
    posted = slack_client.chat_postMessage(channel="#general", text="pair \U0001F600")
    history = slack_client.conversations_history(channel=posted["channel"], limit=1)
    assert history["messages"][0]["text"] == "pair \U0001F600"


def test_the_async_client_meets_the_same_refusal(slack_sandbox):
    async def post() -> str:
        client = AsyncWebClient(token=slack_sandbox.bot_token, base_url=slack_sandbox.url + "/api/")
        try:
            await client.chat_postMessage(channel="#general", text=LONE)
        except SlackApiError as exc:
            return str(exc.response["error"])
        return "posted"

    assert asyncio.run(post()) == "invalid_json"


def test_a_lone_surrogate_to_an_incoming_webhook_is_invalid_payload(slack_sandbox):
    before = len(slack_sandbox.messages())
    answer = WebhookClient(slack_sandbox.webhook_url).send(text=LONE)
    assert (answer.status_code, answer.body) == (400, "invalid_payload")
    assert len(slack_sandbox.messages()) == before
    assert WebhookClient(slack_sandbox.webhook_url).send(text="fine").body == "ok"


def test_a_lone_surrogate_to_a_response_url_is_refused(make_slack_sandbox):
    sb = make_slack_sandbox(interactivity_url="http://127.0.0.1:9/unused", signing_secret="s")
    client = WebClient(token=sb.bot_token, base_url=sb.url + "/api/")
    posted = client.chat_postMessage(channel="#general", text="pick", blocks=[{"type": "actions", "elements": [
        {"type": "button", "action_id": "go", "text": {"type": "plain_text", "text": "Go"}, "value": "1"}]}])
    click = sb.click("general", posted["ts"], "go")
    url = click["payload"]["response_url"]
    answer = requests.post(url, data='{"text": "lone \\ud800", "replace_original": true}',
                           headers={"Content-Type": "application/json"}, timeout=5)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_payload"
    assert sb.messages("general")[-1]["text"] == "pick"  # the original stands


def test_a_deactivated_person_is_not_found_by_email_but_still_listed(slack_sandbox, slack_client):
    uid = slack_client.users_lookupByEmail(email="bruno.keller@projectx.example")["user"]["id"]
    slack_sandbox.deactivate_user(uid)
    with pytest.raises(SlackApiError) as exc:
        slack_client.users_lookupByEmail(email="bruno.keller@projectx.example")
    assert exc.value.response["error"] == "users_not_found"
    assert slack_client.users_info(user=uid)["user"]["deleted"] is True
    assert slack_client.chat_postMessage(channel=uid, text="still takes it")["ok"] is True
    slack_sandbox.deactivate_user(uid, False)
    assert slack_client.users_lookupByEmail(email="Bruno.Keller@projectx.example")["user"]["id"] == uid
