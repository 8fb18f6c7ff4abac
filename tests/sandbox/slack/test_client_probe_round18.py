"""Round 18 of the slack_sdk probe (`WebClient` / `WebhookClient` used unchanged). What answered unlike Slack
before round 18: a message's legacy attachments came back as sent, without the `id` Slack numbers them
with (chat.postMessage's and chat.scheduleMessage's documented examples) or the `fallback` Slack fills in;
emoji.list ignored include_categories (no `categories` / `categories_version`, EmojiListResponse);
conversations.info gave a member no `last_read` (the documented example has one) until conversations.mark
had run; chat.postMessage's answer for a thread reply lacked `parent_user_id`, and a broadcast's its `root`
(both in ChatPostMessageResponse.message), which only conversations.history showed."""

from __future__ import annotations

import time

from slack_sdk.webhook import WebhookClient

from tests.sandbox.slack.test_client_probe_round3 import _human

ATTACHMENTS = [{"color": "#36a64f", "text": "PROJ-7 moved to Done", "fallback": "PROJ-7 done"},
               {"text": "no fallback given", "fields": [{"title": "Priority", "value": "High", "short": True}]},
               {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*blocks*"}}]}]


def test_attachments_are_numbered_and_given_a_fallback(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("alerts-jira")["id"]
    posted = slack_client.chat_postMessage(channel=channel, text="PROJ-7", attachments=ATTACHMENTS)
    shown = posted["message"]["attachments"]
    assert [a["id"] for a in shown] == [1, 2, 3]
    assert [a["fallback"] for a in shown] == ["PROJ-7 done", "NO FALLBACK DEFINED", "[no preview available]"]
    assert shown[1]["fields"] == ATTACHMENTS[1]["fields"] and shown[0]["color"] == "#36a64f"
    [read] = slack_client.conversations_history(channel=channel, limit=1)["messages"]
    assert read["attachments"] == shown
    edited = slack_client.chat_update(channel=channel, ts=posted["ts"], text="PROJ-7",
                                      attachments=[{"text": "reopened"}])
    assert edited["message"]["attachments"] == [{"text": "reopened", "id": 1, "fallback": "NO FALLBACK DEFINED"}]
    assert slack_sandbox.messages(channel)[-1]["attachments"][0]["id"] == 1
    # an incoming webhook's attachments are kept the same way
    assert WebhookClient(slack_sandbox.webhook_url_for("alerts-jira")).send(
        text="hook", attachments=[{"text": "from a hook"}]).body == "ok"
    [hooked] = slack_client.conversations_history(channel=channel, limit=1)["messages"]
    assert hooked["attachments"] == [{"text": "from a hook", "id": 1, "fallback": "NO FALLBACK DEFINED"}]


def test_emoji_list_with_categories(slack_client):
    plain = slack_client.emoji_list()
    assert "categories" not in plain.data and plain["emoji"]["projectx"].startswith("https://")
    listed = slack_client.emoji_list(include_categories=True)
    assert listed["emoji"] == plain["emoji"] and isinstance(listed["categories_version"], str)
    categories = {c["name"]: c["emoji_names"] for c in listed["categories"]}
    assert list(categories) == ["smileys_and_people", "nature", "food_and_drink", "activity",
                                "travel_and_places", "objects", "symbols", "flags"]
    assert categories["smileys_and_people"][0] == "grinning" and "+1" in categories["smileys_and_people"]
    assert "dog" in categories["nature"] and "de" in categories["flags"]
    every = [n for names in categories.values() for n in names]
    assert len(every) == len(set(every)) > 1800  # canonical names only: no aliases like thumbsup


def test_conversations_info_gives_a_member_its_last_read(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("alerts-jira")["id"]
    info = slack_client.conversations_info(channel=channel)["channel"]
    assert info["last_read"] == "0000000000.000000"
    ts = slack_client.chat_postMessage(channel=channel, text="read up to here")["ts"]
    slack_client.conversations_mark(channel=channel, ts=ts)
    assert slack_client.conversations_info(channel=channel)["channel"]["last_read"] == ts
    dm = slack_client.conversations_open(users=_human(slack_sandbox))["channel"]["id"]
    assert slack_client.conversations_info(channel=dm)["channel"]["last_read"] == "0000000000.000000"
    random = slack_sandbox.workspace.channel("random")["id"]  # the bot is not in #random: no read cursor
    assert "last_read" not in slack_client.conversations_info(channel=random)["channel"]


def test_a_reply_answers_with_its_parent_user_and_a_broadcast_with_its_root(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("alerts-jira")["id"]
    parent = slack_client.chat_postMessage(channel=channel, text="INC-9 opened")
    reply = slack_client.chat_postMessage(channel=channel, text="ack", thread_ts=parent["ts"])["message"]
    bot = slack_sandbox.workspace.bot_user_id
    assert reply["thread_ts"] == parent["ts"] and reply["parent_user_id"] == bot and "root" not in reply
    shout = slack_client.chat_postMessage(channel=channel, text="resolved", thread_ts=parent["ts"],
                                          reply_broadcast=True)["message"]
    assert shout["subtype"] == "thread_broadcast" and shout["parent_user_id"] == bot
    root = shout["root"]
    assert (root["ts"], root["text"], root["reply_count"], root["latest_reply"]) == (
        parent["ts"], "INC-9 opened", 2, shout["ts"])
    # as conversations.history shows the broadcast
    [shown] = [m for m in slack_client.conversations_history(channel=channel)["messages"] if m["ts"] == shout["ts"]]
    assert shown["root"] == root
    top = slack_client.chat_postMessage(channel=channel, text="top level")["message"]
    assert "parent_user_id" not in top and "root" not in top


def test_a_scheduled_message_shows_its_attachments_as_slack_keeps_them(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("alerts-jira")["id"]
    scheduled = slack_client.chat_scheduleMessage(channel=channel, text="later", post_at=int(time.time()) + 1,
                                                  attachments=[{"text": "in the future", "fallback": "future"}])
    assert scheduled["message"]["type"] == "delayed_message"
    assert scheduled["message"]["attachments"] == [{"text": "in the future", "fallback": "future", "id": 1}]
    time.sleep(1.5)
    [posted] = [m for m in slack_sandbox.messages(channel) if m["via"] == "chat.scheduleMessage"]
    assert posted["message"]["attachments"] == scheduled["message"]["attachments"]
