"""Round 32: slack_sdk's own clients (WebClient, AsyncWebClient, WebhookClient, the retry handlers) against the
Slack sandbox over loopback, for the calls a notifications product (or a checker) makes: response shapes and
Slack's documented error codes. Unchanged clients only.

Found this round: a `markdown` block without text, or markdown blocks past their 12,000 characters together, and a
`table` block past 100 rows / 20 cells were accepted; Slack refuses them (invalid_blocks, msg_blocks_too_long).
"""

from __future__ import annotations

import asyncio
import time

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookClient

TS = r"\d{10}\.\d{6}"


def _error(call) -> dict:
    with pytest.raises(SlackApiError) as caught:
        call()
    assert caught.value.response.status_code in (200, 429)
    return caught.value.response.data


@pytest.fixture
def ids(slack_sandbox):
    ws = slack_sandbox.workspace
    person = next(u for u in ws.users.values() if not u.get("is_bot") and u["id"] != "USLACKBOT")
    return {"general": ws.channel("general")["id"], "random": ws.channel("random")["id"],
            "private": ws.channel("secops-private")["id"], "archived": ws.channel("legacy-alerts")["id"],
            "person": person["id"], "email": person["profile"]["email"]}


def test_a_post_with_blocks_attachments_and_flags_then_thread_update_permalink_delete(slack_client, ids):
    import re

    c, ch = slack_client, ids["general"]
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*P1* incident"}}]
    root = c.chat_postMessage(channel=ch, text="P1 incident", blocks=blocks, unfurl_links=False, unfurl_media=False,
                              attachments=[{"color": "#d00000", "fallback": "f", "text": "details"}])
    assert root["ok"] and root["channel"] == ch and re.fullmatch(TS, root["ts"])
    assert root["message"]["text"] == "P1 incident" and root["message"]["blocks"][0]["type"] == "section"
    assert root["message"]["attachments"][0]["text"] == "details"
    reply = c.chat_postMessage(channel=ch, text="follow-up", thread_ts=root["ts"])
    assert reply["message"]["thread_ts"] == root["ts"] and reply["ts"] != root["ts"]
    replies = c.conversations_replies(channel=ch, ts=root["ts"])
    assert [m["ts"] for m in replies["messages"]] == [root["ts"], reply["ts"]]
    assert replies["messages"][0]["reply_count"] == 1
    edited = c.chat_update(channel=ch, ts=root["ts"], text="P1 incident (resolved)")
    assert (edited["channel"], edited["ts"], edited["text"]) == (ch, root["ts"], "P1 incident (resolved)")
    link = c.chat_getPermalink(channel=ch, message_ts=reply["ts"])["permalink"]
    assert link.startswith("https://") and f"/archives/{ch}/p{reply['ts'].replace('.', '')}" in link
    assert f"thread_ts={root['ts']}" in link
    assert c.chat_delete(channel=ch, ts=reply["ts"])["ts"] == reply["ts"]
    assert _error(lambda: c.chat_delete(channel=ch, ts=reply["ts"]))["error"] == "message_not_found"
    assert _error(lambda: c.chat_update(channel=ch, ts="1700000000.000001", text="x"))["error"] == "message_not_found"


def test_ephemeral_scheduled_and_reactions(slack_client, ids):
    c, ch = slack_client, ids["general"]
    assert "message_ts" in c.chat_postEphemeral(channel=ch, user=ids["person"], text="only you")
    assert _error(lambda: c.chat_postEphemeral(channel=ch, user="U0NOBODY00", text="x"))["error"] == "user_not_found"
    later = int(time.time()) + 3600
    scheduled = c.chat_scheduleMessage(channel=ch, text="later", post_at=later)
    assert scheduled["post_at"] == later and scheduled["scheduled_message_id"]
    listed = c.chat_scheduledMessages_list(channel=ch)["scheduled_messages"]
    assert [m["id"] for m in listed] == [scheduled["scheduled_message_id"]]
    assert _error(lambda: c.chat_scheduleMessage(channel=ch, text="x", post_at=int(time.time()) - 60))["error"] == \
        "time_in_past"
    posted = c.chat_postMessage(channel=ch, text="react to me")
    assert c.reactions_add(channel=ch, timestamp=posted["ts"], name="white_check_mark")["ok"]
    assert _error(lambda: c.reactions_add(channel=ch, timestamp=posted["ts"], name="white_check_mark"))["error"] == \
        "already_reacted"
    assert _error(lambda: c.reactions_add(channel=ch, timestamp=posted["ts"], name="no-such-emoji-x"))["error"] == \
        "invalid_name"
    [shown] = c.conversations_history(channel=ch, limit=1)["messages"]
    assert shown["ts"] == posted["ts"] and shown["reactions"][0]["name"] == "white_check_mark"


def test_conversations_and_users_page_by_cursor_as_the_sdk_follows_it(slack_client, slack_sandbox, ids):
    c = slack_client
    names, pages = [], 0
    for page in c.conversations_list(limit=2, types="public_channel,private_channel", exclude_archived=True):
        names += [ch["name"] for ch in page["channels"]]  # the SDK reuses one response object: read it now
        pages += 1
    assert pages > 2 and len(names) == len(set(names)) and "legacy-alerts" not in names and "general" in names
    assert page["response_metadata"]["next_cursor"] == ""
    members = [u["id"] for page in c.users_list(limit=3) for u in page["members"]]
    assert len(members) == len(set(members)) == len(slack_sandbox.workspace.users)
    assert _error(lambda: c.users_list(cursor="not-a-cursor"))["error"] == "invalid_cursor"
    assert c.users_lookupByEmail(email=ids["email"].upper())["user"]["id"] == ids["person"]
    assert _error(lambda: c.users_lookupByEmail(email="nobody@nowhere.example"))["error"] == "users_not_found"
    info = c.users_info(user=ids["person"])["user"]
    assert info["id"] == ids["person"] and info["profile"]["email"] == ids["email"]
    dm = c.conversations_open(users=ids["person"])["channel"]["id"]
    assert dm.startswith("D") and c.conversations_info(channel=dm)["channel"]["is_im"]
    assert c.conversations_info(channel=ids["general"])["channel"]["name"] == "general"
    assert _error(lambda: c.conversations_info(channel="C0NOPE0000"))["error"] == "channel_not_found"
    assert _error(lambda: c.conversations_history(channel=ids["random"]))["error"] == "not_in_channel"
    joined = c.conversations_join(channel=ids["random"])
    assert joined["channel"]["id"] == ids["random"] and c.conversations_history(channel=ids["random"])["ok"]
    assert c.conversations_join(channel=ids["general"])["warning"] == "already_in_channel"
    assert _error(lambda: c.conversations_join(channel=ids["archived"]))["error"] == "is_archived"


def test_error_codes_a_notifier_must_tell_apart(slack_client, slack_sandbox, ids):
    c, ch = slack_client, ids["general"]
    assert _error(lambda: c.chat_postMessage(channel="C0NOPE0000", text="x"))["error"] == "channel_not_found"
    assert _error(lambda: c.chat_postMessage(channel=ids["private"], text="x"))["error"] == "channel_not_found"
    assert _error(lambda: c.chat_postMessage(channel=ids["archived"], text="x"))["error"] == "is_archived"
    assert _error(lambda: c.chat_postMessage(channel=ch, text="x" * 40_001))["error"] == "msg_too_long"
    assert c.chat_postMessage(channel=ch, text="x" * 40_000)["ok"]
    bad = _error(lambda: c.chat_postMessage(channel=ch, text="x", blocks=[{"type": "nope"}]))
    assert bad["error"] == "invalid_blocks" and bad["response_metadata"]["messages"][0].startswith("[ERROR]")
    wrong = WebClient(token="xoxb-0-0-wrong", base_url=slack_sandbox.url + "/api/")
    assert _error(wrong.auth_test)["error"] == "invalid_auth"
    assert _error(WebClient(base_url=slack_sandbox.url + "/api/").auth_test)["error"] == "not_authed"
    me = c.auth_test()
    assert me["user_id"] == slack_sandbox.workspace.bot_user_id and me["bot_id"] and me["team_id"]
    slack_sandbox.set_scopes(["chat:write"])
    refused = _error(lambda: c.chat_postMessage(channel=ids["random"], text="x"))
    assert refused["error"] == "not_in_channel"  # chat:write.public lacking: the bot is not in #random


def test_markdown_and_table_blocks_are_held_to_slacks_limits(slack_client, ids):
    c, ch = slack_client, ids["general"]
    md = lambda text: {"type": "markdown", "text": text}  # noqa: E731
    assert c.chat_postMessage(channel=ch, text="t", blocks=[md("**a**" * 100)])["ok"]
    assert c.chat_postMessage(channel=ch, text="t", blocks=[md("a" * 6000), md("b" * 6000)])["ok"]
    assert _error(lambda: c.chat_postMessage(channel=ch, text="t", blocks=[md("a" * 6000), md("b" * 6001)]))[
        "error"] == "msg_blocks_too_long"
    assert _error(lambda: c.chat_postMessage(channel=ch, text="t", blocks=[md("a" * 12_001)]))["error"] == \
        "msg_blocks_too_long"
    for block in ({"type": "markdown"}, md(""), md(" \n")):
        assert _error(lambda b=block: c.chat_postMessage(channel=ch, text="t", blocks=[b]))["error"] == \
            "invalid_blocks"
    cell = {"type": "raw_text", "text": "a"}
    table = lambda rows, **kw: {"type": "table", "rows": rows, **kw}  # noqa: E731
    assert c.chat_postMessage(channel=ch, text="t", blocks=[table([[cell] * 20] * 100)])["ok"]
    for block in (table([[cell]] * 101), table([[cell] * 21]), table([]), table([[]]), {"type": "table"},
                  table([[cell]], column_settings=[{"align": "left"}] * 21)):
        refused = _error(lambda b=block: c.chat_postMessage(channel=ch, text="t", blocks=[b]))
        assert refused["error"] == "invalid_blocks" and "json-pointer:/blocks/0" in refused["errors"][0]
    assert _error(lambda: c.chat_update(channel=ch, ts=c.chat_postMessage(channel=ch, text="t")["ts"],
                                        text="t", blocks=[md("a" * 12_001)]))["error"] == "msg_blocks_too_long"


def test_files_upload_v2_shares_in_the_channel_and_its_thread(slack_client, slack_sandbox, ids):
    c, ch = slack_client, ids["general"]
    root = c.chat_postMessage(channel=ch, text="evidence follows")
    done = c.files_upload_v2(channel=ch, content="a,b\n1,2\n", filename="report.csv", title="Report",
                             initial_comment="the report", thread_ts=root["ts"])
    [shared] = done["files"]
    assert shared["name"] == "report.csv" and shared["title"] == "Report" and shared["size"] == 8
    assert c.files_info(file=shared["id"])["file"]["id"] == shared["id"]
    share = [m for m in slack_sandbox.messages("general") if m["via"] == "files.completeUploadExternal"]
    assert share and share[-1]["thread_ts"] == root["ts"] and share[-1]["text"] == "the report"
    assert _error(lambda: c.files_upload_v2(channel=ids["random"], content="x", filename="x.txt"))["error"] == \
        "not_in_channel"


def test_ratelimited_retry_after_is_honoured_by_the_sdks_handlers(slack_sandbox):
    slack_sandbox.set_method_error("chat.postMessage", "ratelimited")
    client = WebClient(token=slack_sandbox.bot_token, base_url=slack_sandbox.url + "/api/",
                       retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    started = time.monotonic()
    data = _error(lambda: client.chat_postMessage(channel="#general", text="x"))
    assert data == {"ok": False, "error": "ratelimited"} and time.monotonic() - started >= 1.0  # Retry-After: 1
    assert slack_sandbox.method_calls("chat.postMessage") == 2
    slack_sandbox.set_method_error("chat.postMessage", None)
    assert client.chat_postMessage(channel="#general", text="now")["ok"]

    async def async_side():
        ac = AsyncWebClient(token=slack_sandbox.bot_token, base_url=slack_sandbox.url + "/api/",
                            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
        posted = await ac.chat_postMessage(channel="#general", text="async")
        seen = [ch["id"] async for page in await ac.conversations_list(limit=3) for ch in page["channels"]]
        return posted["ts"], seen

    ts, seen = asyncio.run(async_side())
    public = [c["id"] for c in slack_sandbox.workspace.channels.values() if not c["is_private"]]
    assert ts and sorted(seen) == sorted(public)


def test_the_webhook_client_gets_slacks_plain_text_answers(slack_sandbox):
    hook = WebhookClient(slack_sandbox.webhook_url)
    ok = hook.send(text="deploy done", blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "*done*"}}])
    assert (ok.status_code, ok.body) == (200, "ok")
    assert (hook.send(text="x", blocks=[{"type": "nope"}]).status_code, ) == (400, )
    assert WebhookClient(slack_sandbox.url + "/services/T0/B0/nope").send(text="x").status_code == 404
    assert slack_sandbox.messages(slack_sandbox.webhook_channel)[-1]["text"] == "deploy done"


def test_a_reply_posted_to_a_replys_ts_joins_its_parents_thread(slack_client, ids):
    """Slack has no nested threads: before, the sandbox filed it under the reply, which then showed as a parent of
    its own and the message vanished from the thread's conversations.replies."""
    c, ch = slack_client, ids["general"]
    root = c.chat_postMessage(channel=ch, text="root")
    first = c.chat_postMessage(channel=ch, text="first", thread_ts=root["ts"])
    second = c.chat_postMessage(channel=ch, text="second", thread_ts=first["ts"])
    assert second["message"]["thread_ts"] == root["ts"]
    thread = c.conversations_replies(channel=ch, ts=root["ts"])["messages"]
    assert [(m["text"], m["thread_ts"]) for m in thread] == [("root", root["ts"]), ("first", root["ts"]),
                                                            ("second", root["ts"])]
    assert thread[0]["reply_count"] == 2 and "reply_count" not in thread[1]
    shown = [m["text"] for m in c.conversations_history(channel=ch)["messages"]]
    assert shown[0] == "root" and "first" not in shown and "second" not in shown  # replies stay in the thread
