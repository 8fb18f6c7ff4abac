"""The Slack sandbox delivers Events API requests as Slack does, to a real HTTP app that checks each one with
slack_sdk's own SignatureVerifier: the URL verification, signed event_callback envelopes, retries with
Slack's headers, X-Slack-No-Retry, and only events from conversations the bot is in."""

from __future__ import annotations

import itertools
import json
import time

import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from sandbox.slack.events import EventError
from tests.sandbox.slack.receiver import SignedReceiver

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
FAST = [0.05, 0.05, 0.05]  # Slack's 0 s / 1 min / 5 min before the retries, shortened


class App(SignedReceiver):
    """A tiny Events endpoint: verifies each request with slack_sdk, keeps it, answers the challenge as
    `challenge_as` ("json", "text" or a wrong value) and events with `status` after `delay` seconds."""

    path = "/slack/events"

    def __init__(self, secret: str = SECRET) -> None:
        self.status, self.delay, self.challenge_as, self.headers = 200, 0.0, "json", {}
        super().__init__(secret)

    def respond(self, body: bytes, headers: dict[str, str], valid: bool) -> tuple[int, bytes, dict[str, str]]:
        payload = json.loads(body)
        self.received.append({"headers": headers, "valid": valid, "payload": payload, "at": time.monotonic()})
        if payload["type"] == "url_verification":
            return 200, {"json": json.dumps({"challenge": payload["challenge"]}).encode(),
                         "text": payload["challenge"].encode()}.get(self.challenge_as, b"wrong"), self.headers
        time.sleep(self.delay)
        return self.status, b"", self.headers

    def events(self) -> list[dict]:
        return [r for r in self.received if r["payload"]["type"] == "event_callback"]


@pytest.fixture
def app():
    served = App()
    yield served
    served.close()


@pytest.fixture
def sb(make_slack_sandbox):
    return make_slack_sandbox(signing_secret=SECRET)


def _subscribe(sb, app, *events: str, **kwargs) -> dict:
    return sb.configure_events(app.url, events=list(events or ("message.channels",)), retry_waits=FAST, **kwargs)


@pytest.mark.parametrize("answer", ["json", "text"])
def test_the_url_is_verified_by_a_signed_challenge_answered_as_json_or_plain_text(sb, app, answer):
    app.challenge_as = answer
    verification = _subscribe(sb, app)
    assert (verification["verified"], verification["status"], verification["error"]) == (True, 200, None)
    [sent] = app.received
    assert sent["valid"] and sent["headers"]["content-type"] == "application/json"
    assert set(sent["payload"]) == {"token", "challenge", "type"} and sent["payload"]["type"] == "url_verification"
    assert sb.events.settings()["request_url"] == app.url


def test_a_wrong_challenge_answer_leaves_the_url_unverified_and_no_event_is_sent(sb, app):
    app.challenge_as = "wrong"
    verification = _subscribe(sb, app)
    assert (verification["verified"], verification["ok"], verification["error"]) == (False, False, "challenge_failed")
    assert sb.post_as_user("general", "hello")["event_ids"] == []
    assert sb.wait_for_events(5) and app.events() == []


def test_a_users_message_arrives_as_a_signed_event_callback_slack_sdk_verifies(sb, app):
    _subscribe(sb, app)
    posted = sb.post_as_user("#general", "deploy done", user="bruno.keller")
    assert sb.wait_for_events(5)
    [sent] = app.events()
    assert sent["valid"], "slack_sdk's SignatureVerifier refused the sandbox's signature"
    assert SignatureVerifier("another-secret").is_valid_request(json.dumps(sent["payload"]), sent["headers"]) is False
    envelope, ws = sent["payload"], sb.workspace
    assert envelope["event_id"] == posted["event_ids"][0] and envelope["event_id"].startswith("Ev")
    assert (envelope["team_id"], envelope["api_app_id"], envelope["type"]) == (ws.team_id, ws.app_id, "event_callback")
    assert envelope["authorizations"] == [{"enterprise_id": None, "team_id": ws.team_id, "user_id": ws.bot_user_id,
                                           "is_bot": True, "is_enterprise_install": False}]
    assert isinstance(envelope["event_time"], int) and envelope["is_ext_shared_channel"] is False
    event = envelope["event"]
    assert (event["type"], event["channel"], event["text"], event["channel_type"]) == (
        "message", posted["channel"], "deploy done", "channel")
    assert event["user"] == next(u["id"] for u in ws.users.values() if u["name"] == "bruno.keller")
    assert event["ts"] == event["event_ts"] == posted["ts"]
    assert "x-slack-retry-num" not in sent["headers"]
    # the message is in the channel as any other
    assert [m["text"] for m in sb.messages("general")] == ["deploy done"]


def test_only_subscribed_events_from_conversations_the_bot_is_in_are_sent(sb, app):
    _subscribe(sb, app, "message.channels", "app_mention", "reaction_added")
    assert sb.post_as_user("random", "the bot is not in #random")["event_ids"] == []
    assert sb.post_as_user("secops-private", "nor here")["event_ids"] == []
    mention = sb.post_as_user("general", f"hey <@{sb.workspace.bot_user_id}>")
    assert sb.react_as_user("general", mention["ts"], ":eyes:", user="chen.wei")
    assert sb.wait_for_events(5)
    kinds = sorted(r["payload"]["event"]["type"] for r in app.events())
    assert kinds == ["app_mention", "message", "reaction_added"]
    [reaction] = [r["payload"]["event"] for r in app.events() if r["payload"]["event"]["type"] == "reaction_added"]
    assert (reaction["reaction"], reaction["item"]) == ("eyes", {"type": "message", "channel": mention["channel"],
                                                                  "ts": mention["ts"]})
    # message.groups was not subscribed: a private channel's message is not sent even with the bot in it
    sb.events.configure(events=["message.channels"])
    sb.api.channels._set_member(sb.workspace.channel("secops-private"), sb.workspace.bot_user_id, True)
    assert sb.post_as_user("secops-private", "now the bot is in, but no message.groups")["event_ids"] == []


def test_a_500_is_retried_three_times_with_slacks_headers_and_the_same_body(sb, app):
    _subscribe(sb, app)
    app.status = 500
    [event_id] = sb.post_as_user("general", "boom")["event_ids"]
    assert sb.wait_for_events(10)
    sent = app.events()
    assert [r["headers"].get("x-slack-retry-num") for r in sent] == [None, "1", "2", "3"]
    assert [r["headers"].get("x-slack-retry-reason") for r in sent] == [None, "http_error", "http_error",
                                                                        "http_error"]
    assert {r["payload"]["event_id"] for r in sent} == {event_id} and all(r["valid"] for r in sent)
    assert all(r["payload"] == sent[0]["payload"] for r in sent)
    attempts = [d for d in sb.event_deliveries() if d["event_id"] == event_id]
    assert [(d["attempt"], d["status"], d["error"]) for d in attempts] == [(n, 500, "http_error") for n in range(4)]


def test_a_slow_answer_is_a_timeout_retried_until_one_comes_in_time(sb, app):
    _subscribe(sb, app, answer_within=0.3)
    app.delay = 0.6
    sb.post_as_user("general", "slow")
    time.sleep(0.4)
    app.delay = 0.0  # the app catches up before the second retry
    assert sb.wait_for_events(10)
    sent = app.events()
    assert [r["headers"].get("x-slack-retry-reason") for r in sent][:2] == [None, "http_timeout"]
    attempts = [d for d in sb.event_deliveries() if d["event_type"] == "message"]
    assert attempts[0]["error"] == "http_timeout" and attempts[-1]["ok"]
    assert len(attempts) == len(sent) < 4


def test_retries_wait_as_configured(sb, app):
    sb.configure_events(app.url, events=["message.channels"], retry_waits=[0.0, 0.3, 0.6])
    app.status = 503
    sb.post_as_user("general", "wait for it")
    assert sb.wait_for_events(10)
    at = [r["at"] for r in app.events()]
    gaps = [b - a for a, b in itertools.pairwise(at)]
    assert gaps[0] < 0.25 and 0.3 <= gaps[1] < 0.6 <= gaps[2] < 1.2, gaps


def test_x_slack_no_retry_is_honoured(sb, app):
    _subscribe(sb, app)
    app.status, app.headers = 500, {"X-Slack-No-Retry": "1"}
    sb.post_as_user("general", "do not retry")
    assert sb.wait_for_events(5)
    assert len(app.events()) == 1
    [attempt] = [d for d in sb.event_deliveries() if d["event_type"] == "message"]
    assert (attempt["status"], attempt["no_retry"]) == (500, True)


def test_a_connection_refused_is_retried_as_connection_failed(sb, app):
    _subscribe(sb, app)
    app.server.shutdown()
    app.server.server_close()
    sb.post_as_user("general", "nobody home")
    assert sb.wait_for_events(10)
    attempts = [d for d in sb.event_deliveries() if d["event_type"] == "message"]
    assert [d["retry_reason"] for d in attempts] == [None, "connection_failed", "connection_failed",
                                                     "connection_failed"]


def test_the_bot_joining_a_channel_is_member_joined_channel(sb, app):
    _subscribe(sb, app, "member_joined_channel", "message.channels")
    client = WebClient(token=sb.bot_token, base_url=sb.url + "/api/")
    client.conversations_join(channel=sb.workspace.channel("random")["id"])
    sb.post_as_user("random", "now the bot reads #random")
    assert sb.wait_for_events(5)
    # each event is delivered on its own thread, as Slack's are: they may arrive in either order
    events = {r["payload"]["event"]["type"]: r["payload"]["event"] for r in app.events()}
    assert sorted(events) == ["member_joined_channel", "message"] and len(app.events()) == 2
    assert events["member_joined_channel"]["user"] == sb.workspace.bot_user_id


def test_events_over_the_sandbox_http_routes(sb, app):
    settings = requests.put(sb.url + "/_sandbox/events", json={"request_url": app.url, "events": ["message.channels"],
                                                               "retry_waits": FAST}).json()
    assert settings["verified"] is True
    assert requests.put(sb.url + "/_sandbox/events", json={"request_url": app.url, "events": ["message.nope"]}
                        ).status_code == 400
    posted = requests.post(sb.url + "/_sandbox/events/messages", json={"channel": "general", "text": "via http"})
    assert posted.status_code == 200 and len(posted.json()["event_ids"]) == 1
    assert requests.post(sb.url + "/_sandbox/events/messages", json={"channel": "nope", "text": "x"}
                         ).status_code == 400
    deliveries = requests.get(sb.url + "/_sandbox/event_deliveries?wait=5").json()["deliveries"]
    assert [(d["event_type"], d["ok"]) for d in deliveries] == [("url_verification", True), ("message", True)]
    assert requests.delete(sb.url + "/_sandbox/event_deliveries").status_code == 204
    assert sb.event_deliveries() == []


def test_unknown_channel_user_or_subscription_is_an_error(sb, app):
    with pytest.raises(EventError):
        sb.post_as_user("no-such-channel", "x")
    with pytest.raises(EventError):
        sb.post_as_user("general", "x", user="nobody@nowhere")
    with pytest.raises(EventError):
        sb.configure_events(app.url, events=["message.everything"])
    with pytest.raises(EventError):
        sb.post_as_user("legacy-alerts", "archived")
