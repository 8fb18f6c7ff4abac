"""Slash commands: the sandbox POSTs Slack's signed form to the command's Request URL (checked with slack_sdk's
SignatureVerifier), shows the app's immediate answer (ephemeral, in_channel, plain text) and takes
follow-ups on the payload's response_url through slack_sdk's WebhookClient."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from sandbox.slack.interactivity import ClickError
from tests.sandbox.slack.receiver import SignedReceiver
from tests.sandbox.slack.test_interactivity import SECRET


class CommandApp(SignedReceiver):
    """Answers each command with `status` and `answer` (a dict as JSON, a str as plain text, None empty)."""

    path = "/slack/commands"

    def __init__(self) -> None:
        self.status, self.answer = 200, None
        super().__init__(SECRET)

    def respond(self, body: bytes, headers: dict[str, str], valid: bool) -> tuple[int, bytes, dict[str, str]]:
        self.received.append({"valid": valid, "headers": headers,
                              "form": {k: v[0] for k, v in parse_qs(body.decode()).items()}})
        reply = self.answer
        out = json.dumps(reply).encode() if isinstance(reply, dict) else (reply or "").encode()
        return self.status, out, {"Content-Type": "application/json" if isinstance(reply, dict) else "text/plain"}


@pytest.fixture
def command(make_slack_sandbox):
    app = CommandApp()
    sb = make_slack_sandbox(signing_secret=SECRET)
    sb.configure_command("/renew", app.url)
    yield sb, app
    app.close()


def test_a_command_is_a_signed_form_post_with_response_url_and_trigger_id(command):
    sb, app = command
    result = sb.run_command("/renew", "task-1 quarterly", channel="compliance-delivery", user="amelia.hart")
    assert result["ok"] and result["status"] == 200
    [sent] = app.received
    form, ws = sent["form"], sb.workspace
    assert sent["valid"] and sent["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert (form["command"], form["text"], form["channel_name"], form["team_id"], form["api_app_id"]) == (
        "/renew", "task-1 quarterly", "compliance-delivery", ws.team_id, ws.app_id)
    assert form["user_id"] == next(u for u, p in ws.users.items() if p["name"] == "amelia.hart")
    assert form["response_url"].startswith(sb.url + "/actions/")
    client = WebClient(token=sb.bot_token, base_url=sb.url + "/api/")
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Renew"}, "blocks": []}
    assert client.views_open(trigger_id=form["trigger_id"], view=modal)["ok"]
    # the app follows up on the response_url, in the channel this time
    hook = WebhookClient(form["response_url"])
    assert hook.send(text="Renewal requested", response_type="in_channel").status_code == 200
    assert hook.send(text="x", replace_original=True).status_code == 404  # no original message to replace
    shown = [m for m in sb.messages("compliance-delivery") if not m.get("ephemeral")]
    assert [m["text"] for m in shown] == ["Renewal requested"]


def test_the_immediate_answer_is_ephemeral_unless_in_channel(command):
    sb, app = command
    app.answer = {"text": "Working on it", "response_type": "ephemeral"}
    sb.run_command("/renew", "a", channel="general", user="chen.wei")
    app.answer = "plain text is ephemeral too"
    sb.run_command("/renew", "b", channel="general", user="chen.wei")
    app.answer = {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*Done*"}}],
                  "response_type": "in_channel"}
    sb.run_command("/renew", "c", channel="general")
    kept = sb.messages("general")
    assert [(m["text"], bool(m.get("ephemeral"))) for m in kept] == [
        ("Working on it", True), ("plain text is ephemeral too", True), ("", False)]
    assert kept[0]["ephemeral_user"] == next(u for u, p in sb.workspace.users.items() if p["name"] == "chen.wei")
    app.answer = None
    sb.run_command("/renew", "d", channel="general")
    assert len(sb.messages("general")) == 3  # an empty answer shows nothing


def test_a_failing_app_is_dispatch_failed_and_unknown_commands_are_refused(command):
    sb, app = command
    app.status = 500
    assert sb.run_command("/renew", "x")["error"] == "dispatch_failed: http_error"
    with pytest.raises(ClickError):
        sb.run_command("/nope")
    with pytest.raises(ClickError):
        sb.configure_command("renew", "http://x")
    assert requests.post(sb.url + "/_sandbox/commands", json={"command": "/nope"}).status_code == 400
    app.status = 200
    over_http = requests.post(sb.url + "/_sandbox/commands", json={"command": "/renew", "text": "y"}).json()
    assert over_http["ok"] and over_http["payload"]["text"] == "y"
    assert requests.get(sb.url + "/_sandbox/commands").json() == {"commands": {"/renew": app.url}}
    assert len(sb.interactions()) == 2
