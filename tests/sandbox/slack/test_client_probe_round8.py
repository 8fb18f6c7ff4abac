"""slack_sdk calls that answered wrongly before round 8 of the client probe: reactions.add / reactions.remove
took any well-formed name (Slack answers invalid_name unless it is a standard emoji or one of the
workspace's custom emoji), conversations.info always carried num_members (only with include_num_members),
a thread reply's message_changed / message_deleted events lacked its thread_ts and parent_user_id, and a
broadcast reply's message event its `root`; bookmarks.remove in a channel without bookmarks was a 500
internal_error (not_found). Also pins thread fields on read (parent_user_id, reply_users,
latest_reply) as they already answered."""

from __future__ import annotations

from tests.sandbox.slack import test_events_api
from tests.sandbox.slack.test_client_probe_round3 import _human, fails
from tests.sandbox.slack.test_events_api import _subscribe
from tests.sandbox.slack.test_events_own_changes import _client, _events

app, sb = test_events_api.app, test_events_api.sb  # the Events app and sandbox fixtures


def test_reactions_take_standard_and_custom_emoji_only(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("alerts-jira")["id"]
    ts = slack_client.chat_postMessage(channel=channel, text="PROJ-8 opened")["ts"]
    assert set(slack_client.emoji_list()["emoji"]) >= {"projectx", "approved"}
    for name in ("thumbsup", ":white_check_mark:", "projectx", "approved", "wave::skin-tone-3", "sweat_smile",
                 "brain", "octagonal_sign", "man-shrugging", "thumbsdown::skin-tone-2"):
        slack_client.reactions_add(channel=channel, timestamp=ts, name=name)
    names = [r["name"] for r in slack_client.reactions_get(channel=channel, timestamp=ts)["message"]["reactions"]]
    # an alias is kept under the emoji's canonical name (Slack reports thumbsup as +1)
    assert names == ["+1", "white_check_mark", "projectx", "approved", "wave::skin-tone-3", "sweat_smile", "brain",
                     "octagonal_sign", "man-shrugging", "-1::skin-tone-2"]
    fails(slack_client.reactions_add, "already_reacted", channel=channel, timestamp=ts, name="+1")
    for name in ("not_an_emoji_xyz", "projectx::skin-tone-2", "thumbsup::skin-tone-9", "fire::skin-tone-2"):
        fails(slack_client.reactions_add, "invalid_name", channel=channel, timestamp=ts, name=name)
    fails(slack_client.reactions_remove, "invalid_name", channel=channel, timestamp=ts, name="nope_not_emoji")
    fails(slack_client.reactions_add, "already_reacted", channel=channel, timestamp=ts, name="projectx")
    fails(slack_client.reactions_remove, "no_reaction", channel=channel, timestamp=ts, name="eyes")
    slack_client.reactions_remove(channel=channel, timestamp=ts, name="projectx")
    fails(slack_client.reactions_remove, "no_reaction", channel=channel, timestamp=ts, name="projectx")


def test_conversations_info_counts_members_only_when_asked(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("alerts-jira")["id"]
    assert "num_members" not in slack_client.conversations_info(channel=channel)["channel"]
    counted = slack_client.conversations_info(channel=channel, include_num_members=True)["channel"]
    listed = next(c for c in slack_client.conversations_list()["channels"] if c["id"] == channel)
    assert counted["num_members"] == listed["num_members"] > 0


def test_thread_fields_on_replies_history_and_the_root(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("general")["id"]
    amelia = _human(slack_sandbox)
    root = slack_sandbox.post_as_user("general", "is prod down?", user="amelia.hart")["ts"]
    first = slack_client.chat_postMessage(channel=channel, text="looking", thread_ts=root)["ts"]
    loud = slack_client.chat_postMessage(channel=channel, text="yes, INC0010008", thread_ts=root,
                                         reply_broadcast=True)["ts"]
    parent, *replies = slack_client.conversations_replies(channel=channel, ts=root)["messages"]
    assert [r["ts"] for r in replies] == [first, loud]
    assert all(r["parent_user_id"] == amelia and r["thread_ts"] == root for r in replies)
    me = slack_sandbox.workspace.bot_user_id
    assert (parent["reply_count"], parent["reply_users"], parent["reply_users_count"], parent["latest_reply"]) == (
        2, [me], 1, loud)
    broadcast = next(m for m in slack_client.conversations_history(channel=channel)["messages"] if m["ts"] == loud)
    assert (broadcast["subtype"], broadcast["parent_user_id"], broadcast["root"]["ts"]) == (
        "thread_broadcast", amelia, root)
    edited = slack_client.chat_update(channel=channel, ts=first, text="looking (edited)")
    assert edited["ts"] == first
    assert slack_client.chat_getPermalink(channel=channel, message_ts=first)["permalink"].endswith(
        f"?thread_ts={root}&cid={channel}")


def test_a_replys_change_and_delete_events_name_its_parents_author(sb, app):
    _subscribe(sb, app, "message.channels")
    client = _client(sb)
    root = client.chat_postMessage(channel="#general", text="deploy 42")["ts"]
    reply = client.chat_postMessage(channel="#general", text="step 1", thread_ts=root)
    client.chat_update(channel=reply["channel"], ts=reply["ts"], text="step 1 done")
    client.chat_update(channel=reply["channel"], ts=root, text="deploy 42 (green)")
    client.chat_delete(channel=reply["channel"], ts=reply["ts"])
    loud = client.chat_postMessage(channel="#general", text="all green", thread_ts=root, reply_broadcast=True)
    _, posted, changed, root_changed, deleted, broadcast = _events(sb, app)
    me = sb.workspace.bot_user_id
    assert posted["parent_user_id"] == me and posted["thread_ts"] == root
    assert changed["subtype"] == "message_changed" and changed["message"]["text"] == "step 1 done"
    for message in (changed["message"], changed["previous_message"], deleted["previous_message"]):
        assert (message["thread_ts"], message["parent_user_id"]) == (root, me)
    assert (root_changed["message"]["reply_count"], root_changed["message"]["latest_reply"]) == (1, reply["ts"])
    assert "parent_user_id" not in root_changed["message"]
    assert deleted["subtype"] == "message_deleted" and deleted["deleted_ts"] == reply["ts"]
    assert (broadcast["subtype"], broadcast["ts"], broadcast["parent_user_id"]) == ("thread_broadcast", loud["ts"], me)
    assert (broadcast["root"]["ts"], broadcast["root"]["reply_count"], broadcast["root"]["latest_reply"]) == (
        root, 1, loud["ts"])


def test_bookmarks_remove_in_a_channel_without_bookmarks(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("alerts-jira")["id"]
    fails(slack_client.bookmarks_remove, "not_found", channel_id=channel, bookmark_id="Bk0000000000")  # was a 500
    mark = slack_client.bookmarks_add(channel_id=channel, title="Runbook", type="link",
                                      link="https://runbooks.example/sync")["bookmark"]
    slack_client.bookmarks_remove(channel_id=channel, bookmark_id=mark["id"])
    fails(slack_client.bookmarks_remove, "not_found", channel_id=channel, bookmark_id=mark["id"])
    assert slack_client.bookmarks_list(channel_id=channel)["bookmarks"] == []
