"""Round 23 probes with slack_sdk 3.48's WebClient, unchanged, against the Slack sandbox.

- chat.update's `reply_broadcast` ("Broadcast an existing thread reply to make it visible to everyone in the
  channel"): the sandbox ignored it, the reply stayed out of conversations.history.
- chat.scheduledMessages.list with an `oldest` / `latest` that is not a number answered HTTP 500
  internal_error; chat.scheduleMessage with `post_at=1e400` (inf) too.
- conversations.replies paging through the SDK's iterator with `oldest` / `latest` / `inclusive`: the parent
  leads the first page only, pages never repeat a reply.
"""

from __future__ import annotations

import base64
import time

from tests.sandbox.slack.test_client_probe_round3 import fails


def _texts(page) -> list[str]:
    return [m["text"] for m in page["messages"]]


def test_chat_update_with_reply_broadcast_shows_the_reply_in_the_channel(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("general")["id"]
    parent = slack_client.chat_postMessage(channel=channel, text="INC0010001 opened")["ts"]
    reply = slack_client.chat_postMessage(channel=channel, text="assigned", thread_ts=parent)["ts"]
    assert _texts(slack_client.conversations_history(channel=channel)) == ["INC0010001 opened"]
    updated = slack_client.chat_update(channel=channel, ts=reply, text="resolved", reply_broadcast=True)
    assert updated["message"]["subtype"] == "thread_broadcast" and updated["message"]["thread_ts"] == parent
    history = slack_client.conversations_history(channel=channel)["messages"]
    assert [(m["text"], m.get("subtype")) for m in history] == [("resolved", "thread_broadcast"),
                                                                ("INC0010001 opened", None)]
    assert history[0]["root"]["ts"] == parent and history[0]["root"]["reply_count"] == 1
    thread = slack_client.conversations_replies(channel=channel, ts=parent)["messages"]
    assert [m["ts"] for m in thread] == [parent, reply] and "root" not in thread[1]
    # a top-level message has no thread to broadcast from: reply_broadcast changes nothing
    top = slack_client.chat_update(channel=channel, ts=parent, text="INC0010001 closed", reply_broadcast=True)
    assert "subtype" not in top["message"]
    assert len(slack_client.conversations_history(channel=channel)["messages"]) == 2


def test_scheduled_list_bounds_and_post_at_that_are_no_numbers_are_refused(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("general")["id"]
    now = int(time.time())
    first = slack_client.chat_scheduleMessage(channel=channel, text="a", post_at=now + 100)
    slack_client.chat_scheduleMessage(channel=channel, text="b", post_at=now + 300)
    listed = slack_client.chat_scheduledMessages_list(channel=channel, latest=str(now + 200))
    assert [m["id"] for m in listed["scheduled_messages"]] == [first["scheduled_message_id"]]
    fails(slack_client.chat_scheduledMessages_list, "invalid_ts_oldest", oldest="yesterday")
    fails(slack_client.chat_scheduledMessages_list, "invalid_ts_latest", latest="nan")
    fails(slack_client.chat_scheduleMessage, "invalid_time", channel=channel, text="c", post_at="1e400")
    fails(slack_client.chat_scheduleMessage, "invalid_time", channel=channel, text="c", post_at="-inf")


def test_replies_iterator_pages_a_window_with_the_parent_first(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("general")["id"]
    parent = slack_client.chat_postMessage(channel=channel, text="p")["ts"]
    replies = [slack_client.chat_postMessage(channel=channel, text=f"r{i}", thread_ts=parent)["ts"]
               for i in range(6)]
    pages = []
    for page in slack_client.conversations_replies(channel=channel, ts=parent, limit=2, oldest=replies[0],
                                                   latest=replies[5], inclusive=True):
        pages.append(_texts(page))
        assert page["has_more"] == bool(page["response_metadata"]["next_cursor"])
    assert pages == [["p", "r0"], ["r1", "r2"], ["r3", "r4"], ["r5"]]
    exclusive = [m for page in slack_client.conversations_replies(channel=channel, ts=replies[3], limit=3,
                                                                  oldest=replies[0], latest=replies[5])
                 for m in _texts(page)]
    assert exclusive == ["p", "r1", "r2", "r3", "r4"]  # a reply's ts reads the whole thread
    fails(slack_client.conversations_replies, "invalid_cursor", channel=channel, ts=parent, cursor="bm9wZQ==")


def test_history_and_replies_cursors_hold_while_messages_come_and_go(slack_client, slack_sandbox):
    """Slack's message cursors name the next page's first ts (`next_ts:…`); the sandbox's were offsets, so a
    message posted while paging back repeated one (m4 twice) and a deleted one skipped one."""
    channel = slack_sandbox.workspace.channel("general")["id"]
    tss = [slack_client.chat_postMessage(channel=channel, text=f"m{i}")["ts"] for i in range(6)]
    seen = []
    for n, page in enumerate(slack_client.conversations_history(channel=channel, limit=2)):
        seen += _texts(page)
        if n == 0:
            slack_client.chat_postMessage(channel=channel, text="late")
        if n == 1:
            slack_client.chat_delete(channel=channel, ts=tss[4])  # already read
    assert seen == ["m5", "m4", "m3", "m2", "m1", "m0"]
    first = slack_client.conversations_history(channel=channel, limit=2)
    assert base64.b64decode(first["response_metadata"]["next_cursor"]) == \
        b"next_ts:" + tss[3].replace(".", "").encode()
    forward = [m for page in slack_client.conversations_history(channel=channel, limit=2, oldest=tss[0])
               for m in _texts(page)]
    assert forward == ["m2", "m1", "m5", "m3", "late"]  # pages forward from oldest, each newest first
    parent = tss[0]
    replies = [slack_client.chat_postMessage(channel=channel, text=f"r{i}", thread_ts=parent)["ts"]
               for i in range(5)]
    seen = []
    for n, page in enumerate(slack_client.conversations_replies(channel=channel, ts=parent, limit=2)):
        seen += _texts(page)
        if n == 0:
            slack_client.chat_delete(channel=channel, ts=replies[0])  # already read: r1 must still come
    assert seen == ["m0", "r0", "r1", "r2", "r3", "r4"]
    legacy = base64.b64encode(b"next_id:2").decode()
    fails(slack_client.conversations_history, "invalid_cursor", channel=channel, cursor=legacy)
    fails(slack_client.conversations_replies, "invalid_cursor", channel=channel, ts=parent, cursor="%%%")


def test_a_cursor_with_a_negative_position_is_invalid(slack_client, slack_sandbox):
    """An offset cursor "next_id:-3" sliced from the end of the list (the last 3 users, and a next_cursor)."""
    negative = base64.b64encode(b"next_id:-3").decode()
    general = slack_sandbox.workspace.channel("general")["id"]
    fails(slack_client.users_list, "invalid_cursor", cursor=negative)
    fails(slack_client.conversations_list, "invalid_cursor", cursor=negative)
    fails(slack_client.conversations_members, "invalid_cursor", channel=general, cursor=negative)
    members = [m["id"] for page in slack_client.users_list(limit=3) for m in page["members"]]
    assert len(members) == len(set(members)) == len(slack_client.users_list()["members"])


def test_reactions_list_iterated_by_count_keeps_the_page_size(slack_client, slack_sandbox):
    """slack_sdk's iterator sends the first call's `count` again with the cursor: the pages stay that size (the
    second page held all the rest)."""
    channel = slack_sandbox.workspace.channel("general")["id"]
    for i in range(5):
        ts = slack_client.chat_postMessage(channel=channel, text=f"m{i}")["ts"]
        slack_client.reactions_add(channel=channel, timestamp=ts, name="eyes")
    sizes, texts = [], []
    for page in slack_client.reactions_list(count=2):
        sizes.append(len(page["items"]))
        texts += [item["message"]["text"] for item in page["items"]]
    assert sizes == [2, 2, 1] and texts == ["m4", "m3", "m2", "m1", "m0"]


def test_chat_update_with_empty_blocks_and_attachments_removes_them(slack_client, slack_sandbox):
    """chat.update's docs: leave a field out to keep it, "include an empty array" to remove it. The sandbox kept
    `blocks: []` / `attachments: []` on the message."""
    channel = slack_sandbox.workspace.channel("general")["id"]
    attachments = [{"text": "P2", "fallback": "P2"}]
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*INC0010002*"}}]
    ts = slack_client.chat_postMessage(channel=channel, text="INC0010002", attachments=attachments, blocks=blocks)["ts"]
    kept = slack_client.chat_update(channel=channel, ts=ts, text="INC0010002 assigned")["message"]
    assert kept["attachments"][0]["text"] == "P2" and kept["blocks"][0]["type"] == "section"
    cleared = slack_client.chat_update(channel=channel, ts=ts, text="INC0010002 closed", attachments=[], blocks=[])
    assert "attachments" not in cleared["message"] and "blocks" not in cleared["message"]
    [shown] = slack_client.conversations_history(channel=channel)["messages"]
    assert shown["text"] == "INC0010002 closed" and "attachments" not in shown and "blocks" not in shown
