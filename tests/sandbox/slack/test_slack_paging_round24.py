"""Round 24: the Slack list methods other than conversations.history / replies paged by an offset in the cursor
(`next_id:<n>`), so an item added or removed between two pages made the next page repeat or skip another one.
Their cursors are now stable, as Slack's (`sandbox.slack.paging`): they name the item the next page starts
at, and a cursor that is none of these is invalid_cursor. Driven with slack_sdk's WebClient, unchanged."""

from __future__ import annotations

import base64
import time

from tests.sandbox.slack.test_client_probe_round3 import fails
from tests.sandbox.slack.test_oauth_install import oauth_client, sb  # noqa: F401
from tests.sandbox.slack.test_user_tokens import people  # noqa: F401


def _cursor(page) -> str:
    return page["response_metadata"]["next_cursor"]


def test_conversations_list_neither_skips_nor_repeats_when_a_read_channel_goes_away(slack_client, slack_sandbox):
    everything = [c["id"] for c in slack_client.conversations_list(exclude_archived=True)["channels"]]
    assert len(everything) >= 4
    first = slack_client.conversations_list(exclude_archived=True, limit=2)
    assert [c["id"] for c in first["channels"]] == everything[:2]
    assert base64.b64decode(_cursor(first)).decode() == "team:" + everything[2]  # Slack's `team:C…` shape
    general = slack_sandbox.workspace.channel("general")["id"]
    read = next(c for c in everything[:2] if c != general)
    slack_sandbox.archive(read)  # gone from the list before page two
    created = slack_client.conversations_create(name="r24-new-channel")["channel"]["id"]
    seen, cursor = [c["id"] for c in first["channels"]], _cursor(first)
    while cursor:
        page = slack_client.conversations_list(exclude_archived=True, limit=2, cursor=cursor)
        seen += [c["id"] for c in page["channels"]]
        cursor = _cursor(page)
    assert seen == [*everything, created]  # an offset cursor skipped everything[2] here


def test_the_sdk_iterator_pages_conversations_list_and_users_conversations(slack_client):
    whole = [c["id"] for c in slack_client.conversations_list()["channels"]]
    paged = [c["id"] for page in slack_client.conversations_list(limit=1) for c in page["channels"]]
    assert paged == whole
    mine = [c["id"] for c in slack_client.users_conversations()["channels"]]
    assert [c["id"] for page in slack_client.users_conversations(limit=1) for c in page["channels"]] == mine


def test_users_list_keeps_its_place_when_a_user_joins_between_pages(slack_client, slack_sandbox):
    whole = [u["id"] for u in slack_client.users_list()["members"]]
    first = slack_client.users_list(limit=3)
    assert base64.b64decode(_cursor(first)).decode() == "user:" + whole[3]
    newcomer = slack_sandbox.add_user("r24.newcomer@projectx.example", "r24 newcomer")
    rest = [u["id"] for page in slack_client.users_list(limit=3, cursor=_cursor(first)) for u in page["members"]]
    seen = [u["id"] for u in first["members"]] + rest
    assert len(seen) == len(set(seen)) and set(seen) == {*whole, newcomer}
    assert seen[-1] == "USLACKBOT"  # Slackbot still last


def test_conversations_members_does_not_skip_when_a_read_member_is_kicked(slack_client, slack_sandbox):
    channel = slack_client.conversations_create(name="r24-members")["channel"]["id"]
    humans = [u for u in slack_sandbox.workspace.users if u not in ("USLACKBOT", slack_sandbox.workspace.bot_user_id)]
    slack_client.conversations_invite(channel=channel, users=",".join(humans[:5]))
    members = slack_client.conversations_members(channel=channel)["members"]
    assert len(members) == 6
    first = slack_client.conversations_members(channel=channel, limit=2)
    kicked = next(u for u in first["members"] if u != slack_sandbox.workspace.bot_user_id)
    slack_client.conversations_kick(channel=channel, user=kicked)
    rest = [u for page in slack_client.conversations_members(channel=channel, limit=2, cursor=_cursor(first))
            for u in page["members"]]
    assert first["members"] + rest == members


def test_reactions_list_does_not_skip_when_a_read_reaction_is_removed(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("general")["id"]
    stamps = [slack_client.chat_postMessage(channel=channel, text=f"r24 reacted {n}")["ts"] for n in range(5)]
    for ts in stamps:
        slack_client.reactions_add(channel=channel, timestamp=ts, name="eyes")
    first = slack_client.reactions_list(limit=2)
    assert [i["message"]["ts"] for i in first["items"]] == stamps[:2:-1][:2]  # newest first
    slack_client.reactions_remove(channel=channel, timestamp=stamps[4], name="eyes")
    rest = [i["message"]["ts"] for page in slack_client.reactions_list(limit=2, cursor=_cursor(first))
            for i in page["items"]]
    assert rest == [stamps[2], stamps[1], stamps[0]]


def test_files_remote_list_and_scheduled_messages_keep_their_place(slack_client, slack_sandbox):
    ids = [slack_client.files_remote_add(external_id=f"r24-{n}", external_url=f"https://docs.example/{n}",
                                         title=f"doc {n}")["file"]["id"] for n in range(4)]
    first = slack_client.files_remote_list(limit=2)
    assert [f["id"] for f in first["files"]] == [ids[3], ids[2]]
    slack_client.files_remote_remove(file=ids[3])
    rest = slack_client.files_remote_list(limit=2, cursor=_cursor(first))
    assert [f["id"] for f in rest["files"]] == [ids[1], ids[0]] and _cursor(rest) == ""

    channel = slack_sandbox.workspace.channel("general")["id"]
    at = int(time.time()) + 3600
    sids = [slack_client.chat_scheduleMessage(channel=channel, post_at=at + n, text=f"later {n}")
            ["scheduled_message_id"] for n in range(4)]
    first = slack_client.chat_scheduledMessages_list(limit=2)
    assert [s["id"] for s in first["scheduled_messages"]] == sids[:2]
    slack_client.chat_deleteScheduledMessage(channel=channel, scheduled_message_id=sids[0])
    rest = slack_client.chat_scheduledMessages_list(limit=2, cursor=_cursor(first))
    assert [s["id"] for s in rest["scheduled_messages"]] == sids[2:]


def test_stars_list_cursor_survives_a_removed_star(sb, people):  # noqa: F811
    _, chen, _ = people
    general = sb.workspace.channel("general")["id"]
    stamps = [chen.chat_postMessage(channel=general, text=f"r24 star {n}")["ts"] for n in range(4)]
    for ts in stamps:
        chen.stars_add(channel=general, timestamp=ts)
    first = chen.stars_list(limit=2, cursor="")
    assert [i["message"]["ts"] for i in first["items"]] == [stamps[3], stamps[2]]
    chen.stars_remove(channel=general, timestamp=stamps[3])
    rest = chen.stars_list(limit=2, cursor=_cursor(first))
    assert [i["message"]["ts"] for i in rest["items"]] == [stamps[1], stamps[0]] and _cursor(rest) == ""


def test_foreign_and_offset_cursors_are_invalid_cursor(slack_client, slack_sandbox):
    general = slack_sandbox.workspace.channel("general")["id"]
    users_cursor = _cursor(slack_client.users_list(limit=1))
    legacy = base64.b64encode(b"next_id:2").decode()
    for cursor in ("bm9wZQ==", legacy, "%%%", base64.b64encode(b"team:CNOSUCHONE").decode()):
        fails(slack_client.conversations_list, "invalid_cursor", cursor=cursor)
        fails(slack_client.users_list, "invalid_cursor", cursor=cursor)
        fails(slack_client.conversations_members, "invalid_cursor", channel=general, cursor=cursor)
        fails(slack_client.reactions_list, "invalid_cursor", cursor=cursor)
        fails(slack_client.files_remote_list, "invalid_cursor", cursor=cursor)
        fails(slack_client.chat_scheduledMessages_list, "invalid_cursor", cursor=cursor)
    fails(slack_client.conversations_list, "invalid_cursor", cursor=users_cursor)  # another list's cursor
    assert slack_client.conversations_members(channel=general, cursor=users_cursor)["ok"]  # both are `user:`


def test_search_cursor_survives_a_deleted_match(sb, people):  # noqa: F811
    bot, chen, _ = people
    channel = sb.workspace.channel("general")["id"]
    stamps = [bot.chat_postMessage(channel=channel, text=f"r24 failover step {n}")["ts"] for n in range(5)]
    first = chen.search_messages(query="failover", count=2, cursor="*")
    assert [m["ts"] for m in first["messages"]["matches"]] == [stamps[4], stamps[3]]
    bot.chat_delete(channel=channel, ts=stamps[4])  # read already: an offset cursor skipped stamps[2]
    rest = [m["ts"] for page in chen.search_messages(query="failover", count=2, cursor=_cursor(first))
            for m in page["messages"]["matches"]]
    assert rest == [stamps[2], stamps[1], stamps[0]]
    fails(chen.search_files, "invalid_cursor", query="failover", cursor=_cursor(first))  # a message cursor
