"""Round 13 of the slack_sdk probe: the calls a customer's bot makes most, with the arguments Slack's docs
show, through `WebClient` (and `AsyncWebClient` for a few) used unchanged. Most already answered as Slack
does; what did not before round 13: a files_upload_v2 message's `files` read back from
conversations.history said `is_public: false` with empty `channels` / `shares` for a file shared in a public
channel (a snapshot taken before the share), conversations.info ignored include_locale, and
apps.event.authorizations.list was unknown_method."""

from __future__ import annotations

import asyncio
import base64
import json
import time

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from tests.sandbox.slack import test_events_api
from tests.sandbox.slack.test_client_probe_round3 import _human, fails
from tests.sandbox.slack.test_events_api import _subscribe

app, sb = test_events_api.app, test_events_api.sb  # the Events app and sandbox fixtures


def _texts(page) -> list[str]:
    return [m["text"] for m in page["messages"]]


def test_update_delete_and_permalinks(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("general")["id"]
    ts = slack_client.chat_postMessage(channel=channel, text="deploy started")["ts"]
    edited = slack_client.chat_update(channel=channel, ts=ts, text="deploy finished")
    assert (edited["channel"], edited["ts"], edited["text"]) == (channel, ts, "deploy finished")
    assert edited["message"]["edited"]["user"] == slack_sandbox.workspace.bot_user_id
    fails(slack_client.chat_update, "message_not_found", channel=channel, ts="1234.5678", text="x")
    link = slack_client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"]
    assert link == f"https://{slack_sandbox.workspace.domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
    fails(slack_client.chat_getPermalink, "message_not_found", channel=channel, message_ts="1.2")
    human = slack_sandbox.post_as_user("general", "mine", user="amelia.hart")["ts"]
    fails(slack_client.chat_update, "cant_update_message", channel=channel, ts=human, text="x")
    fails(slack_client.chat_delete, "cant_delete_message", channel=channel, ts=human)
    assert slack_client.chat_delete(channel=channel, ts=ts).data == {"ok": True, "channel": channel, "ts": ts}
    fails(slack_client.chat_delete, "message_not_found", channel=channel, ts=ts)


def test_scheduled_messages(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("alerts-jira")["id"]
    now = int(time.time())
    first = slack_client.chat_scheduleMessage(channel=channel, text="standup", post_at=now + 3600)
    assert first["post_at"] == now + 3600 and first["message"]["type"] == "delayed_message"
    second = slack_client.chat_scheduleMessage(channel=channel, text="retro", post_at=now + 7200)
    fails(slack_client.chat_scheduleMessage, "time_in_past", channel=channel, text="x", post_at=now - 10)
    fails(slack_client.chat_scheduleMessage, "time_too_far", channel=channel, text="x", post_at=now + 200 * 86400)
    listed = slack_client.chat_scheduledMessages_list(channel=channel)["scheduled_messages"]
    assert {m["id"] for m in listed} == {first["scheduled_message_id"], second["scheduled_message_id"]}
    assert all(m["channel_id"] == channel for m in listed)
    paged = [m["id"] for p in slack_client.chat_scheduledMessages_list(limit=1) for m in p["scheduled_messages"]]
    assert sorted(paged) == sorted(m["id"] for m in listed)
    slack_client.chat_deleteScheduledMessage(channel=channel, scheduled_message_id=first["scheduled_message_id"])
    fails(slack_client.chat_deleteScheduledMessage, "invalid_scheduled_message_id", channel=channel,
          scheduled_message_id=first["scheduled_message_id"])
    assert [m["id"] for m in slack_client.chat_scheduledMessages_list()["scheduled_messages"]] == [
        second["scheduled_message_id"]]


def test_thread_broadcast_unfurl_flags_and_metadata(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("general")["id"]
    meta = {"event_type": "task_created", "event_payload": {"id": "11223", "title": "Migrate"}}
    root = slack_client.chat_postMessage(channel=channel, text="see <https://example.com>", unfurl_links=False,
                                         unfurl_media=False, metadata=meta)
    assert root["message"]["metadata"] == meta
    loud = slack_client.chat_postMessage(channel=channel, text="done", thread_ts=root["ts"], reply_broadcast=True)
    assert loud["message"]["subtype"] == "thread_broadcast" and loud["message"]["thread_ts"] == root["ts"]
    top = slack_client.conversations_history(channel=channel, limit=2, include_all_metadata=True)["messages"]
    assert [m["ts"] for m in top] == [loud["ts"], root["ts"]] and top[1]["metadata"] == meta
    assert top[0]["root"]["ts"] == root["ts"]
    link = slack_client.chat_getPermalink(channel=channel, message_ts=loud["ts"])["permalink"]
    assert link.endswith(f"?thread_ts={root['ts']}&cid={channel}")


def test_files_upload_v2_several_files_with_a_comment(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("general")["id"]
    up = slack_client.files_upload_v2(channel=channel, initial_comment="two reports", file_uploads=[
        {"content": "a,b\n1,2\n", "filename": "report.csv", "title": "Report"},
        {"content": b"\x89PNG\r\n", "filename": "chart.png"}])
    assert [f["title"] for f in up["files"]] == ["Report", "chart.png"]
    assert [f["filetype"] for f in up["files"]] == ["csv", "png"]
    message = slack_client.conversations_history(channel=channel, limit=1)["messages"][0]
    assert message["text"] == "two reports" and message["upload"] is True
    assert [f["id"] for f in message["files"]] == [f["id"] for f in up["files"]]
    # a file shared in a public channel is public wherever it is read [unc: a message's file objects
    # carry no channels / shares lists in Slack's answers; files.info has them]
    assert all(f["is_public"] for f in message["files"])
    assert all(slack_client.files_info(file=f["id"])["file"]["is_public"] for f in up["files"])
    single = slack_client.files_upload_v2(channel=channel, content="x", filename="x.txt", initial_comment="one")
    assert single["file"]["id"] == single["files"][0]["id"]


def test_history_and_replies_paging(slack_client, slack_sandbox):
    channel = slack_client.conversations_create(name="probe-paging")["channel"]["id"]
    tss = [slack_client.chat_postMessage(channel=channel, text=f"m{i}")["ts"] for i in range(7)]
    first = slack_client.conversations_history(channel=channel, limit=3)
    assert _texts(first) == ["m6", "m5", "m4"] and first["has_more"]
    second = slack_client.conversations_history(channel=channel, limit=3,
                                                cursor=first["response_metadata"]["next_cursor"])
    assert _texts(second) == ["m3", "m2", "m1"]
    assert [_texts(p) for p in slack_client.conversations_history(channel=channel, limit=3)] == [
        ["m6", "m5", "m4"], ["m3", "m2", "m1"], ["m0"]]
    window = {"channel": channel, "oldest": tss[1], "latest": tss[4]}
    assert _texts(slack_client.conversations_history(**window)) == ["m3", "m2"]
    assert _texts(slack_client.conversations_history(**window, inclusive=True)) == ["m4", "m3", "m2", "m1"]
    root = tss[0]
    for i in range(5):
        slack_client.chat_postMessage(channel=channel, text=f"r{i}", thread_ts=root)
    pages = [_texts(p) for p in slack_client.conversations_replies(channel=channel, ts=root, limit=2)]
    assert pages == [["m0", "r0"], ["r1", "r2"], ["r3", "r4"]]  # later pages leave out the parent


def test_members_info_and_people(slack_client, slack_sandbox):
    general = slack_sandbox.workspace.channel("general")["id"]
    members = [m for p in slack_client.conversations_members(channel=general, limit=4) for m in p["members"]]
    assert len(members) == len(set(members)) == 9
    info = slack_client.conversations_info(channel=general, include_num_members=True)["channel"]
    assert info["num_members"] == 9 and "locale" not in info
    localized = slack_client.conversations_info(channel=general, include_locale=True)["channel"]
    assert localized["locale"] == "en-US" and "num_members" not in localized  # [unc] the workspace's locale
    amelia = _human(slack_sandbox)
    found = slack_client.users_lookupByEmail(email="amelia.hart@projectx.example")["user"]
    assert found["id"] == amelia and found["profile"]["email"] == "amelia.hart@projectx.example"
    fails(slack_client.users_lookupByEmail, "users_not_found", email="nobody@projectx.example")
    names = [[u["name"] for u in p["members"]] for p in slack_client.users_list(limit=4)]
    assert [len(n) for n in names] == [4, 4, 2] and names[-1] == ["priya.nair", "slackbot"]
    assert slack_client.users_info(user=amelia, include_locale=True)["user"]["locale"] == "en-US"
    assert "locale" not in slack_client.users_info(user=amelia)["user"]
    assert slack_client.team_info()["team"]["domain"] == slack_sandbox.workspace.domain
    fails(slack_client.team_info, "team_not_found", team="T000000")


def test_usergroups_bookmarks_pins_reactions(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("general")["id"]
    group = slack_client.usergroups_create(name="On Call", handle="oncall", description="pager", channels=channel,
                                           include_count=True)["usergroup"]
    assert group["prefs"]["channels"] == [channel] and group["user_count"] == 0
    people = [_human(slack_sandbox), _human(slack_sandbox, "bruno.keller")]
    updated = slack_client.usergroups_users_update(usergroup=group["id"], users=people, include_count=True)
    assert updated["usergroup"]["users"] == people and updated["usergroup"]["user_count"] == 2
    listed = {g["handle"]: g for g in slack_client.usergroups_list(include_users=True)["usergroups"]}
    assert listed["oncall"]["users"] == people
    fails(slack_client.usergroups_create, "name_already_exists", name="On Call", handle="other")
    mark = slack_client.bookmarks_add(channel_id=channel, title="Runbook", type="link",
                                      link="https://example.com/runbook", emoji=":book:")["bookmark"]
    assert [b["id"] for b in slack_client.bookmarks_list(channel_id=channel)["bookmarks"]] == [mark["id"]]
    ts = slack_client.chat_postMessage(channel=channel, text="pin me")["ts"]
    slack_client.pins_add(channel=channel, timestamp=ts)
    fails(slack_client.pins_add, "already_pinned", channel=channel, timestamp=ts)
    assert [i["message"]["ts"] for i in slack_client.pins_list(channel=channel)["items"]] == [ts]
    slack_client.pins_remove(channel=channel, timestamp=ts)
    fails(slack_client.pins_remove, "no_pin", channel=channel, timestamp=ts)
    slack_client.reactions_add(channel=channel, timestamp=ts, name="eyes")
    got = slack_client.reactions_get(channel=channel, timestamp=ts, full=True)
    assert got["type"] == "message" and got["message"]["reactions"] == [
        {"name": "eyes", "users": [slack_sandbox.workspace.bot_user_id], "count": 1}]


def test_views_open_update_push_publish(slack_client, slack_sandbox):
    modal = {"type": "modal", "callback_id": "triage", "title": {"type": "plain_text", "text": "Triage"},
             "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]}
    trigger = slack_sandbox.new_trigger_id()
    opened = slack_client.views_open(trigger_id=trigger, view={**modal, "external_id": "triage-1"})["view"]
    again = slack_client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal)["view"]
    assert again["id"] == opened["id"] and again["hash"] != opened["hash"]
    fails(slack_client.views_update, "hash_conflict", view_id=opened["id"], hash=opened["hash"], view=modal)
    slack_client.views_update(external_id="triage-1", view=modal)
    pushed = slack_client.views_push(trigger_id=slack_sandbox.new_trigger_id(), view=modal)["view"]
    assert pushed["root_view_id"] == opened["id"] and pushed["previous_view_id"] == opened["id"]  # [unc]
    fails(slack_client.views_push, "exchanged_trigger_id", trigger_id=trigger, view=modal)
    home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "home"}}]}
    user = _human(slack_sandbox)
    published = slack_client.views_publish(user_id=user, view=home)["view"]
    fails(slack_client.views_publish, "hash_conflict", user_id=user, view=home, hash="stale")
    slack_client.views_publish(user_id=user, view=home, hash=published["hash"])


def _context(team_id: str, app_id: str) -> str:
    """An event_context as this sandbox encodes one (opaque to apps; used here to name another team / app)."""
    raw = json.dumps({"et": "message", "tid": team_id, "aid": app_id}, separators=(",", ":")).encode()
    return "4-" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_event_authorizations_with_an_app_level_token(sb, app):
    """An event's `event_context` names the installations that may see it: here the app's bot."""
    _subscribe(sb, app, "message.channels")
    sb.post_as_user("general", "who can see this?", user="amelia.hart")
    assert sb.wait_for_events(5)
    envelope = app.events()[-1]["payload"]
    ws = sb.workspace
    client = WebClient(token=sb.new_app_token(["authorizations:read"]), base_url=sb.url + "/api/")
    got = client.apps_event_authorizations_list(event_context=envelope["event_context"])
    assert got["authorizations"] == envelope["authorizations"] == [
        {"enterprise_id": None, "team_id": ws.team_id, "user_id": ws.bot_user_id, "is_bot": True,
         "is_enterprise_install": False}]
    assert got["response_metadata"]["next_cursor"] == ""
    for wrong in ("4-bm9wZQ", "nope", _context(team_id="T0OTHER", app_id=ws.app_id)):
        fails(client.apps_event_authorizations_list, "invalid_event_context", event_context=wrong)
    fails(client.apps_event_authorizations_list, "auth_mismatch",
          event_context=_context(team_id=ws.team_id, app_id="A0OTHERAPP"))  # another app's event
    fails(client.apps_event_authorizations_list, "invalid_arguments", event_context="")  # [unc]
    fails(client.apps_event_authorizations_list, "invalid_cursor", event_context=envelope["event_context"],
          cursor="bogus")
    bot = WebClient(token=sb.bot_token, base_url=sb.url + "/api/")
    fails(bot.apps_event_authorizations_list, "not_allowed_token_type", event_context=envelope["event_context"])
    sockets = WebClient(token=sb.new_app_token(), base_url=sb.url + "/api/")  # connections:write only
    fails(sockets.apps_event_authorizations_list, "missing_scope", event_context=envelope["event_context"])


def test_paging_helper_rides_out_429s(slack_sandbox):
    client = WebClient(token=slack_sandbox.bot_token, base_url=slack_sandbox.url + "/api/",
                       retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=4)])
    slack_sandbox.faults.set(rate_429=0.25, retry_after=1, paths=[r"^/api/conversations\.list$"])
    names = [c["name"] for page in client.conversations_list(limit=4) for c in page["channels"]]
    assert len(names) == len(set(names)) == 10
    assert slack_sandbox.method_calls("conversations.list") > 3  # some pages were refused and retried
    slack_sandbox.faults.clear()
    slack_sandbox.set_method_error("users.list", "ratelimited")
    once = WebClient(token=slack_sandbox.bot_token, base_url=slack_sandbox.url + "/api/",
                     retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    response = fails(once.users_list, "ratelimited", status=429)
    assert response.headers["Retry-After"] == "1" and slack_sandbox.method_calls("users.list") == 2


def test_async_client(slack_sandbox):
    channel = slack_sandbox.workspace.channel("general")["id"]

    async def bot() -> tuple[str, int, str, str]:
        client = AsyncWebClient(token=slack_sandbox.bot_token, base_url=slack_sandbox.url + "/api/",
                                retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=4)])
        posted = await client.chat_postMessage(channel=channel, text="async hello")
        count = 0
        slack_sandbox.faults.set(rate_429=0.3, retry_after=1, paths=[r"^/api/conversations\.list$"])
        async for page in await client.conversations_list(limit=3):  # 4 pages, some answered 429 first
            count += len(page["channels"])
        slack_sandbox.faults.clear()
        up = await client.files_upload_v2(channel=channel, content="async bytes", filename="a.txt",
                                          initial_comment="async file")
        found = await client.users_lookupByEmail(email="chen.wei@projectx.example")
        return posted["ts"], count, up["file"]["id"], found["user"]["name"]

    ts, count, file_id, name = asyncio.run(bot())
    assert count == 10 and name == "chen.wei" and slack_sandbox.method_calls("conversations.list") > 4
    texts = [m["text"] for m in slack_sandbox.messages("general")]
    assert "async hello" in texts and "async file" in texts and ts and file_id
