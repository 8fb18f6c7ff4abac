"""The Events API side of AI apps (`sandbox.slack.assistant_threads`), delivered over real HTTP to an app that
checks every request with slack_sdk's SignatureVerifier: a person opening the assistant container
(`assistant_thread_started`), switching channel (`assistant_thread_context_changed`) and writing in the thread
(`message.im` with `thread_ts`), only when subscribed; then slack_sdk's WebClient works in that thread."""

from __future__ import annotations

import pytest
import requests
from slack_sdk import WebClient

from sandbox.slack.events import EventError
from tests.sandbox.slack.test_client_probe_round3 import _human
from tests.sandbox.slack.test_events_api import FAST, SECRET, App

ASSISTANT = ["assistant_thread_started", "assistant_thread_context_changed", "message.im"]


@pytest.fixture
def app():
    served = App()
    yield served
    served.close()


@pytest.fixture
def sb(make_slack_sandbox):
    return make_slack_sandbox(signing_secret=SECRET)


def _client(sb) -> WebClient:
    return WebClient(token=sb.bot_token, base_url=sb.url + "/api/")


def _subscribe(sb, app, events=ASSISTANT) -> None:
    assert sb.configure_events(app.url, events=list(events), retry_waits=FAST)["verified"]


def _events(sb, app) -> list[dict]:
    """The events the app received, in the order they happened: each is delivered on its own thread, as
    Slack does not promise order either, so under load a later event can arrive first."""
    assert sb.wait_for_events(5)
    return sorted(app.events(), key=lambda e: float(e["payload"]["event"]["event_ts"]))


def test_opening_the_container_starts_a_dm_thread_and_sends_assistant_thread_started(sb, app):
    _subscribe(sb, app)
    amelia, general = _human(sb), sb.workspace.channel("general")["id"]
    opened = sb.open_assistant_thread("amelia.hart", "#general")
    assert opened["channel"] == "D" + amelia[1:] and len(opened["event_ids"]) == 1
    [sent] = _events(sb, app)
    assert sent["valid"] and sent["headers"]["x-slack-signature"].startswith("v0=")
    envelope = sent["payload"]
    assert (envelope["type"], envelope["event_id"], envelope["team_id"], envelope["api_app_id"]) == (
        "event_callback", opened["event_ids"][0], sb.workspace.team_id, sb.workspace.app_id)
    event = envelope["event"]
    assert set(event) == {"type", "assistant_thread", "event_ts"} and event["type"] == "assistant_thread_started"
    assert event["assistant_thread"] == {
        "user_id": amelia, "channel_id": opened["channel"], "thread_ts": opened["thread_ts"],
        "context": {"channel_id": general, "team_id": sb.workspace.team_id, "enterprise_id": None}}
    [root] = sb.messages(opened["channel"])
    assert (root["ts"], root["via"], root["message"]["subtype"]) == (opened["thread_ts"], "assistant_thread",
                                                                      "assistant_app_thread")
    assert root["message"]["assistant_app_thread"]["title"] == root["text"]


def test_switching_channel_sends_the_new_context_for_the_latest_thread(sb, app):
    _subscribe(sb, app)
    first = sb.open_assistant_thread("amelia.hart", "general")
    latest = sb.open_assistant_thread("amelia.hart", "general")
    assert latest["thread_ts"] != first["thread_ts"] and latest["channel"] == first["channel"]
    event_id = sb.change_assistant_context("amelia.hart", "alerts-servicenow")
    older = sb.change_assistant_context("amelia.hart", None, thread_ts=first["thread_ts"])
    changed = [e["payload"] for e in _events(sb, app) if e["payload"]["event"]["type"].endswith("changed")]
    assert [e["event_id"] for e in changed] == [event_id, older] and all(e["valid"] for e in app.events())
    thread = changed[0]["event"]["assistant_thread"]
    assert (thread["thread_ts"], thread["channel_id"], thread["user_id"]) == (
        latest["thread_ts"], latest["channel"], _human(sb))
    assert thread["context"] == {"channel_id": sb.workspace.channel("alerts-servicenow")["id"],
                                 "team_id": sb.workspace.team_id, "enterprise_id": None}
    assert changed[1]["event"]["assistant_thread"]["context"] == {"team_id": sb.workspace.team_id,
                                                                 "enterprise_id": None}
    assert sb.assistant_threads.opened()[-1]["context"]["channel_id"] == thread["context"]["channel_id"]
    with pytest.raises(EventError, match=r"no assistant thread 1\.000001 open"):
        sb.change_assistant_context("amelia.hart", "general", thread_ts="1.000001")
    with pytest.raises(EventError, match="open_assistant_thread"):
        sb.change_assistant_context(_other(sb), "general")  # someone who opened none
    with pytest.raises(EventError, match="No channel 'nope'"):
        sb.open_assistant_thread("amelia.hart", "nope")


def _other(sb) -> str:
    return next(p["id"] for p in sb.workspace.users.values() if not p["is_bot"] and p["name"] != "amelia.hart")


def test_only_subscribed_assistant_events_are_sent(sb, app):
    _subscribe(sb, app, ["message.im"])
    opened = sb.open_assistant_thread("amelia.hart", "general")
    assert opened["event_ids"] == [] and sb.change_assistant_context("amelia.hart", "general") is None
    _subscribe(sb, app, ["assistant_thread_started"])
    sb.open_assistant_thread("amelia.hart", "general")
    assert sb.change_assistant_context("amelia.hart", "alerts-servicenow") is None
    posted = sb.post_as_user(opened["channel"], "hi", "amelia.hart", thread_ts=opened["thread_ts"])
    assert posted["event_ids"] == []
    assert [e["payload"]["event"]["type"] for e in _events(sb, app)] == ["assistant_thread_started"]


def test_a_persons_message_in_the_thread_is_an_im_message_event_with_thread_ts(sb, app):
    _subscribe(sb, app)
    opened = sb.open_assistant_thread("amelia.hart", "general")
    posted = sb.post_as_user(opened["channel"], "summarise #general", "amelia.hart", thread_ts=opened["thread_ts"])
    message = [e["payload"]["event"] for e in _events(sb, app) if e["payload"]["event"]["type"] == "message"]
    [event] = message
    assert (event["channel"], event["channel_type"], event["thread_ts"], event["ts"], event["user"]) == (
        opened["channel"], "im", opened["thread_ts"], posted["ts"], _human(sb))
    assert event["parent_user_id"] == sb.workspace.bot_user_id and event["text"] == "summarise #general"
    # what slack_bolt's is_user_message_event_in_assistant_thread checks
    assert event.get("subtype") is None and "bot_id" not in event


def test_the_app_answers_in_the_thread_with_slack_sdk_and_reads_it_back(sb, app):
    _subscribe(sb, app)
    client, bot = _client(sb), sb.workspace.bot_user_id
    opened = sb.open_assistant_thread("amelia.hart", "general")
    channel, thread_ts = opened["channel"], opened["thread_ts"]
    prompts = [{"title": "Summarise", "message": "Summarise #general"}]
    assert client.assistant_threads_setSuggestedPrompts(channel_id=channel, thread_ts=thread_ts, prompts=prompts)["ok"]
    asked = sb.post_as_user(channel, "summarise #general", "amelia.hart", thread_ts=thread_ts)
    assert client.assistant_threads_setStatus(channel_id=channel, thread_ts=thread_ts, status="is thinking...")["ok"]
    assert client.assistant_threads_setTitle(channel_id=channel, thread_ts=thread_ts, title="Summary")["ok"]
    reply = client.chat_postMessage(channel=channel, thread_ts=thread_ts, text="Three tickets moved.")
    assert sb.api.assistant.threads[(channel, thread_ts)] == {
        "status": "is thinking...", "loading_messages": [], "title": "Summary", "prompts": prompts}
    messages = client.conversations_replies(channel=channel, ts=thread_ts)["messages"]
    assert [m["ts"] for m in messages] == [thread_ts, asked["ts"], reply["ts"]]
    root = messages[0]
    assert (root["subtype"], root["reply_count"], root["thread_ts"]) == ("assistant_app_thread", 2, thread_ts)
    assert [m.get("parent_user_id") for m in messages[1:]] == [bot, bot]
    # slack_bolt's DefaultAssistantThreadContextStore: the first bot message without a subtype, not the root
    found = client.conversations_replies(channel=channel, ts=thread_ts, oldest=thread_ts, include_all_metadata=True,
                                         limit=4)["messages"]
    assert next(m for m in found if m.get("subtype") is None and m.get("user") == bot)["ts"] == reply["ts"]
    bot_event = [e["payload"]["event"] for e in _events(sb, app) if e["payload"]["event"].get("bot_id")]
    assert [(e["ts"], e["thread_ts"], e["channel_type"]) for e in bot_event] == [(reply["ts"], thread_ts, "im")]


def test_set_status_on_a_thread_never_opened_is_accepted_as_before(sb):
    client = _client(sb)
    general = sb.workspace.channel("general")["id"]
    assert client.assistant_threads_setStatus(channel_id=general, thread_ts="1.000001", status="busy")["ok"]
    assert sb.api.assistant.threads[(general, "1.000001")]["status"] == "busy"
    assert sb.assistant_threads.opened() == []


def test_without_assistant_write_there_is_no_container_to_open(sb, app):
    _subscribe(sb, app)
    sb.set_scopes(["chat:write", "im:history"])
    with pytest.raises(EventError, match="assistant:write"):
        sb.open_assistant_thread("amelia.hart", "general")
    assert _events(sb, app) == [] and sb.messages() == []


def test_the_http_routes_open_a_thread_and_change_its_context(sb, app):
    _subscribe(sb, app)
    opened = requests.post(sb.url + "/_sandbox/events/assistant_threads",
                           json={"user": "amelia.hart", "context_channel": "general"}, timeout=5).json()
    assert opened["channel"].startswith("D") and len(opened["event_ids"]) == 1
    changed = requests.post(sb.url + "/_sandbox/events/assistant_context", json={
        "user": "amelia.hart", "context_channel": "alerts-servicenow", "thread_ts": opened["thread_ts"]}, timeout=5)
    assert changed.status_code == 200 and changed.json()["event_id"]
    bad = requests.post(sb.url + "/_sandbox/events/assistant_threads", json={"context_channel": "nope"}, timeout=5)
    assert bad.status_code == 400 and "nope" in bad.json()["error"]
    assert [e["payload"]["event"]["type"] for e in _events(sb, app)] == [
        "assistant_thread_started", "assistant_thread_context_changed"]
