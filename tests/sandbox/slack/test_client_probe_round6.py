"""slack_sdk calls that answered wrongly before round 6 of the client probe: missing_scope without
`needed` / `provided`, no X-Accepted-OAuth-Scopes, invalid_arguments without `response_metadata.messages`,
usergroups.create / update / disable / enable / users.update (unknown_method), chat.postMessage's
username / icon overrides (ignored), rtm.connect and apps.connections.open with a bot token."""

from __future__ import annotations

import pytest
import requests
from slack_sdk.errors import SlackApiError

from tests.sandbox.slack.test_client_probe_round3 import _human, fails


def test_missing_scope_says_needed_and_provided(slack_client, slack_sandbox):
    slack_sandbox.set_method_error("users.lookupByEmail", "missing_scope")
    answer = fails(slack_client.users_lookupByEmail, "missing_scope", email="amelia.hart@projectx.example")
    assert answer["needed"] == "users:read.email"
    assert "users:read.email" not in answer["provided"].split(",") and "chat:write" in answer["provided"]
    slack_sandbox.faults.set(rate_403=1.0)
    try:
        answer = fails(slack_client.conversations_history, "missing_scope", channel="general")
    finally:
        slack_sandbox.faults.clear()
    assert set(answer["needed"].split(",")) == {"channels:history", "groups:history", "im:history", "mpim:history"}
    assert "channels:history" not in answer["provided"]


def _headers(response) -> dict[str, str]:
    return {k.lower(): v for k, v in response.headers.items()}


def test_every_answer_names_the_scopes_its_method_accepts(slack_client):
    posted = slack_client.chat_postMessage(channel="#general", text="x")
    assert _headers(posted)["x-accepted-oauth-scopes"] == "chat:write"
    got = slack_client.reactions_get(channel=posted["channel"], timestamp=posted["ts"])
    assert _headers(got)["x-accepted-oauth-scopes"] == "reactions:read"
    granted = set(_headers(slack_client.bookmarks_list(channel_id=posted["channel"]))["x-oauth-scopes"].split(","))
    assert {"bookmarks:read", "bookmarks:write", "usergroups:write", "users.profile:read"} <= granted


def test_invalid_arguments_lists_what_is_wrong(slack_client, slack_sandbox):
    parent = slack_client.chat_postMessage(channel="#general", text="thread")
    answer = fails(slack_client.conversations_replies, "invalid_arguments", channel=parent["channel"], ts="")
    assert answer["response_metadata"]["messages"] == ["[ERROR] missing required field: ts"]
    answer = fails(slack_client.files_getUploadURLExternal, "invalid_arguments", filename="a.txt", length="abc")
    assert answer["response_metadata"]["messages"][0].startswith("[ERROR] ")


def test_usergroups_are_created_updated_filled_disabled_and_enabled(slack_client, slack_sandbox):
    amelia, dana = _human(slack_sandbox), _human(slack_sandbox, "dana.okafor")
    created = slack_client.usergroups_create(name="On-call", handle="oncall", description="Pager",
                                             channels=[slack_sandbox.workspace.channel("alerts-jira")["id"]],
                                             include_count=True)["usergroup"]
    assert (created["name"], created["handle"], created["user_count"], created["date_delete"]) == (
        "On-call", "oncall", 0, 0)
    assert created["prefs"]["channels"] == [slack_sandbox.workspace.channel("alerts-jira")["id"]]
    assert created["created_by"] == slack_sandbox.workspace.bot_user_id and created["id"].startswith("S")
    gid = created["id"]
    filled = slack_client.usergroups_users_update(usergroup=gid, users=[amelia, dana])["usergroup"]
    assert filled["users"] == [amelia, dana]
    assert slack_client.usergroups_users_list(usergroup=gid)["users"] == [amelia, dana]
    renamed = slack_client.usergroups_update(usergroup=gid, name="On-call EU", handle="oncall-eu")["usergroup"]
    assert (renamed["name"], renamed["handle"], renamed["description"]) == ("On-call EU", "oncall-eu", "Pager")
    disabled = slack_client.usergroups_disable(usergroup=gid)["usergroup"]
    assert disabled["date_delete"] > 0 and disabled["deleted_by"] == slack_sandbox.workspace.bot_user_id
    assert gid not in [g["id"] for g in slack_client.usergroups_list()["usergroups"]]
    assert gid in [g["id"] for g in slack_client.usergroups_list(include_disabled=True)["usergroups"]]
    fails(slack_client.usergroups_users_list, "no_such_subteam", usergroup=gid)
    assert slack_client.usergroups_users_list(usergroup=gid, include_disabled=True)["users"] == [amelia, dana]
    assert slack_client.usergroups_enable(usergroup=gid)["usergroup"]["date_delete"] == 0
    fails(slack_client.usergroups_create, "name_already_exists", name="On-call EU")
    fails(slack_client.usergroups_create, "handle_already_exists", name="Other", handle="amelia.hart")
    fails(slack_client.usergroups_create, "handle_already_exists", name="Other", handle="secops")
    fails(slack_client.usergroups_update, "no_such_subteam", usergroup="S000NOPE", name="x")
    fails(slack_client.usergroups_users_update, "invalid_users", usergroup=gid, users=["U000NOPE"])
    fails(slack_client.usergroups_users_update, "no_users_provided", usergroup=gid, users="")
    fails(slack_client.usergroups_disable, "no_such_subteam", usergroup="S000NOPE")


def test_username_and_icon_overrides_make_a_bot_message(slack_client, slack_sandbox):
    posted = slack_client.chat_postMessage(channel="#alerts-jira", text="deployed", username="Deploy Bot",
                                           icon_emoji=":rocket:")
    message = posted["message"]
    assert (message["subtype"], message["username"], message["icons"]) == ("bot_message", "Deploy Bot",
                                                                           {"emoji": ":rocket:"})
    assert "user" not in message and message["bot_id"] == slack_sandbox.workspace.bot_id
    [shown] = slack_client.conversations_history(channel=posted["channel"], limit=1)["messages"]
    assert (shown["username"], shown["subtype"]) == ("Deploy Bot", "bot_message")
    by_url = slack_client.chat_postMessage(channel="#alerts-jira", text="x", username="CI",
                                           icon_url="https://example.com/ci.png")["message"]
    assert by_url["icons"] == {"image_64": "https://example.com/ci.png"}
    # the bot may still edit and delete it: it is its own message
    slack_client.chat_update(channel=posted["channel"], ts=posted["ts"], text="rolled back")
    plain = slack_client.chat_postMessage(channel="#alerts-jira", text="plain")["message"]
    assert "subtype" not in plain and plain["user"] == slack_sandbox.workspace.bot_user_id


@pytest.mark.parametrize("method", ["rtm.connect", "rtm.start", "apps.connections.open"])
def test_rtm_and_socket_mode_refuse_a_bot_token(slack_client, method):
    with pytest.raises(SlackApiError) as info:
        slack_client.api_call(method)
    assert (info.value.response.status_code, info.value.response["error"]) == (200, "not_allowed_token_type")


def test_include_locale_adds_the_users_locale(slack_client, slack_sandbox):
    amelia = _human(slack_sandbox)
    assert "locale" not in slack_client.users_info(user=amelia)["user"]
    assert slack_client.users_info(user=amelia, include_locale=True)["user"]["locale"] == "en-US"
    members = slack_client.users_list(limit=2, include_locale=True)["members"]
    assert [m["locale"] for m in members] == ["en-US", "en-US"]


def test_markdown_text_posts_a_markdown_block_and_conflicts_with_text_or_blocks(slack_client, slack_sandbox):
    posted = slack_client.chat_postMessage(channel="#general", markdown_text="**Done**: `deploy`")
    assert posted["message"]["text"] == "**Done**: `deploy`"
    assert [(b["type"], b["text"]) for b in posted["message"]["blocks"]] == [("markdown", "**Done**: `deploy`")]
    edited = slack_client.chat_update(channel=posted["channel"], ts=posted["ts"], markdown_text="_rolled back_")
    assert edited["message"]["blocks"][0]["text"] == "_rolled back_"
    fails(slack_client.chat_postMessage, "markdown_text_conflict", channel="#general", markdown_text="**a**", text="a")
    fails(slack_client.chat_postMessage, "markdown_text_conflict", channel="#general", markdown_text="**a**",
          blocks=[{"type": "divider"}])
    fails(slack_client.chat_postMessage, "msg_too_long", channel="#general", markdown_text="x" * 12_001)


def test_a_file_is_shared_only_by_conversation_id_and_only_where_the_bot_is(slack_client, slack_sandbox):
    answer = fails(slack_client.files_upload_v2, "invalid_arguments", channel="alerts-jira", content="x",
                   filename="x.txt")
    assert answer["response_metadata"]["messages"] == [
        "[ERROR] input must match regex pattern: ^[CGDZ][A-Z0-9]{8,}$ [json-pointer:/channel_id]"]
    fails(slack_client.files_upload_v2, "invalid_arguments", channel=_human(slack_sandbox), content="x",
          filename="x.txt")
    random = slack_sandbox.workspace.channel("random")["id"]  # public, the bot not in it: posting works, sharing not
    assert slack_client.chat_postMessage(channel=random, text="chat:write.public")["ok"]
    fails(slack_client.files_upload_v2, "not_in_channel", channel=random, content="x", filename="x.txt")
    slack_client.conversations_join(channel=random)
    assert slack_client.files_upload_v2(channel=random, content="x", filename="x.txt")["file"]["channels"] == [random]


def test_narrowed_scopes_refuse_what_they_do_not_cover(slack_client, slack_sandbox):
    amelia = _human(slack_sandbox)
    slack_sandbox.set_scopes(["chat:write", "channels:read", "users:read"])
    answer = fails(slack_client.conversations_history, "missing_scope", channel=slack_sandbox.workspace.channel(
        "general")["id"])
    assert answer["needed"] == "channels:history,groups:history,im:history,mpim:history"
    assert answer["provided"] == "chat:write,channels:read,users:read"
    assert _headers(answer)["x-oauth-scopes"] == "chat:write,channels:read,users:read"
    fails(slack_client.users_lookupByEmail, "missing_scope", email="amelia.hart@projectx.example")
    assert "email" not in slack_client.users_info(user=amelia)["user"]["profile"]  # no users:read.email
    fails(slack_client.chat_postMessage, "not_in_channel", channel="#random", text="no chat:write.public")
    assert slack_client.chat_postMessage(channel="#general", text="a member may post")["ok"]
    assert slack_client.auth_test()["ok"]  # needs no scope
    assert requests.put(slack_sandbox.url + "/_sandbox/scopes", json={"scopes": None}).json()["scopes"][0] == \
        "chat:write"
    assert slack_client.users_info(user=amelia)["user"]["profile"]["email"] == "amelia.hart@projectx.example"
    assert requests.put(slack_sandbox.url + "/_sandbox/scopes", json={"scopes": "chat:write"}).status_code == 400
