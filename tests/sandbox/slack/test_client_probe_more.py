"""slack_sdk calls that failed against the sandbox before (unknown_method or a wrong answer) and now work:
files_upload_v2, scheduled messages, pins, unfurls, channel administration, views, workspace look-ups,
invalid_blocks details, api.test errors and the async clients."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import requests
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookClient

MODAL = {"type": "modal", "title": {"type": "plain_text", "text": "Approve"},
         "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "INC0010001"}}]}


def fails(call, code: str, **kwargs):
    with pytest.raises(SlackApiError) as info:
        call(**kwargs)
    assert info.value.response.status_code == 200 and info.value.response["error"] == code
    return info.value.response


def test_files_upload_v2_shares_into_channel_and_thread(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("alerts-servicenow")["id"]
    parent = slack_client.chat_postMessage(channel=channel, text="INC0010001 opened")
    up = slack_client.files_upload_v2(channel=channel, content="hello file", filename="a.txt", title="Evidence",
                                      initial_comment="see file")
    f = up["file"]
    assert f["id"].startswith("F") and f["name"] == "a.txt" and f["title"] == "Evidence" and f["size"] == 10
    assert channel in f["channels"] and f["shares"]["public"][channel][0]["ts"]
    [top, _] = slack_client.conversations_history(channel=channel)["messages"]
    assert top["text"] == "see file" and [x["id"] for x in top["files"]] == [f["id"]] and top["upload"]
    assert slack_sandbox.messages()[-1]["via"] == "files.completeUploadExternal"
    got = requests.get(f["url_private"], headers={"Authorization": f"Bearer {slack_sandbox.bot_token}"}, timeout=10)
    assert got.content == b"hello file"

    reply = slack_client.files_upload_v2(channel=channel, file=b"\x00\x01", filename="b.bin", thread_ts=parent["ts"])
    thread = slack_client.conversations_replies(channel=channel, ts=parent["ts"])["messages"]
    assert thread[-1]["files"][0]["id"] == reply["file"]["id"]
    assert reply["file"]["shares"]["public"][channel][0]["thread_ts"] == parent["ts"]
    two = slack_client.files_upload_v2(channel=channel, file_uploads=[{"content": "1", "filename": "1.txt"},
                                                                      {"content": "22", "filename": "2.txt"}])
    assert [x["size"] for x in two["files"]] == [1, 2]


def test_files_info_list_delete_and_upload_errors(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("compliance-delivery")["id"]
    fid = slack_client.files_upload_v2(channel=channel, content="x", filename="x.txt")["file"]["id"]
    slack_client.files_upload_v2(content="private", filename="p.txt")  # not shared anywhere
    assert slack_client.files_info(file=fid)["file"]["id"] == fid
    listed = slack_client.files_list(channel=channel)
    assert [x["id"] for x in listed["files"]] == [fid] and listed["paging"]["total"] == 1
    assert slack_client.files_delete(file=fid)["ok"]
    fails(slack_client.files_info, "file_deleted", file=fid)
    fails(slack_client.files_info, "file_not_found", file="F000NOPE")
    fails(slack_client.files_upload_v2, "channel_not_found", channel="C0000000NOPE", content="x", filename="x.txt")
    archived = slack_sandbox.workspace.channel("legacy-alerts")["id"]
    fails(slack_client.files_upload_v2, "is_archived", channel=archived, content="x", filename="x.txt")


def test_scheduled_message_is_listed_posted_when_due_and_deletable(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("alerts-jira")["id"]
    later = slack_client.chat_scheduleMessage(channel=channel, text="tomorrow", post_at=int(time.time()) + 86_400)
    assert later["channel"] == channel and later["scheduled_message_id"].startswith("Q")
    soon = slack_client.chat_scheduleMessage(channel=channel, text="soon", post_at=int(time.time()) + 1)
    listed = slack_client.chat_scheduledMessages_list(channel=channel)["scheduled_messages"]
    assert [(m["id"], m["text"]) for m in listed] == [(soon["scheduled_message_id"], "soon"),
                                                      (later["scheduled_message_id"], "tomorrow")]
    assert slack_client.chat_deleteScheduledMessage(channel=channel,
                                                    scheduled_message_id=later["scheduled_message_id"])["ok"]
    fails(slack_client.chat_deleteScheduledMessage, "invalid_scheduled_message_id", channel=channel,
          scheduled_message_id=later["scheduled_message_id"])
    time.sleep(1.5)
    assert [m["text"] for m in slack_client.conversations_history(channel=channel)["messages"]] == ["soon"]
    assert slack_client.chat_scheduledMessages_list()["scheduled_messages"] == []
    fails(slack_client.chat_scheduleMessage, "time_in_past", channel=channel, text="x", post_at=int(time.time()) - 5)
    fails(slack_client.chat_scheduleMessage, "time_too_far", channel=channel, text="x",
          post_at=int(time.time()) + 121 * 86_400)


def test_pins_and_unfurl(slack_client, slack_sandbox):
    posted = slack_client.chat_postMessage(channel="#alerts-servicenow", text="see https://x.example/1")
    channel, ts = posted["channel"], posted["ts"]
    assert slack_client.pins_add(channel=channel, timestamp=ts)["ok"]
    fails(slack_client.pins_add, "already_pinned", channel=channel, timestamp=ts)
    [item] = slack_client.pins_list(channel=channel)["items"]
    assert item["type"] == "message" and item["message"]["ts"] == ts and item["message"]["pinned_to"] == [channel]
    slack_client.pins_remove(channel=channel, timestamp=ts)
    fails(slack_client.pins_remove, "no_pin", channel=channel, timestamp=ts)
    assert slack_client.chat_unfurl(channel=channel, ts=ts, unfurls={"https://x.example/1": {"text": "one"}})["ok"]
    assert slack_sandbox.messages()[-1]["sb_unfurls"] == {"https://x.example/1": {"text": "one"}}


def test_channel_administration(slack_client, slack_sandbox):
    human = next(u for u in slack_sandbox.workspace.users if u != slack_sandbox.workspace.bot_user_id)
    created = slack_client.conversations_create(name="inc-0010001")["channel"]
    cid = created["id"]
    assert cid.startswith("C") and created["is_member"] and created["creator"] == slack_sandbox.workspace.bot_user_id
    fails(slack_client.conversations_create, "name_taken", name="general")
    fails(slack_client.conversations_create, "invalid_name_specials", name="Bad Name!")
    assert slack_client.conversations_invite(channel=cid, users=[human])["channel"]["id"] == cid
    fails(slack_client.conversations_invite, "already_in_channel", channel=cid, users=[human])
    assert slack_client.conversations_members(channel=cid)["members"] == [slack_sandbox.workspace.bot_user_id, human]
    topic = slack_client.conversations_setTopic(channel=cid, topic="Major incident")["channel"]["topic"]
    assert topic["value"] == "Major incident"
    slack_client.conversations_kick(channel=cid, user=human)
    fails(slack_client.conversations_kick, "not_in_channel", channel=cid, user=human)
    slack_client.conversations_archive(channel=cid)
    fails(slack_client.conversations_archive, "already_archived", channel=cid)
    fails(slack_client.chat_postMessage, "is_archived", channel=cid, text="x")
    slack_client.conversations_unarchive(channel=cid)

    random = slack_sandbox.workspace.channel("random")["id"]
    assert slack_client.conversations_join(channel=random)["channel"]["is_member"]
    again = slack_client.conversations_join(channel=random)
    assert again["warning"] == "already_in_channel"
    assert again["response_metadata"]["warnings"] == ["already_in_channel"]
    alerts = slack_sandbox.workspace.channel("alerts-servicenow")["id"]
    paged = [m for page in slack_client.conversations_members(channel=alerts, limit=3) for m in page["members"]]
    assert sorted(paged) == sorted(u for u in slack_sandbox.workspace.users if u != "USLACKBOT")  # in no channel
    dm = slack_client.conversations_open(users=human, return_im=True)["channel"]
    assert dm["is_im"] and dm["user"] == human


def test_views_open_update_push_publish_and_trigger_ids(slack_client, slack_sandbox):
    trigger = slack_sandbox.new_trigger_id()
    view = slack_client.views_open(trigger_id=trigger, view={**MODAL, "external_id": "inc-1"})["view"]
    assert view["id"].startswith("V") and view["type"] == "modal" and view["root_view_id"] == view["id"]
    fails(slack_client.views_open, "exchanged_trigger_id", trigger_id=trigger, view=MODAL)
    fails(slack_client.views_open, "expired_trigger_id", trigger_id="12345.98765.abcd2358fdea", view=MODAL)
    fails(slack_client.views_open, "invalid_trigger_id", trigger_id="not-a-trigger", view=MODAL)
    bad = fails(slack_client.views_open, "invalid_arguments", trigger_id=slack_sandbox.new_trigger_id(),
                view={"type": "modal", "blocks": []})
    assert "title" in bad["response_metadata"]["messages"][0]

    new_title = {**MODAL, "title": {"type": "plain_text", "text": "Approved"}}
    updated = slack_client.views_update(view_id=view["id"], hash=view["hash"], view=new_title)["view"]
    assert updated["id"] == view["id"] and updated["title"]["text"] == "Approved" and updated["hash"] != view["hash"]
    fails(slack_client.views_update, "hash_conflict", view_id=view["id"], hash=view["hash"], view=MODAL)
    assert slack_client.views_update(external_id="inc-1", view=MODAL)["view"]["id"] == view["id"]
    fails(slack_client.views_update, "not_found", view_id="V000NOPE", view=MODAL)
    pushed = slack_client.views_push(trigger_id=slack_sandbox.new_trigger_id(), view=MODAL)["view"]
    assert pushed["previous_view_id"] == view["id"] and pushed["root_view_id"] == view["id"]

    human = next(u for u in slack_sandbox.workspace.users if u != slack_sandbox.workspace.bot_user_id)
    home = slack_client.views_publish(user_id=human, view={"type": "home", "blocks": []})["view"]
    assert home["type"] == "home"
    assert slack_client.views_publish(user_id=human, view={"type": "home", "blocks": []})["view"]["id"] == home["id"]
    fails(slack_client.views_publish, "user_not_found", user_id="U000NOPE", view={"type": "home", "blocks": []})
    over_http = requests.post(slack_sandbox.url + "/_sandbox/trigger_ids", timeout=10).json()["trigger_id"]
    assert slack_client.views_open(trigger_id=over_http, view=MODAL)["ok"]


def test_workspace_lookups(slack_client, slack_sandbox):
    ws = slack_sandbox.workspace
    team = slack_client.team_info()["team"]
    assert team["id"] == ws.team_id and team["domain"] == ws.domain and team["name"] == ws.team
    assert slack_client.bots_info(bot=ws.bot_id)["bot"]["user_id"] == ws.bot_user_id
    human = next(u for u in ws.users if u != ws.bot_user_id)
    assert slack_client.users_profile_get(user=human)["profile"]["email"].endswith("@projectx.example")


def test_invalid_blocks_details_and_api_test_errors(slack_client, slack_sandbox):
    cases = ([{"type": "section", "text": {"type": "mrkdwn", "text": ""}}], [{"type": "no-such-block"}],
             [{"text": "no type"}])
    for blocks in cases:
        resp = fails(slack_client.chat_postMessage, "invalid_blocks", channel="alerts-jira", text="x", blocks=blocks)
        assert resp["response_metadata"]["messages"][0].startswith("[ERROR] ")
        assert "json-pointer:/blocks/0" in resp["errors"][0]
    form = requests.post(slack_sandbox.url + "/api/chat.postMessage", timeout=10, data={
        "token": slack_sandbox.bot_token, "channel": "alerts-jira", "text": "x", "blocks": '[{"type":'}).json()
    assert form == {"ok": False, "error": "invalid_blocks_format"}
    hook = WebhookClient(slack_sandbox.webhook_url).send(text="x", blocks=[{"type": "no-such-block"}])
    assert hook.status_code == 400 and hook.body == "invalid_blocks"
    assert slack_sandbox.messages() == []
    resp = fails(slack_client.api_test, "my_error", error="my_error")
    assert resp["args"] == {"error": "my_error"}


def test_async_client_retries_429_and_uploads(slack_sandbox):
    channel = slack_sandbox.workspace.channel("alerts-onetrust")["id"]

    async def run():
        client = AsyncWebClient(token=slack_sandbox.bot_token, base_url=slack_sandbox.url + "/api/",
                                retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)])
        posted = await client.chat_postMessage(channel=channel, text="after retry")
        up = await client.files_upload_v2(channel=channel, content="async file", filename="x.txt")
        team = await client.team_info()
        return posted, up, team

    slack_sandbox.faults.set(rate_429=1.0, retry_after=1)
    timer = threading.Timer(0.3, slack_sandbox.faults.clear)
    timer.start()
    try:
        posted, up, team = asyncio.run(run())
    finally:
        timer.cancel()
    assert posted["ok"] and up["file"]["name"] == "x.txt" and team["team"]["id"] == slack_sandbox.workspace.team_id
    assert [m["via"] for m in slack_sandbox.messages(channel)] == ["chat.postMessage", "files.completeUploadExternal"]
