"""A user token (xoxp-) administers channels, schedules, /me-posts, posts ephemerals and uploads files as the
person who installed, driven with slack_sdk 3.48 as against slack.com. Before round 11 these acted as the bot
with a user token: a channel it created had the bot as creator and member, a topic's creator was the bot, a
scheduled message or upload was the bot's, and files.delete removed anyone's file."""

from __future__ import annotations

import time

from slack_sdk import WebClient

from tests.sandbox.slack.test_client_probe_round3 import fails
from tests.sandbox.slack.test_oauth_install import oauth_client, sb  # noqa: F401
from tests.sandbox.slack.test_user_tokens import _uid, people  # noqa: F401


def test_a_person_administers_channels(sb, people):  # noqa: F811
    bot, chen, amelia = people
    me, her, bot_uid = _uid(sb, "chen.wei"), _uid(sb, "amelia.hart"), sb.workspace.bot_user_id

    made = chen.conversations_create(name="chen-project")["channel"]
    assert made["creator"] == me and made["is_member"] is True
    assert bot.conversations_members(channel=made["id"])["members"] == [me]
    assert bot.conversations_info(channel=made["id"])["channel"]["is_member"] is False
    fails(chen.conversations_create, "name_taken", name="chen-project")
    fails(chen.conversations_create, "invalid_name_specials", name="Chen Project")
    fails(chen.conversations_create, "invalid_name_punctuation", name="--")
    fails(chen.conversations_create, "invalid_name_required", name="")
    secret = chen.conversations_create(name="chen-secret", is_private=True)["channel"]["id"]
    fails(amelia.conversations_info, "channel_not_found", channel=secret)

    fails(amelia.conversations_setTopic, "not_in_channel", channel=made["id"], topic="x")
    joined = amelia.conversations_join(channel=made["id"])
    assert joined["channel"]["is_member"] is True and "warning" not in joined
    assert amelia.conversations_join(channel=made["id"])["warning"] == "already_in_channel"
    assert set(bot.conversations_members(channel=made["id"])["members"]) == {me, her}
    fails(amelia.conversations_join, "channel_not_found", channel=secret)  # hidden from a non-member
    fails(chen.conversations_join, "method_not_supported_for_channel_type", channel=secret)

    fails(chen.conversations_invite, "cant_invite_self", channel=made["id"], users=me)
    fails(amelia.conversations_invite, "channel_not_found", channel=secret, users=her)
    chen.conversations_invite(channel=secret, users=f"{her},{bot_uid}")
    assert amelia.conversations_info(channel=secret)["channel"]["is_member"] is True
    assert bot.conversations_info(channel=secret)["channel"]["is_member"] is True  # the app was added
    fails(amelia.conversations_kick, "cant_kick_self", channel=made["id"], user=her)
    fails(amelia.conversations_kick, "restricted_action", channel=made["id"], user=me)  # not hers [unc]
    chen.conversations_kick(channel=made["id"], user=her)
    assert bot.conversations_members(channel=made["id"])["members"] == [me]
    sb.workspace.users[her]["is_admin"] = True  # an admin may remove people anywhere
    amelia.conversations_join(channel=made["id"])
    amelia.conversations_kick(channel=made["id"], user=me)
    assert chen.conversations_info(channel=made["id"])["channel"]["is_member"] is False
    chen.conversations_join(channel=made["id"])

    topic = chen.conversations_setTopic(channel=made["id"], topic="Ship it")["channel"]["topic"]
    assert topic["value"] == "Ship it" and topic["creator"] == me
    assert chen.conversations_setPurpose(channel=made["id"], purpose="Why")["channel"]["purpose"]["creator"] == me
    said = [m["message"] for m in sb.messages(made["id"]) if m["message"].get("subtype") == "channel_topic"]
    assert said and said[0]["user"] == me and said[0]["topic"] == "Ship it" and "bot_id" not in said[0]
    history = chen.conversations_history(channel=made["id"])["messages"]
    assert {"channel_topic", "channel_purpose", "channel_join"} <= {m.get("subtype") for m in history}

    renamed = chen.conversations_rename(channel=made["id"], name="chen-launch")["channel"]
    assert renamed["name"] == "chen-launch" and "chen-project" in renamed["previous_names"]

    general = sb.workspace.channel("general")["id"]
    fails(chen.conversations_leave, "cant_leave_general", channel=general)
    assert chen.conversations_leave(channel=made["id"])["ok"]
    assert me not in bot.conversations_members(channel=made["id"])["members"]
    assert chen.conversations_leave(channel=made["id"])["not_in_channel"] is True
    fails(chen.conversations_archive, "not_in_channel", channel=made["id"])
    amelia.conversations_archive(channel=made["id"])
    assert chen.conversations_info(channel=made["id"])["channel"]["is_archived"] is True
    fails(amelia.conversations_archive, "already_archived", channel=made["id"])
    amelia.conversations_unarchive(channel=made["id"])
    fails(amelia.conversations_unarchive, "not_archived", channel=made["id"])


def test_a_person_renames_only_what_they_created(sb, people):  # noqa: F811
    bot, chen, amelia = people
    made = chen.conversations_create(name="chen-only")["channel"]["id"]
    amelia.conversations_join(channel=made)
    fails(amelia.conversations_rename, "not_authorized", channel=made, name="amelias")
    fails(chen.conversations_rename, "invalid_name_specials", channel=made, name="Bad Name")
    bots = bot.conversations_create(name="bots-own")["channel"]
    assert bots["creator"] == sb.workspace.bot_user_id and bots["is_member"] is True  # the bot's as before


def test_scheduled_me_and_ephemeral_messages_are_the_persons(sb, people):  # noqa: F811
    bot, chen, amelia = people
    me, her = _uid(sb, "chen.wei"), _uid(sb, "amelia.hart")
    random = sb.workspace.channel("random")["id"]  # Chen and Amelia are in it, the bot is not
    post_at = int(time.time()) + 3600
    mine = chen.chat_scheduleMessage(channel=random, text="later, from Chen", post_at=post_at)
    assert mine["message"]["user"] == me and "bot_id" not in mine["message"]
    theirs = bot.chat_scheduleMessage(channel="#general", text="later, from the bot", post_at=post_at)
    listed = chen.chat_scheduledMessages_list()["scheduled_messages"]
    assert [s["id"] for s in listed] == [mine["scheduled_message_id"]]
    assert [s["id"] for s in bot.chat_scheduledMessages_list()["scheduled_messages"]] == \
        [theirs["scheduled_message_id"]]
    assert amelia.chat_scheduledMessages_list()["scheduled_messages"] == []
    fails(amelia.chat_deleteScheduledMessage, "invalid_scheduled_message_id", channel=random,
          scheduled_message_id=mine["scheduled_message_id"])
    chen.chat_scheduleMessage(channel=random, text="soon, from Chen", post_at=int(time.time()) + 1)
    assert len(chen.chat_scheduledMessages_list(channel=random)["scheduled_messages"]) == 2
    time.sleep(1.2)
    assert len(chen.chat_scheduledMessages_list()["scheduled_messages"]) == 1  # the due one was posted
    [posted] = [m["message"] for m in sb.messages(random) if m["text"] == "soon, from Chen"]
    assert posted["user"] == me and "bot_id" not in posted
    assert chen.conversations_history(channel=random)["messages"][0]["user"] == me

    me_msg = chen.chat_meMessage(channel=random, text="waves")
    [stored] = [m["message"] for m in sb.messages(random) if m["ts"] == me_msg["ts"]]
    assert stored["subtype"] == "me_message" and stored["user"] == me and "bot_id" not in stored
    jira = sb.workspace.channel("alerts-jira")["id"]
    bot.conversations_kick(channel=jira, user=me)
    fails(chen.chat_meMessage, "not_in_channel", channel=jira, text="waves")
    fails(chen.chat_scheduleMessage, "not_in_channel", channel=jira, text="x", post_at=post_at)

    eph = chen.chat_postEphemeral(channel=random, user=her, text="just for you")["message_ts"]
    [kept] = [m for m in sb.messages(random) if m["ts"] == eph]
    assert kept["ephemeral_user"] == her and kept["message"]["user"] == me and "bot_id" not in kept["message"]
    fails(chen.chat_postEphemeral, "not_in_channel", channel=jira, user=her, text="x")


def test_a_person_uploads_lists_and_deletes_their_own_files(sb, people):  # noqa: F811
    bot, chen, amelia = people
    me = _uid(sb, "chen.wei")
    random = sb.workspace.channel("random")["id"]
    up = chen.files_upload_v2(channel=random, content="chen's notes", filename="notes.txt",
                              initial_comment="my notes")
    f = up["file"]
    info = chen.files_info(file=f["id"])["file"]
    assert info["user"] == me and random in info["channels"]
    [shared] = [m["message"] for m in sb.messages(random) if m["message"].get("files")]
    assert shared["user"] == me and "bot_id" not in shared and shared["text"] == "my notes"

    jira = sb.workspace.channel("alerts-jira")["id"]
    bot.conversations_kick(channel=jira, user=me)
    fails(chen.files_upload_v2, "not_in_channel", channel=jira, content="x", filename="x.txt")

    secret = amelia.conversations_create(name="amelia-secret", is_private=True)["channel"]["id"]
    hidden = amelia.files_upload_v2(channel=secret, content="secret", filename="s.txt")["file"]["id"]
    fails(chen.files_info, "file_not_found", file=hidden)
    assert hidden not in {x["id"] for x in chen.files_list()["files"]}
    assert f["id"] in {x["id"] for x in amelia.files_list()["files"]}  # shared in #random, hers to see
    assert {f["id"], hidden} <= {x["id"] for x in bot.files_list()["files"]}
    assert [x["id"] for x in chen.files_list(user=me)["files"]] == [f["id"]]

    fails(amelia.files_delete, "cant_delete_file", file=f["id"])
    chen.files_delete(file=f["id"])
    fails(chen.files_info, "file_deleted", file=f["id"])
    client = WebClient(token=sb.bot_token, base_url=sb.url + "/api/")
    assert client.files_info(file=hidden)["file"]["user"] == _uid(sb, "amelia.hart")
