"""The Slack sandbox clicks buttons as Slack does: a signed block_actions POST to a real HTTP app that
checks it with slack_sdk's own SignatureVerifier, and response_urls that slack_sdk's WebhookClient uses."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
import requests
from slack_sdk.webhook import WebhookClient

from sandbox.slack.interactivity import ClickError
from tests.sandbox.slack.receiver import SignedReceiver

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BLOCKS = [
    {"type": "section", "block_id": "intro", "text": {"type": "mrkdwn", "text": "Renew *task-1*?"},
     "accessory": {"type": "button", "action_id": "details", "text": {"type": "plain_text", "text": "Details"},
                   "value": "d-1"}},
    {"type": "actions", "block_id": "approval:task-1", "elements": [
        {"type": "button", "style": "primary", "action_id": "approve",
         "text": {"type": "plain_text", "text": "Approve"}, "value": "task-1"},
        {"type": "button", "style": "danger", "action_id": "deny", "text": {"type": "plain_text", "text": "Deny"},
         "value": "task-1"},
        {"type": "static_select", "action_id": "pick", "placeholder": {"type": "plain_text", "text": "Pick"},
         "options": [{"text": {"type": "plain_text", "text": "A"}, "value": "a"}]}]},
]


class App(SignedReceiver):
    """A tiny interactivity endpoint: verifies each request with slack_sdk, keeps it, answers `status` with
    the JSON `answer` (None: an empty body)."""

    path = "/slack/interactions"

    def __init__(self, secret: str = SECRET) -> None:
        self.status, self.delay = 200, 0.0
        self.answer: dict | None = None
        super().__init__(secret)

    def respond(self, body: bytes, headers: dict[str, str], valid: bool) -> tuple[int, bytes, dict[str, str]]:
        fields = parse_qs(body.decode(), strict_parsing=True)
        self.received.append({"headers": headers, "fields": fields, "valid": valid,
                              "payload": json.loads(fields["payload"][0])})
        time.sleep(self.delay)
        out = json.dumps(self.answer).encode() if self.answer is not None else b""
        return (self.status if valid else 401), out, {"Content-Type": "application/json"}


@pytest.fixture
def app():
    served = App()
    yield served
    served.close()


@pytest.fixture
def posted(make_slack_sandbox, app):
    """A sandbox whose app is `app`, and a message with buttons posted over the Web API."""
    from slack_sdk import WebClient

    sb = make_slack_sandbox(interactivity_url=app.url, signing_secret=SECRET)
    client = WebClient(token=sb.bot_token, base_url=sb.url + "/api/")
    sent = client.chat_postMessage(channel="#compliance-delivery", text="Renew task-1?", blocks=BLOCKS)
    return sb, client, sent


def test_a_click_is_a_signed_block_actions_form_post_built_from_the_real_message(posted, app):
    sb, client, sent = posted
    clicker = sb.add_user("approver@projectx.io", "Amelia Approver")
    result = sb.click("compliance-delivery", sent["ts"], "approve", user="approver@projectx.io")
    assert (result["ok"], result["status"], result["error"]) == (True, 200, None)
    assert result["elapsed"] < 3
    [got] = app.received
    assert got["valid"], "slack_sdk's SignatureVerifier accepts the signature"
    assert got["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert abs(int(got["headers"]["x-slack-request-timestamp"]) - time.time()) < 10
    assert list(got["fields"]) == ["payload"]
    assert "\\/actions\\/" in got["fields"]["payload"][0], "slashes escaped, as in Slack's JSON"
    payload = got["payload"]
    assert payload == result["payload"]
    ws = sb.workspace
    assert payload["type"] == "block_actions" and payload["api_app_id"] == ws.app_id
    assert payload["user"] == {"id": clicker, "username": "approver", "name": "approver", "team_id": ws.team_id}
    assert payload["team"] == {"id": ws.team_id, "domain": ws.domain}
    assert payload["enterprise"] is None and payload["is_enterprise_install"] is False
    assert payload["container"] == {"type": "message", "message_ts": sent["ts"], "channel_id": sent["channel"],
                                    "is_ephemeral": False}
    assert payload["channel"] == {"id": sent["channel"], "name": "compliance-delivery"}
    assert payload["message"]["ts"] == sent["ts"] and payload["message"]["blocks"] == BLOCKS
    assert payload["message"]["bot_id"] == ws.bot_id and payload["state"] == {"values": {}}
    [action] = payload["actions"]
    assert {k: action[k] for k in ("action_id", "block_id", "value", "style", "type")} == {
        "action_id": "approve", "block_id": "approval:task-1", "value": "task-1", "style": "primary",
        "type": "button"}
    assert action["text"] == {"type": "plain_text", "text": "Approve", "emoji": True}
    assert float(action["action_ts"]) == pytest.approx(time.time(), abs=10)
    assert payload["response_url"].startswith(f"{sb.url}/actions/{ws.team_id}/")
    # the trigger_id is live: the app can open a modal with it, as in Slack
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Why?"},
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Reason"}}]}
    assert client.views_open(trigger_id=payload["trigger_id"], view=view)["ok"]
    # a section's accessory button is clickable too; the default clicker is the workspace's first person
    details = sb.click("#compliance-delivery", sent["ts"], "details")
    assert details["payload"]["actions"][0]["block_id"] == "intro"
    assert details["payload"]["user"]["username"] == "amelia.hart"
    assert [r["payload"]["actions"][0]["action_id"] for r in sb.interactions()] == ["approve", "details"]


def test_refused_slow_or_absent_apps_are_reported_as_slack_treats_them_and_never_retried(
        posted, app, make_slack_sandbox, monkeypatch):
    sb, _, sent = posted
    sb.configure_interactivity(signing_secret="not-the-apps-secret")
    refused = sb.click("compliance-delivery", sent["ts"], "deny")
    assert (refused["ok"], refused["status"], refused["error"]) == (False, 401, "http_error")
    assert len(app.received) == 1 and not app.received[0]["valid"]

    sb.configure_interactivity(signing_secret=SECRET)
    monkeypatch.setattr("sandbox.slack.interactivity.ANSWER_WITHIN", 0.3)  # Slack's 3 s, shortened
    app.delay = 0.8
    slow = sb.click("compliance-delivery", sent["ts"], "deny")
    assert (slow["ok"], slow["status"], slow["error"]) == (False, None, "http_timeout")
    assert len(app.received) == 2

    sb.configure_interactivity(request_url="http://127.0.0.1:9/nobody-listens")
    gone = sb.click("compliance-delivery", sent["ts"], "deny")
    assert not gone["ok"] and gone["error"].startswith("connection_failed")
    assert [r["error"] for r in sb.interactions()] == ["http_error", "http_timeout", gone["error"]]


def test_a_huge_or_trickling_answer_is_cut_at_64_kib_and_at_slacks_wait(posted, monkeypatch):
    """The app's answer is read only as far as Slack would: a bounded body, within the wait."""
    sb, _, sent = posted

    class Answer(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            trickle = self.path.endswith("/slow")
            self.send_response(200)
            self.send_header("Content-Length", str(100 if trickle else 8 * 1024 * 1024))
            self.end_headers()
            try:
                for _ in range(100 if trickle else 128):
                    self.wfile.write(b"x" if trickle else b"y" * 65536)
                    self.wfile.flush()
                    time.sleep(0.05 if trickle else 0)
            except OSError:  # the sandbox stopped reading
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        sb.configure_interactivity(base + "/big")
        big = sb.click("compliance-delivery", sent["ts"], "approve")
        assert (big["ok"], big["status"], len(big["body"])) == (True, 200, 64 * 1024)
        monkeypatch.setattr("sandbox.slack.interactivity.ANSWER_WITHIN", 0.5)  # Slack's 3 s, shortened
        sb.configure_interactivity(base + "/slow")  # 100 bytes over 5 s
        slow = sb.click("compliance-delivery", sent["ts"], "approve")
        assert (slow["ok"], slow["status"], slow["error"]) == (False, 200, "http_timeout")
        assert slow["elapsed"] < 2.0 and len(slow["body"]) < 100
    finally:
        server.shutdown()
        server.server_close()


def test_only_buttons_that_exist_can_be_clicked(posted, make_slack_sandbox):
    sb, _, sent = posted
    with pytest.raises(ClickError, match=r"No button with action_id 'approve_all'.*'approve', 'deny'"):
        sb.click("compliance-delivery", sent["ts"], "approve_all")
    with pytest.raises(ClickError, match="static_select, not a button"):
        sb.click("compliance-delivery", sent["ts"], "pick")
    with pytest.raises(ClickError, match=r"No message 1\.000001"):
        sb.click("compliance-delivery", "1.000001", "approve")
    with pytest.raises(ClickError, match=r"No person 'nobody@x\.io'.*sb\.add_user"):
        sb.click("compliance-delivery", sent["ts"], "approve", user="nobody@x.io")
    with pytest.raises(ClickError, match="No Interactivity Request URL"):
        make_slack_sandbox().click("compliance-delivery", sent["ts"], "approve")
    assert sb.interactions() == []


def test_the_control_endpoints_configure_click_and_list(posted, app):
    sb, _, sent = posted
    admin = sb.url + "/_sandbox/"
    settings = requests.put(admin + "interactivity", json={"request_url": app.url + "?via=http"}, timeout=10).json()
    assert settings == {"request_url": app.url + "?via=http", "signing_secret": SECRET}
    clicked = requests.post(admin + "clicks", json={"channel": sent["channel"], "ts": sent["ts"],
                                                    "action_id": "deny", "user": "bruno.keller"}, timeout=10)
    assert clicked.status_code == 200 and clicked.json()["ok"]
    assert app.received[0]["valid"] and app.received[0]["payload"]["user"]["name"] == "bruno.keller"
    missing = requests.post(admin + "clicks", json={"channel": sent["channel"], "ts": sent["ts"],
                                                    "action_id": "nope"}, timeout=10)
    assert missing.status_code == 400 and "No button" in missing.json()["error"]
    for odd in ({"channel": sent["channel"], "ts": sent["ts"], "action_id": "deny", "user": 42}, ["not", "an object"]):
        refused = requests.post(admin + "clicks", json=odd, timeout=10)
        assert refused.status_code == 400 and refused.json()["error"], odd
    assert len(requests.get(admin + "interactions", timeout=10).json()["interactions"]) == 1
    assert requests.delete(admin + "interactions", timeout=10).status_code == 204
    assert sb.interactions() == []


def _history(client, channel: str) -> list[dict]:
    return client.conversations_history(channel=channel)["messages"]


def test_response_url_replaces_posts_and_deletes_the_message(posted):
    sb, client, sent = posted
    payload = sb.click("compliance-delivery", sent["ts"], "approve")["payload"]
    url = payload["response_url"]
    replaced = requests.post(url, json={"replace_original": True, "text": "Approved by amelia.hart",
                                        "blocks": [{"type": "section", "text": {"type": "mrkdwn",
                                                                                "text": "Approved"}}]}, timeout=10)
    assert (replaced.status_code, replaced.json()) == (200, {"ok": True})
    [kept] = sb.messages("compliance-delivery")
    assert kept["ts"] == sent["ts"] and kept["text"] == "Approved by amelia.hart"
    assert kept["blocks"][0]["text"]["text"] == "Approved" and kept["message"]["ts"] == sent["ts"]
    assert [m["text"] for m in _history(client, sent["channel"])] == ["Approved by amelia.hart"]

    assert requests.post(url, json={"text": "Only you can see this"}, timeout=10).json() == {"ok": True}
    assert requests.post(url, json={"text": "Everyone sees this", "response_type": "in_channel"},
                         timeout=10).json() == {"ok": True}
    ephemeral, public = sb.messages("compliance-delivery")[1:]
    assert ephemeral["ephemeral"] and ephemeral["ephemeral_user"] == payload["user"]["id"]
    assert not public.get("ephemeral") and public["via"] == "response_url"
    assert [m["text"] for m in _history(client, sent["channel"])] == ["Everyone sees this", "Approved by amelia.hart"]

    bad = requests.post(url, json={"blocks": [{"type": "nonsense"}]}, timeout=10)
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_blocks")
    assert requests.post(url, json={}, timeout=10).json()["error"] == "no_text"
    assert requests.post(url, json={"delete_original": True}, timeout=10).json() == {"ok": True}
    assert [m["text"] for m in _history(client, sent["channel"])] == ["Everyone sees this"]
    assert sb.messages("compliance-delivery")[0]["deleted"]
    # four uses so far (refusals do not count): the fifth works, the sixth is used_url
    assert requests.post(url, json={"text": "fifth"}, timeout=10).status_code == 200
    used = requests.post(url, json={"text": "sixth"}, timeout=10)
    assert (used.status_code, used.json()) == (404, {"ok": False, "error": "used_url"})


def test_response_urls_expire_after_30_minutes_and_unknown_ones_are_refused(posted):
    sb, _, sent = posted
    url = sb.click("compliance-delivery", sent["ts"], "approve")["payload"]["response_url"]
    sb.advance_clock(29 * 60)
    assert requests.post(url, json={"text": "still in time"}, timeout=10).status_code == 200
    sb.advance_clock(61)
    expired = requests.post(url, json={"text": "too late"}, timeout=10)
    assert (expired.status_code, expired.json()) == (404, {"ok": False, "error": "expired_url"})
    unknown = requests.post(url[:-4] + "abcd", json={"text": "forged"}, timeout=10)
    assert (unknown.status_code, unknown.json()["error"]) == (404, "no_service")


def test_slack_sdks_webhook_client_works_against_the_response_url_unchanged(posted):
    sb, _, sent = posted
    url = sb.click("compliance-delivery", sent["ts"], "deny")["payload"]["response_url"]
    webhook = WebhookClient(url)
    answer = webhook.send(text="Denied by amelia.hart", replace_original=True)
    assert (answer.status_code, json.loads(answer.body)) == (200, {"ok": True})
    assert sb.messages("compliance-delivery")[0]["text"] == "Denied by amelia.hart"
    assert sb.messages("compliance-delivery")[0]["blocks"] is None, "replace_original swaps the whole message"
    assert webhook.send(text="ephemeral note", response_type="ephemeral").status_code == 200
    assert sb.messages("compliance-delivery")[1]["ephemeral"]
    # a button in an ephemeral message: Slack says so and leaves the message out of the payload
    assert webhook.send(text="pick one", blocks=BLOCKS[1:], replace_original=False).status_code == 200
    ephemeral_ts = sb.messages("compliance-delivery")[2]["ts"]
    clicked = sb.click("compliance-delivery", ephemeral_ts, "approve")["payload"]
    assert clicked["container"]["is_ephemeral"] and "message" not in clicked
    assert webhook.send(delete_original=True).status_code == 200
    assert sb.messages("compliance-delivery")[0]["deleted"]
