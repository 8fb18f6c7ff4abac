"""Round 22 audit of the Slack sandbox with slack_sdk's `WebClient` used unchanged: reactions.list / reactions.get
cut a reaction's `users` unless `full` is true (count stays whole, the caller always shown), show each message
with its permalink, and list a message once per reaction; every paging method reads `limit` one way (absent, 0 or
negative: the method's default page; over the maximum: capped; not an integer: invalid_limit); a malformed
thread_ts is invalid_thread_ts while a well-formed one naming no message is taken (Slack's lost reply)."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError

from sandbox.slack.reactions import SHOWN_USERS


def _fails(call, code: str, **kwargs):
    with pytest.raises(SlackApiError) as info:
        call(**kwargs)
    assert info.value.response.status_code == 200 and info.value.response["error"] == code
    return info.value.response


def _crowd(slack_sandbox, channel: str, ts: str, name: str, n: int) -> list[str]:
    """Add n other reactors to the bot's `name` reaction (test setup through the sandbox's own store)."""
    others = [f"U9{i:08d}" for i in range(n)]
    reaction = next(r for r in slack_sandbox.find_message(channel, ts)["message"]["reactions"] if r["name"] == name)
    reaction["users"][:0] = others  # the bot reacted last
    reaction["count"] += n
    return others


def test_reactions_cut_users_unless_full(slack_client, slack_sandbox):
    general = slack_sandbox.workspace.channel("general")["id"]
    ts = slack_client.chat_postMessage(channel=general, text="popular")["ts"]
    slack_client.reactions_add(channel=general, timestamp=ts, name="eyes")
    others = _crowd(slack_sandbox, general, ts, "eyes", SHOWN_USERS + 5)
    bot = slack_client.auth_test()["user_id"]
    for shown in (slack_client.reactions_list()["items"][0]["message"],
                  slack_client.reactions_get(channel=general, timestamp=ts)["message"]):
        (r,) = shown["reactions"]
        assert r["count"] == SHOWN_USERS + 6 and len(r["users"]) == SHOWN_USERS and bot in r["users"]
    for shown in (slack_client.reactions_list(full=True)["items"][0]["message"],
                  slack_client.reactions_get(channel=general, timestamp=ts, full=True)["message"]):
        assert shown["reactions"][0]["users"] == [*others, bot]
    stored = slack_sandbox.find_message(general, ts)["message"]["reactions"][0]
    assert len(stored["users"]) == SHOWN_USERS + 6  # showing a cut list changed nothing kept


def test_reactions_list_items_carry_permalink_one_per_reaction(slack_client, slack_sandbox):
    general = slack_sandbox.workspace.channel("general")["id"]
    ts = slack_client.chat_postMessage(channel=general, text="twice")["ts"]
    for name in ("eyes", "tada"):
        slack_client.reactions_add(channel=general, timestamp=ts, name=name)
    items = slack_client.reactions_list()["items"]
    assert len(items) == 2 and items[0] == items[1]
    message = items[0]["message"]
    assert items[0]["type"] == "message" and items[0]["channel"] == general
    assert message["permalink"] == slack_client.chat_getPermalink(channel=general, message_ts=ts)["permalink"]
    assert message["ts"] == ts and message["text"] == "twice" and message["type"] == "message"
    assert [r["name"] for r in message["reactions"]] == ["eyes", "tada"]
    assert slack_client.reactions_list(count=1)["paging"] == {"count": 1, "total": 2, "page": 1, "pages": 2}


def _posted(slack_client, channel: str, n: int) -> list[str]:
    return [slack_client.chat_postMessage(channel=channel, text=f"m{i}")["ts"] for i in range(n)]


def test_limit_zero_or_negative_is_the_default_page_everywhere(slack_client, slack_sandbox):
    general = slack_sandbox.workspace.channel("general")["id"]
    _posted(slack_client, general, 3)
    whole = len(slack_client.conversations_history(channel=general, limit=500)["messages"])
    users = len(slack_client.users_list()["members"])
    channels = len(slack_client.conversations_list()["channels"])
    members = len(slack_client.conversations_members(channel=general)["members"])
    assert whole >= 3 and users > 1 and channels > 1 and members >= 1
    for limit in (0, -5, "0"):
        assert len(slack_client.conversations_history(channel=general, limit=limit)["messages"]) == whole
        assert len(slack_client.users_list(limit=limit)["members"]) == users  # users.list: no limit is all
        assert len(slack_client.conversations_list(limit=limit)["channels"]) == channels
        assert len(slack_client.conversations_members(channel=general, limit=limit)["members"]) == members
        assert slack_client.chat_scheduledMessages_list(limit=limit)["ok"]
    assert len(slack_client.users_list(limit=1)["members"]) == 1
    assert len(slack_client.conversations_history(channel=general, limit=1)["messages"]) == 1


def test_limit_over_the_maximum_is_capped_and_garbage_is_invalid_limit(slack_client, slack_sandbox):
    general = slack_sandbox.workspace.channel("general")["id"]
    _posted(slack_client, general, 2)
    big = slack_client.conversations_history(channel=general, limit=100000)
    assert big["messages"] and big["response_metadata"]["next_cursor"] == ""
    assert slack_client.users_list(limit=5000)["response_metadata"]["next_cursor"] == ""
    assert slack_client.conversations_list(limit=5000)["ok"]
    for call, kw in ((slack_client.conversations_history, {"channel": general}), (slack_client.users_list, {}),
                     (slack_client.conversations_list, {}), (slack_client.reactions_list, {}),
                     (slack_client.conversations_members, {"channel": general})):
        _fails(call, "invalid_limit", limit="many", **kw)


def test_reactions_list_limit_zero_falls_back_to_count_and_page(slack_client, slack_sandbox):
    general = slack_sandbox.workspace.channel("general")["id"]
    for ts in _posted(slack_client, general, 3):
        slack_client.reactions_add(channel=general, timestamp=ts, name="eyes")
    for limit in (0, -1):
        got = slack_client.reactions_list(limit=limit)
        assert len(got["items"]) == 3 and got["paging"]["total"] == 3


def test_thread_ts_malformed_is_invalid_well_formed_unknown_is_taken(slack_client, slack_sandbox):
    general = slack_sandbox.workspace.channel("general")["id"]
    for bad in ("abc", "1700000000.1x", "-1", "1.2.3"):
        answer = _fails(slack_client.chat_postMessage, "invalid_thread_ts", channel=general, text="x", thread_ts=bad)
        assert answer["response_metadata"]["messages"] == [f"[ERROR] {bad} is not a valid thread_ts"]
    # a well-formed ts naming no message is accepted (python-slack-sdk #840: "all of them respond with Ok")
    lost = slack_client.chat_postMessage(channel=general, text="lost", thread_ts="1700000000.1")
    assert lost["ok"] and lost["message"]["thread_ts"] == "1700000000.1"
    _fails(slack_client.conversations_replies, "thread_not_found", channel=general, ts="1700000000.1")


def test_users_carry_a_readable_tz_label(slack_client):
    people = [u for u in slack_client.users_list()["members"] if not u["is_bot"]]
    assert people and all(u["tz_label"] != u["tz"] and u["tz_label"].endswith("Time") for u in people)
    london = [u for u in people if u["tz"] == "Europe/London"]
    assert all(u["tz_label"] in ("Greenwich Mean Time", "British Summer Time") for u in london)


def test_common_calls_an_outside_checker_tries(slack_client, slack_sandbox):
    general = slack_sandbox.workspace.channel("general")["id"]
    me = slack_client.auth_test()
    assert {"url", "team", "user", "team_id", "user_id", "bot_id", "is_enterprise_install"} <= set(me.data)
    parent = slack_client.chat_postMessage(channel=general, text="p")["ts"]
    reply = slack_client.chat_postMessage(channel=general, text="r", thread_ts=parent)["ts"]
    link = slack_client.chat_getPermalink(channel=general, message_ts=reply)["permalink"]
    assert link.endswith(f"/archives/{general}/p{reply.replace('.', '')}?thread_ts={parent}&cid={general}")
    _fails(slack_client.chat_getPermalink, "message_not_found", channel=general, message_ts="1.2")
    _fails(slack_client.users_info, "user_not_found", user="U000NOBODY")
    human = next(u["id"] for u in slack_client.users_list()["members"] if not u["is_bot"] and u["id"] != "USLACKBOT")
    dm = slack_client.conversations_open(users=human)["channel"]["id"]
    again = slack_client.conversations_open(users=[human], return_im=True)
    assert dm.startswith("D") and again["channel"]["id"] == dm and again["channel"]["user"] == human
    _fails(slack_client.conversations_open, "user_not_found", users="U000NOBODY")
