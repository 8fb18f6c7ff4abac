"""A user token (xoxp-, from the OAuth install's user_scope) acts as the person who installed, as on slack.com:
their conversations, DMs and group DMs, their own messages, reactions, pins and bookmarks, and the
user-token-only methods (search.*, reminders.*, stars.*, users.profile.set, dnd.*, users.identity), each driven
with slack_sdk 3.48. Before round 10 a user token acted as the bot everywhere but auth.test and
chat.postMessage, and the user-token-only methods answered not_allowed_token_type to every token."""

from __future__ import annotations

import time

import pytest
from slack_sdk import WebClient

from sandbox.slack.oauth import USER_SCOPES
from tests.sandbox.slack.test_client_probe_round3 import fails
from tests.sandbox.slack.test_oauth_install import _code, _exchange, oauth_client, sb  # noqa: F401

EVERYDAY = tuple(s for s in USER_SCOPES if not s.startswith("identity."))


def _person(sb, client, handle: str, user_scopes=EVERYDAY) -> WebClient:  # noqa: F811
    code = _code(sb, scopes=("chat:write", "channels:read"), user_scopes=user_scopes, user=handle)
    token = _exchange(sb, client, code)["authed_user"]["access_token"]
    return WebClient(token=token, base_url=sb.url + "/api/")


def _uid(sb, handle: str) -> str:  # noqa: F811
    return next(u for u, p in sb.workspace.users.items() if p["name"] == handle)


@pytest.fixture
def people(sb, oauth_client):  # noqa: F811
    bot = WebClient(token=sb.bot_token, base_url=sb.url + "/api/")
    return bot, _person(sb, oauth_client, "chen.wei"), _person(sb, oauth_client, "amelia.hart")


def test_conversations_are_the_persons_own(sb, people):  # noqa: F811
    bot, chen, amelia = people
    ops = bot.conversations_create(name="ops-private", is_private=True)["channel"]["id"]
    bot.conversations_invite(channel=ops, users=_uid(sb, "amelia.hart"))
    secops, random = sb.workspace.channel("secops-private")["id"], sb.workspace.channel("random")["id"]

    listed = {c["id"]: c for c in chen.conversations_list(types="public_channel,private_channel")["channels"]}
    assert secops in listed and ops not in listed and listed[random]["is_member"] is True
    assert ops in {c["id"] for c in amelia.conversations_list(types="private_channel")["channels"]}
    assert {c["id"]: c for c in bot.conversations_list()["channels"]}[random]["is_member"] is False
    assert random in {c["id"] for c in chen.users_conversations()["channels"]}  # default user: the person

    fails(chen.conversations_info, "channel_not_found", channel=ops)
    fails(chen.conversations_history, "channel_not_found", channel=ops)
    fails(chen.conversations_members, "channel_not_found", channel=ops)
    assert amelia.conversations_info(channel=ops)["channel"]["is_member"] is True
    fails(bot.conversations_history, "channel_not_found", channel=secops)
    chen.chat_postMessage(channel=secops, text="private note")
    assert chen.conversations_history(channel=secops)["messages"][0]["text"] == "private note"

    dana = _uid(sb, "dana.okafor")
    dm = chen.conversations_open(users=dana)["channel"]["id"]
    assert dm.startswith("D") and dm != bot.conversations_open(users=dana)["channel"]["id"]
    assert chen.conversations_open(users=dana, return_im=True)["channel"]["user"] == dana
    root = chen.chat_postMessage(channel=dm, text="just between us")["ts"]
    chen.chat_postMessage(channel=dm, text="a reply", thread_ts=root)
    assert [m["text"] for m in chen.conversations_history(channel=dm)["messages"]] == ["just between us"]
    assert [m["text"] for m in chen.conversations_replies(channel=dm, ts=root)["messages"]] == \
        ["just between us", "a reply"]
    assert set(chen.conversations_members(channel=dm)["members"]) == {_uid(sb, "chen.wei"), dana}
    assert dm in {c["id"] for c in chen.users_conversations(types="im")["channels"]}
    fails(bot.conversations_info, "channel_not_found", channel=dm)
    fails(amelia.conversations_history, "channel_not_found", channel=dm)
    assert chen.chat_postMessage(channel=dana, text="by user id")["channel"] == dm  # channel=U…: their DM
    assert {m["text"] for m in chen.search_messages(query="in:@dana.okafor")["messages"]["matches"]} == \
        {"just between us", "a reply", "by user id"}
    assert amelia.search_messages(query="in:@dana.okafor")["messages"]["total"] == 0

    group = chen.conversations_open(users=f"{dana},{_uid(sb, 'elif.yilmaz')}")["channel"]["id"]
    assert group in {c["id"] for c in chen.conversations_list(types="mpim")["channels"]}
    assert group not in {c["id"] for c in bot.conversations_list(types="mpim")["channels"]}
    fails(amelia.chat_postMessage, "channel_not_found", channel=group, text="not mine")

    jira = sb.workspace.channel("alerts-jira")["id"]
    bot.conversations_kick(channel=jira, user=_uid(sb, "chen.wei"))
    fails(chen.chat_postMessage, "not_in_channel", channel=jira, text="left")
    assert chen.conversations_info(channel=jira)["channel"]["is_member"] is False
    assert chen.conversations_history(channel=jira)["ok"]  # a public channel reads without joining [unc]


def test_messages_reactions_pins_and_bookmarks_are_the_persons(sb, people):  # noqa: F811
    bot, chen, amelia = people
    general, me = sb.workspace.channel("general")["id"], _uid(sb, "chen.wei")
    mine = chen.chat_postMessage(channel=general, text="draft")["ts"]
    theirs = amelia.chat_postMessage(channel=general, text="amelia's")["ts"]
    bots = bot.chat_postMessage(channel=general, text="the bot's")["ts"]

    updated = chen.chat_update(channel=general, ts=mine, text="final")
    assert updated["message"]["text"] == "final" and updated["message"]["edited"]["user"] == me
    fails(chen.chat_update, "cant_update_message", channel=general, ts=theirs, text="hijack")
    fails(chen.chat_update, "cant_update_message", channel=general, ts=bots, text="hijack")
    fails(chen.chat_delete, "cant_delete_message", channel=general, ts=bots)
    fails(bot.chat_update, "cant_update_message", channel=general, ts=mine, text="hijack")

    chen.reactions_add(channel=general, timestamp=theirs, name="eyes")
    [reaction] = bot.reactions_get(channel=general, timestamp=theirs)["message"]["reactions"]
    assert reaction["users"] == [me]
    chen.pins_add(channel=general, timestamp=theirs)
    assert bot.pins_list(channel=general)["items"][0]["created_by"] == me
    random = sb.workspace.channel("random")["id"]  # the bot is not in #random, Chen is
    mark = chen.bookmarks_add(channel_id=random, title="Runbook", type="link", link="https://example.com/rb")
    assert mark["bookmark"]["last_updated_by_user_id"] == me

    chen.chat_delete(channel=general, ts=mine)
    assert mine not in [m["ts"] for m in chen.conversations_history(channel=general)["messages"]]


def test_search_finds_what_the_person_can_see(sb, people):  # noqa: F811
    bot, chen, amelia = people
    ops = bot.conversations_create(name="ops-private", is_private=True)["channel"]["id"]
    bot.conversations_invite(channel=ops, users=_uid(sb, "amelia.hart"))
    amelia.chat_postMessage(channel="#general", text="Deploy of release 4.2 is done")
    chen.chat_postMessage(channel="#random", text="who approved the deploy?")
    bot.chat_postMessage(channel=ops, text="deploy secrets rotated")
    bot.chat_postMessage(channel="#general", text="unrelated")

    found = chen.search_messages(query="deploy")["messages"]
    assert found["total"] == 2 and {m["text"] for m in found["matches"]} == \
        {"Deploy of release 4.2 is done", "who approved the deploy?"}
    match = found["matches"][-1] if found["matches"][-1]["user"] == _uid(sb, "amelia.hart") else found["matches"][0]
    assert match["username"] == "amelia.hart" and match["channel"]["name"] == "general"
    assert match["permalink"].endswith("/archives/" + match["channel"]["id"] + "/p" + match["ts"].replace(".", ""))
    assert amelia.search_messages(query="deploy")["messages"]["total"] == 3  # she is in #ops-private

    assert [m["text"] for m in chen.search_messages(query="deploy in:#general")["messages"]["matches"]] == \
        ["Deploy of release 4.2 is done"]
    assert [m["text"] for m in chen.search_messages(query="from:@chen.wei deploy")["messages"]["matches"]] == \
        ["who approved the deploy?"]
    assert chen.search_messages(query='"release 4.2"')["messages"]["total"] == 1
    assert chen.search_messages(query="deploy -approved")["messages"]["total"] == 1
    offset = sb.workspace.users[_uid(sb, "chen.wei")]["tz_offset"]  # dates are the person's (Singapore)
    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + offset))
    assert chen.search_messages(query="deploy before:2020-01-01")["messages"]["total"] == 0
    assert chen.search_messages(query="deploy after:2020-01-01")["messages"]["total"] == 2
    assert chen.search_messages(query=f"deploy after:{today}")["messages"]["total"] == 0
    assert chen.search_messages(query=f"deploy on:{today}")["messages"]["total"] == 2

    paged = chen.search_messages(query="deploy", count=1, page=2)["messages"]
    assert len(paged["matches"]) == 1 and paged["paging"] == {"count": 1, "total": 2, "page": 2, "pages": 2}
    assert paged["pagination"]["first"] == 2 and paged["pagination"]["page_count"] == 2

    bot.files_upload_v2(channel=sb.workspace.channel("general")["id"], content="notes", filename="deploy-notes.txt")
    assert chen.search_files(query="deploy")["files"]["matches"][0]["name"] == "deploy-notes.txt"
    both = chen.search_all(query="deploy")
    assert both["messages"]["total"] == 2 and both["files"]["total"] == 1
    fails(chen.search_messages, "no_query", query="")


def test_reminders_stars_profile_and_dnd(sb, people):  # noqa: F811
    bot, chen, amelia = people
    now = time.time()
    soon = chen.reminders_add(text="stand-up", time="in 5 minutes")["reminder"]
    assert abs(soon["time"] - (now + 300)) < 5 and soon["user"] == _uid(sb, "chen.wei") and not soon["recurring"]
    assert chen.reminders_add(text="review", time="tomorrow")["reminder"]["time"] > now + 3600
    assert chen.reminders_add(text="at", time=str(int(now) + 60))["reminder"]["time"] == int(now) + 60
    assert chen.reminders_add(text="water plants", time="every day")["reminder"]["recurring"] is True
    fails(chen.reminders_add, "cannot_parse", text="x", time="when pigs fly")
    fails(chen.reminders_add, "cannot_add_others", text="x", time="in 1 hour", user=_uid(sb, "dana.okafor"))
    assert len(chen.reminders_list()["reminders"]) == 4 and amelia.reminders_list()["reminders"] == []
    chen.reminders_complete(reminder=soon["id"])
    assert chen.reminders_info(reminder=soon["id"])["reminder"]["complete_ts"] > 0
    fails(amelia.reminders_info, "not_found", reminder=soon["id"])
    chen.reminders_delete(reminder=soon["id"])
    fails(chen.reminders_info, "not_found", reminder=soon["id"])

    general = sb.workspace.channel("general")["id"]
    ts = bot.chat_postMessage(channel=general, text="star me")["ts"]
    chen.stars_add(channel=general, timestamp=ts)
    fails(chen.stars_add, "already_starred", channel=general, timestamp=ts)
    [item] = chen.stars_list()["items"]
    assert item["type"] == "message" and item["message"]["text"] == "star me" and item["channel"] == general
    assert amelia.stars_list()["items"] == []
    chen.stars_remove(channel=general, timestamp=ts)
    fails(chen.stars_remove, "not_starred", channel=general, timestamp=ts)

    profile = chen.users_profile_set(profile={"status_text": "On call", "status_emoji": ":pager:",
                                              "title": "SRE"})["profile"]
    assert profile["status_text"] == "On call" and profile["title"] == "SRE"
    assert chen.users_profile_get()["profile"]["status_emoji"] == ":pager:"  # default user: the person
    assert bot.users_info(user=_uid(sb, "chen.wei"))["user"]["profile"]["title"] == "SRE"
    fails(chen.users_profile_set, "not_admin", user=_uid(sb, "dana.okafor"), name="title", value="CEO")

    snooze = chen.dnd_setSnooze(num_minutes=30)
    assert snooze["snooze_enabled"] is True and snooze["snooze_remaining"] == 1800
    assert chen.dnd_info()["snooze_enabled"] is True and chen.dnd_info()["snooze_remaining"] <= 1800
    assert bot.dnd_info(user=_uid(sb, "chen.wei"))["snooze_enabled"] is True
    assert chen.dnd_endSnooze()["snooze_enabled"] is False
    fails(chen.dnd_endSnooze, "snooze_not_active")


def test_token_types_and_user_scopes(sb, oauth_client, people):  # noqa: F811
    bot = people[0]
    installed_bot = WebClient(token=_exchange(sb, oauth_client, _code(sb))["access_token"], base_url=sb.url + "/api/")
    for client in (bot, installed_bot):
        fails(client.search_messages, "not_allowed_token_type", query="deploy")
        fails(client.reminders_add, "not_allowed_token_type", text="x", time="in 5 minutes")
        fails(client.users_identity, "not_allowed_token_type")
    narrow = _person(sb, oauth_client, "chen.wei", user_scopes=("chat:write", "channels:read"))
    err = fails(narrow.search_messages, "missing_scope", query="deploy")
    assert err["needed"] == "search:read" and set(err["provided"].split(",")) == {"chat:write", "channels:read"}
    assert fails(narrow.reminders_add, "missing_scope", text="x", time="in 5 minutes")["needed"] == "reminders:write"
    assert fails(narrow.stars_list, "missing_scope")["needed"] == "stars:read"
    assert fails(narrow.users_profile_set, "missing_scope", name="title", value="x")["needed"] == "users.profile:write"
    assert fails(narrow.dnd_setSnooze, "missing_scope", num_minutes=5)["needed"] == "dnd:write"
    fails(narrow.users_identity, "not_allowed_token_type")  # not a Sign in with Slack token [unc]

    signin = _person(sb, oauth_client, "chen.wei", user_scopes=("identity.basic", "identity.email"))
    who = signin.users_identity()
    assert who["user"] == {"name": "Chen Wei", "id": _uid(sb, "chen.wei"), "email": "chen.wei@" +
                           sb.workspace.users[_uid(sb, "chen.wei")]["profile"]["email"].split("@")[1]}
    assert who["team"] == {"id": sb.workspace.team_id}
