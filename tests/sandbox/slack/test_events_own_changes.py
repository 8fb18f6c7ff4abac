"""Events API for what the app itself does through slack_sdk, as Slack sends it: the bot's own posts arrive
as `message` events with `bot_id` / `bot_profile` (apps filter them out by these), chat.update is
`message_changed`, chat.delete `message_deleted`, reactions.add/remove `reaction_added` / `reaction_removed`,
invites and kicks `member_joined_channel` (with `inviter`) / `member_left_channel`, channel admin
`channel_*` / `group_*`, auth.revoke `tokens_revoked`, the App Home `app_home_opened`; only subscribed types."""

from __future__ import annotations

import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from sandbox.slack.events import EventError
from tests.sandbox.slack import test_events_api
from tests.sandbox.slack.test_events_api import _subscribe

app, sb = test_events_api.app, test_events_api.sb  # the Events app and sandbox fixtures


def _client(sb) -> WebClient:
    return WebClient(token=sb.bot_token, base_url=sb.url + "/api/")


def _events(sb, app) -> list[dict]:
    """The events the app received, by `event_ts` (deliveries run in parallel, as Slack's, so they may land
    in any order)."""
    assert sb.wait_for_events(5)
    assert all(r["valid"] for r in app.events())
    return sorted((r["payload"]["event"] for r in app.events()), key=lambda e: float(e["event_ts"]))


def _human(sb, handle: str = "amelia.hart") -> str:
    return next(u for u, p in sb.workspace.users.items() if p["name"] == handle)


def test_the_bots_own_post_is_a_message_event_with_bot_id_and_bot_profile(sb, app):
    _subscribe(sb, app, "message.channels")
    client, ws = _client(sb), sb.workspace
    posted = client.chat_postMessage(channel="#general", text="build green")
    reply = client.chat_postMessage(channel="#general", text="details", thread_ts=posted["ts"])
    client.chat_postEphemeral(channel="#general", user=_human(sb), text="only you see this")
    WebhookClient(sb.webhook_url_for("general")).send_dict({"text": "from a webhook", "icon_emoji": ":bell:"})
    own, threaded, hooked = _events(sb, app)
    assert (own["type"], own["text"], own["ts"], own["channel"]) == ("message", "build green", posted["ts"],
                                                                     posted["channel"])
    assert "subtype" not in own and own["channel_type"] == "channel" and own["event_ts"] == posted["ts"]
    assert (own["bot_id"], own["user"], own["app_id"]) == (ws.bot_id, ws.bot_user_id, ws.app_id)
    assert own["bot_profile"]["id"] == ws.bot_id and own["bot_profile"]["app_id"] == ws.app_id
    assert set(own["bot_profile"]["icons"]) == {"image_36", "image_48", "image_72"}
    assert (threaded["ts"], threaded["thread_ts"], threaded["parent_user_id"]) == (reply["ts"], posted["ts"],
                                                                                   ws.bot_user_id)
    assert (hooked["subtype"], hooked["text"], hooked["bot_id"]) == ("bot_message", "from a webhook", ws.bot_id)
    assert (hooked["app_id"], hooked["icons"]) == (ws.app_id, {"emoji": ":bell:"})
    # what a Bolt-style app does with them: every one is its own, none is a person's
    assert [e for e in (own, threaded, hooked) if not e.get("bot_id")] == []


def test_chat_update_is_message_changed_and_chat_delete_message_deleted(sb, app):
    client = _client(sb)
    posted = client.chat_postMessage(channel="#alerts-jira", text="PROJ-1 open")
    _subscribe(sb, app, "message.channels")
    client.chat_update(channel=posted["channel"], ts=posted["ts"], text="PROJ-1 done")
    client.chat_delete(channel=posted["channel"], ts=posted["ts"])
    changed, deleted = _events(sb, app)
    assert (changed["type"], changed["subtype"], changed["hidden"], changed["channel"]) == (
        "message", "message_changed", True, posted["channel"])
    assert (changed["message"]["text"], changed["message"]["ts"]) == ("PROJ-1 done", posted["ts"])
    assert changed["message"]["edited"]["user"] == sb.workspace.bot_user_id
    assert changed["previous_message"]["text"] == "PROJ-1 open" and "edited" not in changed["previous_message"]
    assert changed["ts"] == changed["event_ts"] and float(changed["ts"]) >= float(posted["ts"])
    assert (deleted["subtype"], deleted["deleted_ts"], deleted["hidden"]) == ("message_deleted", posted["ts"], True)
    assert deleted["previous_message"]["text"] == "PROJ-1 done" and deleted["channel_type"] == "channel"


def test_a_message_event_subscription_is_per_conversation_type(sb, app):
    _subscribe(sb, app, "message.im")
    client = _client(sb)
    client.chat_postMessage(channel="#general", text="not subscribed: message.channels")
    dm = client.conversations_open(users=_human(sb))["channel"]["id"]
    client.chat_postMessage(channel=dm, text="to the DM")
    [event] = _events(sb, app)
    assert (event["channel"], event["channel_type"], event["text"]) == (dm, "im", "to the DM")


def test_reactions_of_the_bot_and_of_people_are_added_and_removed_events(sb, app):
    client = _client(sb)
    posted = client.chat_postMessage(channel="#general", text="react to me")
    _subscribe(sb, app, "reaction_added", "reaction_removed")
    client.reactions_add(channel=posted["channel"], timestamp=posted["ts"], name="eyes")
    client.reactions_remove(channel=posted["channel"], timestamp=posted["ts"], name="eyes")
    assert sb.react_as_user("general", posted["ts"], "tada", user="chen.wei")
    assert sb.react_as_user("general", posted["ts"], "tada", user="chen.wei", added=False)
    assert sb.react_as_user("general", posted["ts"], "tada", user="chen.wei", added=False) is None  # not there
    events = _events(sb, app)
    bot, chen = sb.workspace.bot_user_id, _human(sb, "chen.wei")
    assert [(e["type"], e["user"], e["reaction"]) for e in events] == [
        ("reaction_added", bot, "eyes"), ("reaction_removed", bot, "eyes"),
        ("reaction_added", chen, "tada"), ("reaction_removed", chen, "tada")]
    assert {e["item"]["ts"] for e in events} == {posted["ts"]} and {e["item_user"] for e in events} == {bot}
    assert "reactions" not in client.conversations_history(channel=posted["channel"])["messages"][0]
    # reaction_removed no longer subscribed: only the added one is sent
    app.received.clear()
    sb.configure_events(events=["reaction_added"])
    client.reactions_add(channel=posted["channel"], timestamp=posted["ts"], name="eyes")
    client.reactions_remove(channel=posted["channel"], timestamp=posted["ts"], name="eyes")
    assert [e["type"] for e in _events(sb, app)] == ["reaction_added"]


def test_invite_and_kick_are_member_joined_with_inviter_and_member_left(sb, app):
    client = _client(sb)
    created = client.conversations_create(name="incident-42")["channel"]["id"]
    _subscribe(sb, app, "member_joined_channel", "member_left_channel")
    dana = _human(sb, "dana.okafor")
    client.conversations_invite(channel=created, users=dana)
    client.conversations_kick(channel=created, user=dana)
    client.conversations_leave(channel=created)
    joined, left, bot_left = _events(sb, app)
    assert (joined["type"], joined["user"], joined["inviter"], joined["channel"], joined["channel_type"]) == (
        "member_joined_channel", dana, sb.workspace.bot_user_id, created, "C")
    assert (left["type"], left["user"], left["channel"]) == ("member_left_channel", dana, created)
    assert "inviter" not in left
    assert (bot_left["type"], bot_left["user"]) == ("member_left_channel", sb.workspace.bot_user_id)
    # once out, the bot hears nothing from the channel
    assert requests.post(sb.url + "/_sandbox/events/messages", json={"channel": "incident-42", "text": "x"}
                         ).json()["event_ids"] == []


def test_channel_events_are_workspace_wide_for_public_and_members_only_for_private(sb, app):
    _subscribe(sb, app, "channel_created", "channel_archive", "channel_rename", "group_rename", "group_archive")
    client, bot = _client(sb), sb.workspace.bot_user_id
    public = client.conversations_create(name="release-train")["channel"]
    client.conversations_rename(channel=public["id"], name="release-train-2")
    client.conversations_archive(channel=public["id"])
    client.conversations_unarchive(channel=public["id"])  # not subscribed: nothing
    private = client.conversations_create(name="war-room", is_private=True)["channel"]  # no event for it
    client.conversations_rename(channel=private["id"], name="war-room-2")
    client.conversations_archive(channel=private["id"])
    made, renamed, archived, group_renamed, group_archived = _events(sb, app)
    assert (made["type"], made["channel"]["id"], made["channel"]["name"], made["channel"]["creator"]) == (
        "channel_created", public["id"], "release-train", bot)
    assert (renamed["type"], renamed["channel"]["id"], renamed["channel"]["name"]) == (
        "channel_rename", public["id"], "release-train-2")
    assert (archived["type"], archived["channel"], archived["user"]) == ("channel_archive", public["id"], bot)
    assert (group_renamed["type"], group_renamed["channel"]["name"]) == ("group_rename", "war-room-2")
    assert (group_archived["type"], group_archived["channel"]) == ("group_archive", private["id"])


def test_auth_revoke_sends_tokens_revoked(sb, app):
    _subscribe(sb, app, "tokens_revoked")
    assert _client(sb).auth_revoke()["revoked"] is True
    [revoked] = _events(sb, app)
    assert revoked["type"] == "tokens_revoked" and revoked["tokens"] == {"bot": [sb.workspace.bot_user_id]}


def test_opening_the_app_home_sends_app_home_opened_with_the_published_view(sb, app):
    _subscribe(sb, app, "app_home_opened")
    amelia = _human(sb)
    assert sb.open_app_home("amelia.hart", tab="messages")
    published = _client(sb).views_publish(user_id=amelia, view={"type": "home", "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Your approvals"}}]})["view"]
    assert requests.post(sb.url + "/_sandbox/events/app_home", json={"user": amelia}).json()["event_id"]
    messages_tab, home = _events(sb, app)
    assert (messages_tab["type"], messages_tab["tab"], messages_tab["user"]) == ("app_home_opened", "messages",
                                                                               amelia)
    assert "view" not in messages_tab and messages_tab["channel"].startswith("D")
    assert (home["tab"], home["view"]["id"], home["view"]["hash"]) == ("home", published["id"], published["hash"])
    sb.configure_events(events=["message.im"])
    assert sb.open_app_home("amelia.hart") is None  # no longer subscribed


def test_a_persons_reply_in_the_bots_thread_carries_thread_ts_and_parent_user_id(sb, app):
    client = _client(sb)
    parent = client.chat_postMessage(channel="#alerts-jira", text="Approve PROJ-9?")
    _subscribe(sb, app, "message.channels")
    reply = sb.post_as_user("alerts-jira", "approved", user="dana.okafor", thread_ts=parent["ts"])
    [event] = _events(sb, app)
    assert (event["ts"], event["thread_ts"], event["parent_user_id"]) == (reply["ts"], parent["ts"],
                                                                          sb.workspace.bot_user_id)
    thread = client.conversations_replies(channel=parent["channel"], ts=parent["ts"])["messages"]
    assert [m["text"] for m in thread] == ["Approve PROJ-9?", "approved"]
    with pytest.raises(EventError):
        sb.post_as_user("alerts-jira", "x", thread_ts="1.000001")


def test_response_url_replace_and_delete_are_message_changed_and_message_deleted(sb, app):
    posted = _client(sb).chat_postMessage(channel="#compliance-delivery", text="Approve task-1?")
    _subscribe(sb, app, "message.channels")
    hook = WebhookClient(sb.interactivity.response_urls.new(posted["channel"], posted["ts"], _human(sb)))
    assert hook.send(text="Approved by Amelia", replace_original=True).status_code == 200
    assert hook.send(text="only Amelia sees this").status_code == 200  # ephemeral: no event
    assert hook.send(delete_original=True).status_code == 200
    changed, deleted = _events(sb, app)
    assert (changed["subtype"], changed["message"]["text"], changed["previous_message"]["text"]) == (
        "message_changed", "Approved by Amelia", "Approve task-1?")
    assert (deleted["subtype"], deleted["deleted_ts"]) == ("message_deleted", posted["ts"])


def test_a_person_editing_or_deleting_their_message_is_message_changed_and_deleted(sb, app):
    _subscribe(sb, app, "message.channels")
    posted = sb.post_as_user("general", "/deploy prod", user="bruno.keller")
    sb.edit_as_user("general", posted["ts"], "/deploy staging")
    assert requests.post(sb.url + "/_sandbox/events/deletions", json={"channel": "general", "ts": posted["ts"]}
                         ).json() == {"deleted": True}
    _message, changed, deleted = _events(sb, app)
    bruno = _human(sb, "bruno.keller")
    assert (changed["subtype"], changed["message"]["text"], changed["message"]["edited"]["user"]) == (
        "message_changed", "/deploy staging", bruno)
    assert changed["previous_message"]["text"] == "/deploy prod"
    assert (deleted["subtype"], deleted["deleted_ts"], deleted["previous_message"]["text"]) == (
        "message_deleted", posted["ts"], "/deploy staging")
    bots = _client(sb).chat_postMessage(channel="#general", text="mine")
    with pytest.raises(EventError):
        sb.edit_as_user("general", bots["ts"], "not theirs")


def test_a_person_uploading_a_file_is_file_share_and_file_shared_the_app_can_download(sb, app):
    _subscribe(sb, app, "message.channels", "file_shared")
    up = sb.upload_as_user("alerts-jira", "export.csv", "key,status\nPROJ-1,Done\n", user="priya.nair",
                           text="this week's export")
    events = {e["type"]: e for e in _events(sb, app)}
    priya = _human(sb, "priya.nair")
    message, shared = events["message"], events["file_shared"]
    assert (message["subtype"], message["user"], message["text"], message["upload"]) == (
        "file_share", priya, "this week's export", True)
    assert "bot_id" not in message and message["files"][0]["id"] == up["file_id"]
    assert (shared["file_id"], shared["user_id"], shared["channel_id"], shared["file"]) == (
        up["file_id"], priya, up["channel"], {"id": up["file_id"]})
    # what an app does next: files.info, then the bytes with its bot token
    info = _client(sb).files_info(file=shared["file_id"])["file"]
    assert (info["name"], info["user"], info["size"]) == ("export.csv", priya, 23)
    got = requests.get(info["url_private_download"], headers={"Authorization": f"Bearer {sb.bot_token}"}, timeout=5)
    assert got.content == b"key,status\nPROJ-1,Done\n"
    # the bot's own upload is file_shared too (and its message event, as any bot post)
    app.received.clear()
    mine = _client(sb).files_upload_v2(channel=up["channel"], content="x", filename="x.txt")["file"]
    assert {e["type"] for e in _events(sb, app)} == {"message", "file_shared"}
    assert [e["file_id"] for e in _events(sb, app) if e["type"] == "file_shared"] == [mine["id"]]
