"""slack_sdk calls that answered wrongly or unknown_method before round 3 of the client probe:
conversation lists (types, private channels, DMs, users.conversations), thread fields on read, reading
channels the bot is not in, a forced ratelimited error,
block_ids Slack gives blocks without one, group DMs, conversations.rename / mark / close and chat.meMessage,
files.list by types, thread permalinks, chat.postEphemeral to a non-member, the granted scopes header,
chat.update's metadata and auth.revoke, JSON bodies as Slack reads them (no token field, missing_charset),
user-token-only methods, block_ids in views, users' tz_offset."""

from __future__ import annotations

import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler


def fails(call, code: str, status: int = 200, **kwargs):
    with pytest.raises(SlackApiError) as info:
        call(**kwargs)
    assert info.value.response.status_code == status and info.value.response["error"] == code
    return info.value.response


def _human(sb, handle: str = "amelia.hart") -> str:
    return next(u for u, p in sb.workspace.users.items() if p["name"] == handle)


def test_conversations_list_types_private_channels_and_dms(slack_client, slack_sandbox):
    amelia = _human(slack_sandbox)
    dm = slack_client.conversations_open(users=amelia)["channel"]["id"]
    mine = slack_client.conversations_create(name="probe-private", is_private=True)["channel"]["id"]
    private = slack_client.conversations_list(types="private_channel")["channels"]
    assert [c["id"] for c in private] == [mine]  # not #secops-private (the bot is not in it), not the DM
    assert [c["id"] for c in slack_client.conversations_list(types="im")["channels"]] == [dm]
    every = [c["name"] for page in slack_client.conversations_list(
        types="public_channel,private_channel,mpim,im", exclude_archived=True, limit=3) for c in page["channels"]]
    assert "secops-private" not in every and "legacy-alerts" not in every and "probe-private" in every
    assert len(every) == len(set(every)) == 11  # 9 live public channels, probe-private, the DM
    fails(slack_client.conversations_list, "invalid_types", types="channels")


def test_users_conversations(slack_client, slack_sandbox):
    mine = [c["name"] for page in slack_client.users_conversations(limit=4) for c in page["channels"]]
    assert "alerts-servicenow" in mine and "legacy-alerts" in mine and "random" not in mine
    live = slack_client.users_conversations(types="public_channel,private_channel", exclude_archived=True)
    assert "legacy-alerts" not in [c["name"] for c in live["channels"]]
    assert live["response_metadata"]["next_cursor"] == ""
    theirs = [c["name"] for c in slack_client.users_conversations(user=_human(slack_sandbox))["channels"]]
    assert "random" in theirs and "secops-private" not in theirs  # private and without the bot: hidden
    fails(slack_client.users_conversations, "user_not_found", user="U000NOPE")


def test_thread_fields_on_history_and_replies(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("alerts-jira")["id"]
    parent = slack_client.chat_postMessage(channel=channel, text="PROJ-1 moved to Done")
    first = slack_client.chat_postMessage(channel=channel, text="r1", thread_ts=parent["ts"])
    broadcast = slack_client.chat_postMessage(channel=channel, text="r2", thread_ts=parent["ts"], reply_broadcast=True)
    assert broadcast["message"]["subtype"] == "thread_broadcast"
    top, shown_parent = slack_client.conversations_history(channel=channel)["messages"]
    me = slack_sandbox.workspace.bot_user_id
    assert shown_parent["ts"] == parent["ts"] and shown_parent["thread_ts"] == parent["ts"]
    assert shown_parent["reply_count"] == 2 and shown_parent["reply_users"] == [me]
    assert shown_parent["reply_users_count"] == 1 and shown_parent["latest_reply"] == broadcast["ts"]
    assert top["ts"] == broadcast["ts"] and top["subtype"] == "thread_broadcast"
    assert top["root"]["ts"] == parent["ts"] and top["root"]["reply_count"] == 2
    thread = slack_client.conversations_replies(channel=channel, ts=parent["ts"])["messages"]
    assert [m["ts"] for m in thread] == [parent["ts"], first["ts"], broadcast["ts"]]
    assert thread[0]["reply_count"] == 2 and all(m["parent_user_id"] == me for m in thread[1:])
    slack_client.chat_delete(channel=channel, ts=first["ts"])
    again = slack_client.conversations_replies(channel=channel, ts=parent["ts"])["messages"][0]
    assert again["reply_count"] == 1
    plain = slack_client.chat_postMessage(channel=channel, text="no thread")
    assert "reply_count" not in slack_client.conversations_history(channel=channel, limit=1)["messages"][0]
    assert plain["message"].get("subtype") is None


def test_reading_needs_membership_and_private_channels_stay_hidden(slack_client, slack_sandbox):
    posted = slack_client.chat_postMessage(channel="#random", text="chat:write.public posts without joining")
    fails(slack_client.conversations_history, "not_in_channel", channel=posted["channel"])
    fails(slack_client.conversations_replies, "not_in_channel", channel=posted["channel"], ts=posted["ts"])
    slack_client.conversations_join(channel=posted["channel"])
    assert slack_client.conversations_history(channel=posted["channel"])["messages"][0]["ts"] == posted["ts"]
    secret = slack_sandbox.workspace.channel("secops-private")["id"]
    for call, extra in ((slack_client.conversations_info, {}), (slack_client.conversations_history, {}),
                        (slack_client.chat_postMessage, {"text": "x"}), (slack_client.pins_list, {}),
                        (slack_client.conversations_members, {}), (slack_client.conversations_leave, {})):
        fails(call, "channel_not_found", channel=secret, **extra)  # invisible, not just closed to the bot


def test_a_forced_ratelimited_error_is_a_429_the_retry_handler_waits_out(slack_sandbox):
    slack_sandbox.set_method_error("chat.postMessage", "ratelimited")
    plain = WebClient(token=slack_sandbox.bot_token, base_url=slack_sandbox.url + "/api/")
    resp = fails(plain.chat_postMessage, "ratelimited", 429, channel="alerts-jira", text="x")
    assert resp.headers["Retry-After"] == "1"
    patient = WebClient(token=slack_sandbox.bot_token, base_url=slack_sandbox.url + "/api/",
                        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    fails(patient.chat_postMessage, "ratelimited", 429, channel="alerts-jira", text="x")
    assert slack_sandbox.method_calls("chat.postMessage") == 3  # the handler retried once


def test_blocks_without_block_id_get_one_and_keep_it(slack_client, slack_sandbox):
    sent = [{"type": "section", "text": {"type": "mrkdwn", "text": "*INC0010001*"}}, {"type": "divider"},
            {"type": "actions", "block_id": "decide", "elements": [
                {"type": "button", "action_id": "approve", "text": {"type": "plain_text", "text": "Approve"}}]}]
    posted = slack_client.chat_postMessage(channel="alerts-servicenow", text="INC0010001", blocks=sent)
    ids = [b["block_id"] for b in posted["message"]["blocks"]]
    assert all(ids) and len(set(ids)) == 3 and ids[2] == "decide" and "block_id" not in sent[0]
    [shown] = slack_client.conversations_history(channel=posted["channel"])["messages"]
    assert [b["block_id"] for b in shown["blocks"]] == ids
    updated = slack_client.chat_update(channel=posted["channel"], ts=posted["ts"], text="INC0010001", blocks=sent)
    assert [b["block_id"] for b in updated["message"]["blocks"]] == ids  # same place, same id


def test_group_dms_resume_and_close(slack_client, slack_sandbox):
    amelia, chen = _human(slack_sandbox), _human(slack_sandbox, "chen.wei")
    group = slack_client.conversations_open(users=[amelia, chen], return_im=True)
    assert group["channel"]["is_mpim"] and "no_op" not in group and group["channel"]["name"].startswith("mpdm-")
    again = slack_client.conversations_open(users=f"{chen},{amelia}")
    assert again["channel"]["id"] == group["channel"]["id"] and again["already_open"]
    posted = slack_client.chat_postMessage(channel=group["channel"]["id"], text="both of you")
    assert posted["channel"] == group["channel"]["id"]
    assert [c["id"] for c in slack_client.conversations_list(types="mpim")["channels"]] == [group["channel"]["id"]]
    assert sorted(slack_client.conversations_members(channel=group["channel"]["id"])["members"]) == sorted(
        [slack_sandbox.workspace.bot_user_id, amelia, chen])
    dm = slack_client.conversations_open(users=amelia)["channel"]["id"]
    assert slack_client.conversations_close(channel=dm)["ok"]
    assert slack_client.conversations_close(channel=dm)["already_closed"]
    resumed = slack_client.conversations_open(channel=dm, return_im=True)
    assert resumed["channel"]["id"] == dm and "no_op" not in resumed
    jira = slack_sandbox.workspace.channel("alerts-jira")["id"]
    fails(slack_client.conversations_close, "method_not_supported_for_channel_type", channel=jira)
    fails(slack_client.conversations_close, "channel_not_found", channel="alerts-jira")  # ids only, as Slack
    fails(slack_client.conversations_open, "user_not_found", users="U000NOPE")


def test_rename_mark_and_me_message(slack_client, slack_sandbox):
    cid = slack_client.conversations_create(name="probe-room")["channel"]["id"]
    renamed = slack_client.conversations_rename(channel=cid, name="probe-room-2")["channel"]
    assert renamed["id"] == cid and renamed["name"] == "probe-room-2" and renamed["previous_names"] == ["probe-room"]
    fails(slack_client.conversations_rename, "name_taken", channel=cid, name="general")
    jira = slack_sandbox.workspace.channel("alerts-jira")["id"]
    fails(slack_client.conversations_rename, "not_authorized", channel=jira, name="jira-alerts")
    me = slack_client.chat_meMessage(channel=cid, text="is deploying")
    assert me["channel"] == cid and me["ts"]
    [shown] = slack_client.conversations_history(channel=cid)["messages"]
    assert shown["subtype"] == "me_message" and shown["text"] == "is deploying"
    assert slack_client.conversations_mark(channel=cid, ts=me["ts"])["ok"]
    fails(slack_client.conversations_mark, "not_in_channel", channel=slack_sandbox.workspace.channel("random")["id"],
          ts=me["ts"])


def test_files_list_filters_by_types(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("compliance-delivery")["id"]
    pdf = slack_client.files_upload_v2(channel=channel, content=b"%PDF-1.4", filename="evidence.pdf")["file"]
    png = slack_client.files_upload_v2(channel=channel, content=b"\x89PNG", filename="shot.png")["file"]
    slack_client.files_upload_v2(channel=channel, content="a,b", filename="rows.csv")
    assert [f["id"] for f in slack_client.files_list(types="pdfs")["files"]] == [pdf["id"]]
    assert [f["id"] for f in slack_client.files_list(types="images,pdfs")["files"]] == [png["id"], pdf["id"]]
    assert len(slack_client.files_list(types="all")["files"]) == len(slack_client.files_list()["files"]) == 3
    assert slack_client.files_list(types="zips")["files"] == []


def test_thread_permalink_ephemeral_membership_and_scopes(slack_client, slack_sandbox):
    parent = slack_client.chat_postMessage(channel="alerts-jira", text="parent")
    reply = slack_client.chat_postMessage(channel="alerts-jira", text="reply", thread_ts=parent["ts"])
    top = slack_client.chat_getPermalink(channel=parent["channel"], message_ts=parent["ts"])["permalink"]
    link = slack_client.chat_getPermalink(channel=parent["channel"], message_ts=reply["ts"])["permalink"]
    assert "?" not in top and link == top.replace(parent["ts"].replace(".", ""), reply["ts"].replace(".", "")) + \
        f"?thread_ts={parent['ts']}&cid={parent['channel']}"
    room = slack_client.conversations_create(name="probe-ephemeral")["channel"]["id"]
    fails(slack_client.chat_postEphemeral, "user_not_in_channel", channel=room, user=_human(slack_sandbox), text="x")
    slack_client.conversations_invite(channel=room, users=_human(slack_sandbox))
    assert slack_client.chat_postEphemeral(channel=room, user=_human(slack_sandbox), text="x")["message_ts"]
    headers = {k.lower(): v for k, v in slack_client.auth_test().headers.items()}
    scopes = headers["x-oauth-scopes"].split(",")
    assert {"chat:write", "files:write", "commands", "users:read.email", "reactions:write"} <= set(scopes)


def test_chat_update_replaces_metadata(slack_client, slack_sandbox):
    posted = slack_client.chat_postMessage(channel="alerts-jira", text="PROJ-1", metadata={
        "event_type": "ticket_opened", "event_payload": {"key": "PROJ-1"}})
    slack_client.chat_update(channel=posted["channel"], ts=posted["ts"], text="PROJ-1 done", metadata={
        "event_type": "ticket_closed", "event_payload": {"key": "PROJ-1"}})
    [shown] = slack_client.conversations_history(channel=posted["channel"], include_all_metadata=True)["messages"]
    assert shown["metadata"]["event_type"] == "ticket_closed" and shown["text"] == "PROJ-1 done"


def test_auth_revoke(slack_client, slack_sandbox):
    assert slack_client.auth_revoke(test=True)["revoked"] is False
    assert slack_client.auth_test()["ok"]
    assert slack_client.auth_revoke()["revoked"] is True
    fails(slack_client.auth_test, "token_revoked")
    fails(slack_client.chat_postMessage, "token_revoked", channel="alerts-jira", text="x")


def test_json_bodies_need_the_bearer_header_and_warn_without_charset(slack_client, slack_sandbox):
    url, token = slack_sandbox.url + "/api/chat.postMessage", slack_sandbox.bot_token
    in_body = requests.post(url, json={"channel": "alerts-jira", "text": "x", "token": token}, timeout=10).json()
    assert in_body == {"ok": False, "error": "not_authed"}
    bare = requests.post(url, json={"channel": "alerts-jira", "text": "x"}, timeout=10,
                         headers={"Authorization": f"Bearer {token}"}).json()
    assert bare["ok"] and bare["warning"] == "missing_charset"
    assert bare["response_metadata"]["warnings"] == ["missing_charset"]
    assert "warning" not in slack_client.chat_postMessage(channel="alerts-jira", text="x", blocks=[
        {"type": "divider"}])  # the SDK says charset=utf-8
    form = requests.post(url, data={"channel": "alerts-jira", "text": "x", "token": token}, timeout=10).json()
    assert form["ok"] and "warning" not in form
    joined = requests.post(slack_sandbox.url + "/api/conversations.join", json={"channel": form["channel"]},
                           headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    assert joined["response_metadata"]["warnings"] == ["missing_charset", "already_in_channel"]


def test_read_methods_do_not_read_a_json_body(slack_client, slack_sandbox):
    """Most write methods take JSON; read methods take query or form arguments only, so a JSON body's
    arguments are missing there (the channel, the e-mail), while the same ones form-encoded work."""
    auth = {"Authorization": f"Bearer {slack_sandbox.bot_token}"}
    channel = slack_sandbox.workspace.channel("alerts-jira")["id"]
    email = next(p["profile"]["email"] for p in slack_sandbox.workspace.users.values()
                 if (p.get("profile") or {}).get("email"))
    for method, args, refused in (("conversations.history", {"channel": channel}, "channel_not_found"),
                                  ("users.lookupByEmail", {"email": email}, "users_not_found")):
        url = f"{slack_sandbox.url}/api/{method}"
        assert requests.post(url, json=args, headers=auth, timeout=10).json()["error"] == refused
        assert requests.post(url, data=args, headers=auth, timeout=10).json()["ok"]
    assert slack_client.conversations_history(channel=channel)["ok"]  # slack_sdk sends reads as GET


def test_user_token_methods_refuse_the_bot_token(slack_client):
    fails(slack_client.search_messages, "not_allowed_token_type", query="INC0010001")
    fails(slack_client.reminders_add, "not_allowed_token_type", text="review", time="in 5 minutes")
    fails(slack_client.users_profile_set, "not_allowed_token_type", name="status_text", value="x")
    fails(slack_client.api_call, "unknown_method", 404, api_method="nothing.here")


def test_view_blocks_get_block_ids_and_users_carry_their_tz_offset(slack_client, slack_sandbox):
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Evidence"},
            "submit": {"type": "plain_text", "text": "Save"}, "blocks": [
        {"type": "input", "label": {"type": "plain_text", "text": "Note"},
         "element": {"type": "plain_text_input", "action_id": "note"}},
        {"type": "section", "block_id": "mine", "text": {"type": "mrkdwn", "text": "x"}}]}
    opened = slack_client.views_open(trigger_id=slack_sandbox.new_trigger_id(), view=view)["view"]
    assert opened["blocks"][0]["block_id"] and opened["blocks"][1]["block_id"] == "mine"
    assert "block_id" not in view["blocks"][0]
    priya = slack_client.users_info(user=_human(slack_sandbox, "priya.nair"))["user"]
    assert priya["tz"] == "Asia/Kolkata" and priya["tz_offset"] == 19800  # India keeps no summer time
