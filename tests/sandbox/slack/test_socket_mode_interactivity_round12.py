"""Interactivity, shortcuts and slash commands over Socket Mode, driven with slack_sdk 3.48's builtin
`SocketModeClient` and a `socket_mode_request_listeners` handler as Slack's docs show: `interactive` and
`slash_commands` envelopes with envelope_id and accepts_response_payload, the ack's payload as the app's
answer (a slash command's message, a modal's response_action), nothing sent to the Request URLs. Before
round 12 clicks, submissions and commands went to their Request URLs even with Socket Mode on, and there
were no shortcuts."""

from __future__ import annotations

import json
import queue

import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.response import SocketModeResponse

from sandbox.slack.interactivity import ClickError
from tests.sandbox.slack import test_interactivity
from tests.sandbox.slack.test_interactivity import BLOCKS, SECRET
from tests.sandbox.slack.test_view_submissions import MODAL

app = test_interactivity.app  # an HTTP interactivity endpoint: it must get nothing while Socket Mode is on


@pytest.fixture
def socket_app(make_slack_sandbox, app):
    """A sandbox with Socket Mode on (an Interactivity Request URL set too), a connected SocketModeClient whose
    listener keeps every request and acks it with `answers[type]` (a callable of the request, or a payload;
    missing: a bare ack; `answers["silent"]` True: no ack at all)."""
    sb = make_slack_sandbox(interactivity_url=app.url, signing_secret=SECRET)
    sb.configure_socket_mode(True)
    web = WebClient(token=sb.bot_token, base_url=sb.url + "/api/")
    client = SocketModeClient(app_token=sb.new_app_token(), web_client=WebClient(base_url=sb.url + "/api/"))
    got: queue.Queue = queue.Queue()
    answers: dict = {}

    def listener(c, req):
        got.put(req)
        if answers.get("silent"):
            return
        answer = answers.get(req.payload.get("type") or req.type)
        payload = answer(req) if callable(answer) else answer
        c.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id, payload=payload))

    client.socket_mode_request_listeners.append(listener)
    client.connect()
    assert sb.socket_mode.wait_connected(1)
    yield sb, web, got, answers
    client.auto_reconnect_enabled = False  # the server ends the connection: close() need not wait out a receive
    sb.socket_mode.disconnect_all("link_disabled")
    client.close()


def test_a_click_is_an_interactive_envelope_acked_over_the_socket(socket_app, app):
    sb, web, got, _answers = socket_app
    sent = web.chat_postMessage(channel="#compliance-delivery", text="Renew task-1?", blocks=BLOCKS)
    result = sb.click("compliance-delivery", sent["ts"], "approve", user="amelia.hart")
    req = got.get(timeout=5)
    assert (req.type, req.accepts_response_payload) == ("interactive", False)
    assert req.retry_attempt is None and req.retry_reason is None  # retry fields are events_api's
    assert req.payload["type"] == "block_actions" and req.payload["actions"][0]["action_id"] == "approve"
    assert req.payload["message"]["ts"] == sent["ts"] and req.payload["response_url"].startswith(sb.url)
    assert (result["ok"], result["request_url"], result["envelope_id"], result["status"]) == (
        True, "socket_mode", req.envelope_id, None)
    assert sb.interactions()[-1]["payload"] == req.payload
    assert app.received == []  # nothing to the Request URL while Socket Mode is on


def test_a_slash_command_acked_with_a_payload_shows_the_answer(socket_app, app):
    sb, _web, got, answers = socket_app
    answers["slash_commands"] = lambda req: {"text": f"Renewing {req.payload['text']}", "response_type": "in_channel"}
    result = sb.run_command("/renew", "task-7", channel="compliance-delivery", user="chen.wei")  # no URL set
    req = got.get(timeout=5)
    assert (req.type, req.accepts_response_payload) == ("slash_commands", True)
    chen = next(u for u, p in sb.workspace.users.items() if p["name"] == "chen.wei")
    assert (req.payload["command"], req.payload["text"], req.payload["user_id"]) == ("/renew", "task-7", chen)
    assert req.payload["channel_id"] == sb.workspace.channel("compliance-delivery")["id"]
    assert req.payload["trigger_id"] and req.payload["response_url"].startswith(sb.url)
    assert result["ok"] and json.loads(result["body"])["text"] == "Renewing task-7"
    [shown] = [m for m in sb.messages("compliance-delivery") if m["text"] == "Renewing task-7"]
    assert not shown.get("ephemeral")
    answers["slash_commands"] = "plain words"  # slack_sdk sends a str payload as {"text": ...}: ephemeral
    sb.run_command("/renew", "", channel="compliance-delivery", user="chen.wei")
    got.get(timeout=5)
    [quiet] = [m for m in sb.messages("compliance-delivery") if m["text"] == "plain words"]
    assert quiet["ephemeral"] and quiet["ephemeral_user"] == chen
    answers["slash_commands"] = None  # a bare ack shows nothing
    before = len(sb.messages())
    assert sb.run_command("/renew", "x", channel="compliance-delivery")["ok"]
    got.get(timeout=5)
    assert len(sb.messages()) == before and app.received == []


def test_a_view_submission_takes_its_response_action_from_the_ack(socket_app, app):
    sb, web, got, answers = socket_app
    view = web.views_open(trigger_id=sb.new_trigger_id(), view=MODAL)["view"]
    answers["view_submission"] = {"response_action": "errors", "errors": {"why": "Say more"}}
    kept = sb.submit_view(view["id"], {"reason": "x", "level": "low"}, user="amelia.hart")
    req = got.get(timeout=5)
    assert (req.type, req.accepts_response_payload, req.payload["type"]) == ("interactive", True, "view_submission")
    assert req.payload["view"]["state"]["values"]["why"]["reason"]["value"] == "x"
    assert (kept["ok"], kept["response_action"], kept["errors"]) == (True, "errors", {"why": "Say more"})
    answers["view_submission"] = None  # a bare ack closes the modal
    done = sb.submit_view(view["id"], {"reason": "still needed", "level": "low"}, user="amelia.hart")
    got.get(timeout=5)
    assert done["ok"] and done["response_action"] is None
    with pytest.raises(ClickError, match="No open modal"):
        sb.submit_view(view["id"], {"reason": "again", "level": "low"})
    assert app.received == []


def test_a_view_closed_and_a_click_in_a_modal_go_over_the_socket(socket_app):
    sb, web, got, _answers = socket_app
    buttons = {"type": "actions", "block_id": "more", "elements": [
        {"type": "button", "action_id": "add", "text": {"type": "plain_text", "text": "Add"}}]}
    view = web.views_open(trigger_id=sb.new_trigger_id(), view={**MODAL, "blocks": [*MODAL["blocks"], buttons]})
    sb.click_view(view["view"]["id"], "add", user="amelia.hart")
    req = got.get(timeout=5)
    assert (req.payload["type"], req.payload["container"]) == ("block_actions", {"type": "view",
                                                                               "view_id": view["view"]["id"]})
    closed = sb.close_view(view["view"]["id"], user="amelia.hart")
    req = got.get(timeout=5)
    assert (req.type, req.accepts_response_payload, req.payload["type"]) == ("interactive", False, "view_closed")
    assert closed["ok"] and closed["envelope_id"] == req.envelope_id


def test_global_and_message_shortcuts_over_the_socket(socket_app):
    sb, web, got, _answers = socket_app
    sb.run_shortcut("new_task", user="amelia.hart")
    req = got.get(timeout=5)
    assert (req.type, req.accepts_response_payload) == ("interactive", False)
    assert (req.payload["type"], req.payload["callback_id"]) == ("shortcut", "new_task")
    assert req.payload["user"]["username"] == "amelia.hart" and "channel" not in req.payload
    web.views_open(trigger_id=req.payload["trigger_id"], view=MODAL)  # a shortcut's trigger opens a modal
    sent = web.chat_postMessage(channel="#general", text="file this")
    sb.run_shortcut("file_it", user="chen.wei", channel="general", ts=sent["ts"])
    req = got.get(timeout=5)
    assert (req.payload["type"], req.payload["message_ts"], req.payload["message"]["text"]) == (
        "message_action", sent["ts"], "file this")
    assert req.payload["channel"] == {"id": sent["channel"], "name": "general"} and req.payload["response_url"]
    with pytest.raises(ClickError, match="both channel and ts"):
        sb.run_shortcut("file_it", channel="general")


def test_shortcuts_without_socket_mode_are_signed_posts_and_have_a_sandbox_route(make_slack_sandbox, app):
    sb = make_slack_sandbox(interactivity_url=app.url, signing_secret=SECRET)
    answer = requests.post(sb.url + "/_sandbox/shortcuts", json={"callback_id": "new_task", "user": "chen.wei"},
                           timeout=10).json()
    assert answer["ok"] and answer["request_url"] == app.url
    [got] = app.received
    assert got["valid"] and got["payload"]["type"] == "shortcut" and got["payload"]["callback_id"] == "new_task"
    assert got["headers"]["content-type"] == "application/x-www-form-urlencoded"
    nameless = requests.post(sb.url + "/_sandbox/shortcuts", json={"callback_id": ""}, timeout=10)
    assert nameless.status_code == 400 and "callback_id" in nameless.json()["error"]
    bad = requests.post(sb.url + "/_sandbox/shortcuts", json={"callback_id": "x", "channel": "general", "ts": "1.2"},
                        timeout=10)
    assert bad.status_code == 400 and "No message" in bad.json()["error"]


def test_an_unacked_interaction_fails_once_and_is_not_sent_again(socket_app):
    sb, web, got, answers = socket_app
    answers["silent"] = True
    sent = web.chat_postMessage(channel="#compliance-delivery", text="Renew task-1?", blocks=BLOCKS)
    result = sb.click("compliance-delivery", sent["ts"], "approve")
    assert (result["ok"], result["error"]) == (False, "timeout") and result["elapsed"] >= 3
    got.get(timeout=1)
    with pytest.raises(queue.Empty):
        got.get(timeout=1)  # Slack shows the person an error; no retry for an interaction [unc]
    failed = sb.run_command("/renew", "x", channel="general")
    assert (failed["ok"], failed["error"]) == (False, "dispatch_failed: timeout")


def test_with_socket_mode_on_and_no_connection_nothing_is_delivered(make_slack_sandbox, app):
    sb = make_slack_sandbox(signing_secret=SECRET)  # no Request URL: Socket Mode needs none
    sb.configure_socket_mode(True)
    assert sb.run_shortcut("new_task")["error"] == "no_connection"
    assert sb.run_command("/renew")["error"] == "dispatch_failed: no_connection"
    sb.configure_socket_mode(False)
    with pytest.raises(ClickError, match="No Interactivity Request URL"):
        sb.run_shortcut("new_task")
    with pytest.raises(ClickError, match="No command"):
        sb.run_command("/renew")
