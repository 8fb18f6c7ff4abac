"""slack_sdk calls that answered wrongly before round 7 of the client probe: conversations.replies given a
reply's ts (Slack reads the whole thread), a deleted thread parent (Slack leaves a tombstone while replies
remain), conversations.history's pin_count (always 0), and the charset warnings (superfluous_charset on
a form body naming a charset; missing_charset without its [WARN] message)."""

from __future__ import annotations

import requests

from tests.sandbox.slack.test_client_probe_round3 import fails


def test_replies_given_a_replys_ts_read_the_whole_thread(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("alerts-jira")["id"]
    parent = slack_client.chat_postMessage(channel=channel, text="PROJ-7 opened")["ts"]
    replies = [slack_client.chat_postMessage(channel=channel, text=f"r{n}", thread_ts=parent)["ts"] for n in range(3)]
    whole = [m["ts"] for m in slack_client.conversations_replies(channel=channel, ts=parent)["messages"]]
    assert whole == [parent, *replies]
    assert [m["ts"] for m in slack_client.conversations_replies(channel=channel, ts=replies[1])["messages"]] == whole
    paged = [m["ts"] for page in slack_client.conversations_replies(channel=channel, ts=replies[2], limit=2)
             for m in page["messages"]]
    assert paged == whole
    plain = slack_client.chat_postMessage(channel=channel, text="no thread")["ts"]
    assert [m["ts"] for m in slack_client.conversations_replies(channel=channel, ts=plain)["messages"]] == [plain]


def test_a_deleted_parent_with_replies_stays_as_a_tombstone(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("alerts-jira")["id"]
    parent = slack_client.chat_postMessage(channel=channel, text="INC0010007 opened")["ts"]
    reply = slack_client.chat_postMessage(channel=channel, text="assigned", thread_ts=parent)["ts"]
    slack_client.chat_delete(channel=channel, ts=parent)
    [stone] = slack_client.conversations_history(channel=channel)["messages"]
    assert (stone["ts"], stone["subtype"], stone["text"], stone["user"], stone["hidden"]) == (
        parent, "tombstone", "This message was deleted.", "USLACKBOT", True)
    assert (stone["thread_ts"], stone["reply_count"], stone["latest_reply"]) == (parent, 1, reply)
    thread = slack_client.conversations_replies(channel=channel, ts=parent)["messages"]
    assert [(m["ts"], m.get("subtype")) for m in thread] == [(parent, "tombstone"), (reply, None)]
    assert thread[1]["parent_user_id"] == "USLACKBOT"
    fails(slack_client.chat_delete, "message_not_found", channel=channel, ts=parent)  # [unc] the tombstone stays
    slack_client.chat_delete(channel=channel, ts=reply)  # the last reply gone: the tombstone goes too
    assert slack_client.conversations_history(channel=channel)["messages"] == []
    fails(slack_client.conversations_replies, "thread_not_found", channel=channel, ts=parent)
    lone = slack_client.chat_postMessage(channel=channel, text="no replies")["ts"]
    slack_client.chat_delete(channel=channel, ts=lone)  # without replies a parent just goes
    assert slack_client.conversations_history(channel=channel)["messages"] == []


def test_history_counts_the_channels_pins(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("alerts-jira")["id"]
    assert slack_client.conversations_history(channel=channel)["pin_count"] == 0
    first, second = (slack_client.chat_postMessage(channel=channel, text=t)["ts"] for t in ("a", "b"))
    slack_client.pins_add(channel=channel, timestamp=first)
    slack_client.pins_add(channel=channel, timestamp=second)
    assert slack_client.conversations_history(channel=channel, limit=1)["pin_count"] == 2
    slack_client.pins_remove(channel=channel, timestamp=first)
    slack_client.chat_delete(channel=channel, ts=second)
    assert slack_client.conversations_history(channel=channel)["pin_count"] == 0


def test_charset_warnings_on_form_and_json_bodies(slack_client, slack_sandbox):
    url, token = slack_sandbox.url + "/api/", slack_sandbox.bot_token
    named = requests.post(url + "auth.test", data={"token": token}, timeout=10,
                          headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}).json()
    assert named["ok"] and named["warning"] == "superfluous_charset"
    assert named["response_metadata"]["warnings"] == ["superfluous_charset"]
    assert "warning" not in requests.post(url + "auth.test", data={"token": token}, timeout=10).json()
    answer = slack_client.auth_test()  # slack_sdk's form body names no charset: no warning
    assert "warning" not in answer.data and answer.headers["Content-Type"] == "application/json; charset=utf-8"
    bare = requests.post(url + "chat.postMessage", json={"channel": "alerts-jira", "text": "x"}, timeout=10,
                         headers={"Authorization": f"Bearer {token}"}).json()
    assert bare["ok"] and bare["warning"] == "missing_charset"
    assert bare["response_metadata"]["messages"][0].startswith("[WARN] A Content-Type HTTP header was presented")
    posted = slack_client.chat_postMessage(channel="alerts-jira", text="x", blocks=[{"type": "divider"}])
    assert "warning" not in posted.data  # the SDK's JSON body says charset=utf-8
