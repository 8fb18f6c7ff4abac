"""Round 14 of the slack_sdk probe, `WebClient` used unchanged. What answered unlike Slack before round 14:
conversations.history with `oldest` but no `latest` gave the newest page instead of the messages closest to
`oldest` (Slack's documented forward paging), chat.update's `message` left out the `metadata` it was sent,
chat.scheduleMessage into a public channel the bot is not in went through without chat:write.public (Slack:
not_in_channel, as chat.postMessage), and reactions.* with `file` / `file_comment` all said file_not_found
(Slack: a file is not_reactable, reactions.get reads a file's reactions, file comments are gone)."""

from __future__ import annotations

import time

from tests.sandbox.slack.test_client_probe_round3 import _human, fails


def _texts(page) -> list[str]:
    return [m["text"] for m in page["messages"]]


def test_history_from_oldest_pages_forward(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("alerts-jira")["id"]
    ts = [slack_client.chat_postMessage(channel=channel, text=f"m{n}")["ts"] for n in range(7)]
    first = slack_client.conversations_history(channel=channel, oldest=ts[1], limit=2)
    # the two messages right after `oldest`, still newest first; more (newer) ones follow
    assert _texts(first) == ["m3", "m2"] and first["has_more"] is True
    cursor = first["response_metadata"]["next_cursor"]
    second = slack_client.conversations_history(channel=channel, oldest=ts[1], limit=2, cursor=cursor)
    assert _texts(second) == ["m5", "m4"] and second["has_more"] is True
    third = slack_client.conversations_history(channel=channel, oldest=ts[1], limit=2,
                                               cursor=second["response_metadata"]["next_cursor"])
    assert _texts(third) == ["m6"] and third["has_more"] is False
    assert third["response_metadata"]["next_cursor"] == ""
    inclusive = slack_client.conversations_history(channel=channel, oldest=ts[1], inclusive=True, limit=2)
    assert _texts(inclusive) == ["m2", "m1"]
    # slack_sdk's iterator walks the pages with the same arguments
    walked = [t for page in slack_client.conversations_history(channel=channel, oldest=ts[4], limit=1)
              for t in _texts(page)]
    assert walked == ["m5", "m6"]
    everything = slack_client.conversations_history(channel=channel, oldest=ts[1])
    assert _texts(everything) == ["m6", "m5", "m4", "m3", "m2"] and everything["has_more"] is False
    # with `latest` too (or neither) the page is the one closest to `latest`, as before
    both = slack_client.conversations_history(channel=channel, oldest=ts[1], latest=ts[6], limit=2)
    assert _texts(both) == ["m5", "m4"] and both["has_more"] is True
    assert _texts(slack_client.conversations_history(channel=channel, limit=2)) == ["m6", "m5"]


def test_chat_update_echoes_the_metadata_it_is_sent(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("alerts-jira")["id"]
    posted = slack_client.chat_postMessage(channel=channel, text="PROJ-2", metadata={
        "event_type": "ticket_opened", "event_payload": {"key": "PROJ-2"}})
    meta = {"event_type": "ticket_closed", "event_payload": {"key": "PROJ-2", "by": "amelia"}}
    edited = slack_client.chat_update(channel=channel, ts=posted["ts"], text="PROJ-2 closed", metadata=meta)
    assert edited["message"]["metadata"] == meta and edited["text"] == "PROJ-2 closed"
    [shown] = slack_client.conversations_history(channel=channel, include_all_metadata=True)["messages"]
    assert shown["metadata"] == meta
    plain = slack_client.chat_update(channel=channel, ts=posted["ts"], text="PROJ-2 closed again")
    assert "metadata" not in plain["message"]  # not sent: not echoed [unc], still kept
    [shown] = slack_client.conversations_history(channel=channel, include_all_metadata=True)["messages"]
    assert shown["metadata"] == meta


def test_schedule_into_a_public_channel_the_bot_is_not_in(slack_client, slack_sandbox):
    random = slack_sandbox.workspace.channel("random")["id"]
    post_at = int(time.time()) + 3600
    assert slack_client.chat_scheduleMessage(channel=random, text="with chat:write.public", post_at=post_at)["ok"]
    slack_sandbox.set_scopes(["chat:write", "channels:read", "channels:join"])
    fails(slack_client.chat_scheduleMessage, "not_in_channel", channel=random, text="x", post_at=post_at)
    fails(slack_client.chat_scheduleMessage, "not_in_channel", channel="#random", text="x", post_at=post_at)
    general = slack_sandbox.workspace.channel("general")["id"]
    assert slack_client.chat_scheduleMessage(channel=general, text="member", post_at=post_at)["ok"]
    slack_client.conversations_join(channel=random)
    assert slack_client.chat_scheduleMessage(channel=random, text="joined", post_at=post_at)["ok"]


def test_reactions_on_files_and_file_comments(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("alerts-jira")["id"]
    up = slack_client.files_upload_v2(channel=channel, content="evidence", filename="e.txt", title="Evidence")
    fid = up["file"]["id"]
    add = slack_client.api_call  # slack_sdk's reactions_add takes channel + timestamp only
    fails(add, "not_reactable", api_method="reactions.add", params={"file": fid, "name": "eyes"})
    fails(add, "file_not_found", api_method="reactions.add", params={"file": "F0000000000", "name": "eyes"})
    fails(add, "file_comment_not_found", api_method="reactions.add", params={"file_comment": "Fc0", "name": "eyes"})
    fails(slack_client.reactions_remove, "no_reaction", file=fid, name="eyes")
    got = slack_client.reactions_get(file=fid)
    assert got["type"] == "file" and got["file"]["id"] == fid and got["file"]["name"] == "e.txt"
    assert "reactions" not in got["file"] and "message" not in got.data
    fails(slack_client.reactions_get, "file_not_found", file="F0000000000")
    fails(slack_client.reactions_get, "file_comment_not_found", file_comment="Fc00000000")
    fails(slack_client.reactions_get, "no_item_specified")
    # the way Slack wants it: react to the message that shared the file
    [share] = slack_client.conversations_history(channel=channel, limit=1)["messages"]
    assert share["files"][0]["id"] == fid
    slack_client.reactions_add(channel=channel, timestamp=share["ts"], name="eyes")
    items = slack_client.reactions_list()["items"]
    assert items[0]["type"] == "message" and items[0]["message"]["files"][0]["id"] == fid
    slack_client.files_delete(file=fid)
    fails(slack_client.reactions_get, "file_deleted", file=fid)


def test_schedule_at_most_30_messages_in_5_minutes_per_channel(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("alerts-jira")["id"]
    at = int(time.time()) + 3600
    for n in range(30):
        slack_client.chat_scheduleMessage(channel=channel, text=f"s{n}", post_at=at + n)
    fails(slack_client.chat_scheduleMessage, "restricted_too_many", channel=channel, text="x", post_at=at + 30)
    general = slack_sandbox.workspace.channel("general")["id"]
    assert slack_client.chat_scheduleMessage(channel=general, text="other channel", post_at=at)["ok"]
    assert slack_client.chat_scheduleMessage(channel=channel, text="later", post_at=at + 900)["ok"]


def test_thread_ts_must_look_like_a_ts(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("general")["id"]
    for bad in ("", "0", "abc"):
        answer = fails(slack_client.chat_postMessage, "invalid_thread_ts", channel=channel, text="x", thread_ts=bad)
        assert answer["response_metadata"]["messages"] == [f"[ERROR] {bad} is not a valid thread_ts"]
    human = _human(slack_sandbox)
    fails(slack_client.chat_postEphemeral, "invalid_thread_ts", channel=channel, user=human, text="x", thread_ts="0")
    fails(slack_client.chat_scheduleMessage, "invalid_thread_ts", channel=channel, text="x", thread_ts="",
          post_at=int(time.time()) + 60)
    # a ts naming no message (a float that lost its trailing zero) is taken, the reply shows in no history
    parent = slack_client.chat_postMessage(channel=channel, text="parent")["ts"]
    mistyped = parent.rstrip("0") + "9"
    assert slack_client.chat_postMessage(channel=channel, text="lost reply", thread_ts=mistyped)["ok"]
    assert _texts(slack_client.conversations_history(channel=channel, limit=5)) == ["parent"]


def test_a_message_scheduled_with_metadata_never_posts(slack_client, slack_sandbox):
    """Slack's chat.scheduleMessage docs: "Bug alert: Messages scheduled with chat.scheduleMessage will not
    post if the metadata parameter is used." Accepted and listed, then dropped when due."""
    channel = slack_sandbox.workspace.channel("alerts-jira")["id"]
    at = int(time.time()) + 1
    meta = {"event_type": "reminder", "event_payload": {"id": "1"}}
    with_meta = slack_client.chat_scheduleMessage(channel=channel, text="with metadata", post_at=at, metadata=meta)
    slack_client.chat_scheduleMessage(channel=channel, text="plain", post_at=at)
    listed = slack_client.chat_scheduledMessages_list(channel=channel)["scheduled_messages"]
    assert with_meta["scheduled_message_id"] in {m["id"] for m in listed}
    time.sleep(1.5)
    assert _texts(slack_client.conversations_history(channel=channel)) == ["plain"]
    assert slack_client.chat_scheduledMessages_list(channel=channel)["scheduled_messages"] == []
