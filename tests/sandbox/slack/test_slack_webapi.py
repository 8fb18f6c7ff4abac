"""Slack sandbox Web API through slack_sdk.WebClient, unchanged: posts, lookups, errors and 429s."""

from __future__ import annotations

import threading

import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler


def test_post_message_is_kept_and_readable(slack_sandbox, slack_client):
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Sync failed*"}}]
    resp = slack_client.chat_postMessage(channel="#alerts-servicenow", text="Sync failed", blocks=blocks)
    assert resp["ok"] and resp["channel"].startswith("C") and resp["message"]["text"] == "Sync failed"
    by_id = slack_client.chat_postMessage(channel=resp["channel"], text="second", thread_ts=resp["ts"])
    kept = slack_sandbox.messages("alerts-servicenow")
    assert [m["text"] for m in kept] == ["Sync failed", "second"]
    assert kept[0]["blocks"] == [{**blocks[0], "block_id": resp["message"]["blocks"][0]["block_id"]}]
    assert kept[1]["thread_ts"] == resp["ts"] and kept[1]["ts"] == by_id["ts"]
    assert slack_sandbox.messages("#alerts-servicenow") == slack_sandbox.messages(resp["channel"])
    assert slack_sandbox.messages("compliance-delivery") == []
    history = slack_client.conversations_history(channel=resp["channel"])
    assert [m["text"] for m in history["messages"]] == ["Sync failed"]  # as in Slack: replies are in the thread
    thread = slack_client.conversations_replies(channel=resp["channel"], ts=resp["ts"])
    assert [m["text"] for m in thread["messages"]] == ["Sync failed", "second"]


def test_form_encoded_call_with_token_field(slack_sandbox):
    resp = requests.post(slack_sandbox.url + "/api/chat.postMessage", timeout=10,
                         data={"token": slack_sandbox.bot_token, "channel": "vendor-management", "text": "form"})
    assert resp.status_code == 200 and resp.json()["ok"]
    assert slack_sandbox.messages("vendor-management")[0]["text"] == "form"


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"channel": "#no-such-channel", "text": "x"}, "channel_not_found"),
    ({"channel": "legacy-alerts", "text": "x"}, "is_archived"),
    ({"channel": "secops-private", "text": "x"}, "channel_not_found"),  # a private channel the bot is not in
    ({"channel": "alerts-jira", "text": ""}, "no_text"),
    ({"channel": "alerts-jira", "text": "x" * 40_001}, "msg_too_long"),
])
@pytest.mark.filterwarnings("ignore:The top-level `text` argument")
def test_ok_false_errors_raise_slack_api_error(slack_sandbox, slack_client, kwargs, error):
    with pytest.raises(SlackApiError) as info:
        slack_client.chat_postMessage(**kwargs)
    assert info.value.response["error"] == error and info.value.response.status_code == 200
    assert slack_sandbox.messages() == []


def test_auth_errors(slack_sandbox):
    with pytest.raises(SlackApiError) as missing:
        WebClient(base_url=slack_sandbox.url + "/api/").auth_test()
    assert missing.value.response["error"] == "not_authed"
    with pytest.raises(SlackApiError) as wrong:
        WebClient(token="xoxb-wrong", base_url=slack_sandbox.url + "/api/").auth_test()
    assert wrong.value.response["error"] == "invalid_auth"


def test_revoked_token_and_forced_method_error_switch_at_run_time(slack_sandbox, slack_client):
    assert slack_client.auth_test()["team_id"] == slack_sandbox.workspace.team_id
    slack_sandbox.faults.set(revoke_tokens=True)
    with pytest.raises(SlackApiError) as revoked:
        slack_client.auth_test()
    assert revoked.value.response["error"] == "token_revoked"
    slack_sandbox.reset()
    assert slack_client.auth_test()["ok"]
    slack_sandbox.set_method_error("chat.postMessage", "restricted_action")
    with pytest.raises(SlackApiError) as forced:
        slack_client.chat_postMessage(channel="general", text="x")
    assert forced.value.response["error"] == "restricted_action"
    slack_sandbox.set_method_error("chat.postMessage", None)
    assert slack_client.chat_postMessage(channel="general", text="x")["ok"]


def test_lookups_a_notifier_needs(slack_client):
    user = slack_client.users_lookupByEmail(email="Priya.Nair@projectx.example")["user"]
    assert user["profile"]["email"] == "priya.nair@projectx.example" and user["id"].startswith("U")
    assert slack_client.users_info(user=user["id"])["user"]["real_name"] == "Priya Nair"
    with pytest.raises(SlackApiError) as missing:
        slack_client.users_lookupByEmail(email="nobody@projectx.example")
    assert missing.value.response["error"] == "users_not_found"
    dm = slack_client.chat_postMessage(channel=user["id"], text="direct")
    assert dm["channel"].startswith("D")


def test_conversations_list_pages_with_cursor(slack_client):
    names, cursor = [], None
    while True:
        page = slack_client.conversations_list(limit=4, cursor=cursor, exclude_archived=True)
        names += [c["name"] for c in page["channels"]]
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert {"alerts-servicenow", "compliance-delivery", "vendor-management", "stg-integrations"} <= set(names)
    assert "legacy-alerts" not in names and "secops-private" not in names and len(names) == len(set(names))
    # a bot sees only the private channels it is a member of (not #secops-private), as in Slack
    assert slack_client.conversations_list(types="private_channel")["channels"] == []


def test_429_without_and_with_rate_limit_retry_handler(slack_sandbox):
    slack_sandbox.faults.set(rate_429=1.0, retry_after=1)
    plain = WebClient(token=slack_sandbox.bot_token, base_url=slack_sandbox.url + "/api/")
    with pytest.raises(SlackApiError) as info:
        plain.chat_postMessage(channel="alerts-onetrust", text="x")
    assert info.value.response.status_code == 429 and info.value.response["error"] == "ratelimited"
    assert info.value.response.headers["Retry-After"] == "1"
    assert slack_sandbox.messages() == []

    retrying = WebClient(token=slack_sandbox.bot_token, base_url=slack_sandbox.url + "/api/",
                         retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)])
    slack_sandbox.clear_request_log()
    timer = threading.Timer(0.3, slack_sandbox.faults.clear)  # the limit lifts while the client waits
    timer.start()
    try:
        assert retrying.chat_postMessage(channel="alerts-onetrust", text="after retry")["ok"]
    finally:
        timer.cancel()
    assert [r["status"] for r in slack_sandbox.request_log] == [429, 200]
    assert [m["text"] for m in slack_sandbox.messages("alerts-onetrust")] == ["after retry"]


def test_5xx_fault_on_and_off(slack_sandbox, slack_client):
    slack_sandbox.faults.set(rate_5xx=1.0, status_5xx=503)
    with pytest.raises(SlackApiError) as info:
        slack_client.auth_test()
    assert info.value.response.status_code == 503 and info.value.response["error"] == "internal_error"
    slack_sandbox.faults.clear()
    assert slack_client.auth_test()["ok"]


def test_unknown_method(slack_sandbox, slack_client):
    with pytest.raises(SlackApiError) as info:
        slack_client.api_call("chat.doesNotExist")
    assert info.value.response["error"] == "unknown_method"


def test_messages_over_admin_http(slack_sandbox, slack_client):
    slack_client.chat_postMessage(channel="stg-integrations", text="via admin")
    got = requests.get(slack_sandbox.url + "/_sandbox/messages", params={"channel": "stg-integrations"}, timeout=10)
    assert [m["text"] for m in got.json()["messages"]] == ["via admin"]
    assert requests.delete(slack_sandbox.url + "/_sandbox/messages", timeout=10).status_code == 204
    assert slack_sandbox.messages() == []


def test_history_and_replies_page_by_cursor_within_oldest_and_latest(slack_sandbox, slack_client):
    first = slack_client.chat_postMessage(channel="#alerts-servicenow", text="m0")
    channel = first["channel"]
    posted = [first] + [slack_client.chat_postMessage(channel=channel, text=f"m{i}") for i in range(1, 7)]
    pages, cursor = [], None
    while True:
        page = slack_client.conversations_history(channel=channel, limit=3, cursor=cursor)
        pages.append([m["text"] for m in page["messages"]])
        cursor = page["response_metadata"]["next_cursor"]
        assert page["has_more"] == bool(cursor)
        if not cursor:
            break
    assert pages == [["m6", "m5", "m4"], ["m3", "m2", "m1"], ["m0"]]  # newest first, as in Slack
    window = slack_client.conversations_history(channel=channel, oldest=posted[2]["ts"], latest=posted[5]["ts"])
    assert [m["text"] for m in window["messages"]] == ["m4", "m3"]  # both bounds exclusive by default
    window = slack_client.conversations_history(channel=channel, oldest=posted[2]["ts"], latest=posted[5]["ts"],
                                                inclusive=True)
    assert [m["text"] for m in window["messages"]] == ["m5", "m4", "m3", "m2"]
    replies = [slack_client.chat_postMessage(channel=channel, text=f"r{i}", thread_ts=first["ts"]) for i in range(4)]
    thread = slack_client.conversations_replies(channel=channel, ts=first["ts"], limit=3)
    assert [m["text"] for m in thread["messages"]] == ["m0", "r0", "r1"] and thread["has_more"]
    rest = slack_client.conversations_replies(channel=channel, ts=first["ts"], limit=3,
                                              cursor=thread["response_metadata"]["next_cursor"])
    assert [m["text"] for m in rest["messages"]] == ["r2", "r3"] and not rest["has_more"]
    late = slack_client.conversations_replies(channel=channel, ts=first["ts"], oldest=replies[1]["ts"])
    assert [m["text"] for m in late["messages"]] == ["m0", "r2", "r3"]
    with pytest.raises(SlackApiError) as info:
        slack_client.conversations_history(channel=channel, cursor="bm90LWEtY3Vyc29y")
    assert info.value.response["error"] == "invalid_cursor"
