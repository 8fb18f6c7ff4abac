"""Round 25: slack_sdk's own integration tests (integration_tests/web, webhook) run against the sandbox,
driven here with slack_sdk 3.48 unchanged. Before round 25 the sandbox answered unknown_method to
team.billing.info, team.preferences.list, canvases.* and conversations.canvases.create, not_allowed_token_type
to a user token's users.setPhoto, invalid_created_by to a bot's calls.add without created_by (their test_calls
adds Calls so), dropped `metadata` from chat.scheduleMessage's answer (their test_message_metadata reads it),
and answered invalid_arguments where slack.com answers channel_not_found to the "C,0,1,…" `channels` that
slack_sdk >= 3.35 sends for a str."""

from __future__ import annotations

import struct
import time
import zlib

import pytest
from slack_sdk import WebClient

from tests.sandbox.slack.test_client_probe_round3 import _human, fails
from tests.sandbox.slack.test_oauth_install import oauth_client, sb  # noqa: F401
from tests.sandbox.slack.test_user_tokens import _person

MARKDOWN = "# My canvas\n\n## Hey\n\nWhat's up?\n\n- foo\n- bar\n"


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\x4a\x15\x4b" * 8 for _ in range(8))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def test_calls_add_with_a_bot_token_needs_no_created_by(slack_client, slack_sandbox):
    amelia = _human(slack_sandbox)
    call = slack_client.calls_add(external_unique_id="ext-1", join_url="https://c.example/1",
                                  users=[{"slack_id": amelia}, {"external_id": "anon-1", "display_name": "Anon"}])
    assert slack_client.calls_info(id=call["call"]["id"])["call"]["join_url"] == "https://c.example/1"
    fails(slack_client.calls_add, "invalid_created_by", external_unique_id="x", join_url="https://c.example/2",
          created_by="U000NOBODY")


def test_files_upload_v2_channels_a_list_shares_a_str_is_channel_not_found(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("alerts-servicenow")["id"]
    before = len(slack_sandbox.messages(channel))
    fails(slack_client.files_upload_v2, "channel_not_found", channels=channel, content="x", filename="x.txt")
    assert len(slack_sandbox.messages(channel)) == before  # slack_sdk sent channels="C,0,…": nothing shared
    done = slack_client.files_upload_v2(channels=[channel], content="x", filename="x.txt", title="Test code")
    assert done["files"][0]["title"] == "Test code" and done["file"]["id"] == done["files"][0]["id"]
    assert slack_sandbox.messages(channel)[-1]["message"]["files"][0]["id"] == done["file"]["id"]
    fails(slack_client.files_upload_v2, "invalid_arguments", channel="alerts-servicenow", content="x",
          filename="x.txt")  # channel_id keeps Slack's schema error for a name


def test_chat_schedule_message_answers_with_its_metadata(slack_client):
    metadata = {"event_type": "procurement-task", "event_payload": {"id": "11111", "amount": 10}}
    scheduled = slack_client.chat_scheduleMessage(channel="#alerts-servicenow", post_at=int(time.time()) + 30,
                                                  text="scheduled", metadata=metadata)
    assert scheduled["message"]["metadata"] == metadata
    plain = slack_client.chat_scheduleMessage(channel="#alerts-servicenow", post_at=int(time.time()) + 60,
                                              text="no metadata")
    assert "metadata" not in plain["message"]


def test_team_billing_info_and_preferences(slack_client, slack_sandbox):
    assert slack_client.team_billing_info().data == {"ok": True, "plan": "std"}
    prefs = slack_client.team_preferences_list()
    assert prefs["msg_edit_window_mins"] == -1 and prefs["allow_message_deletion"] is True
    assert prefs["display_real_names"] is False and prefs["disable_file_uploads"] == "allow_all"
    assert prefs["who_can_post_general"] == "everyone"
    assert prefs.headers["X-Accepted-OAuth-Scopes"] == "team.preferences:read"
    slack_sandbox.set_scopes(["chat:write", "team:read"])
    got = fails(slack_client.team_billing_info, "missing_scope")
    assert got["needed"] == "team.billing:read"


def test_users_set_photo_and_delete_photo_with_a_user_token(sb, oauth_client):  # noqa: F811
    chen = _person(sb, oauth_client, "chen.wei")
    bot = WebClient(token=sb.bot_token, base_url=sb.url + "/api/")
    me = chen.auth_test()["user_id"]
    seeded = bot.users_info(user=me)["user"]["profile"]
    assert chen.users_setPhoto(image=_png()).data == {"ok": True}
    changed = bot.users_info(user=me)["user"]["profile"]
    assert changed["avatar_hash"] != seeded["avatar_hash"] and changed["is_custom_image"] is True
    assert changed["image_72"] != seeded["image_72"] and changed["image_original"].startswith("https://")
    fails(chen.users_setPhoto, "bad_image", image=b"not an image")
    fails(bot.users_setPhoto, "not_allowed_token_type", image=_png())
    assert chen.users_deletePhoto().data == {"ok": True}
    assert bot.users_info(user=me)["user"]["profile"] == seeded


def test_canvases_create_lookup_edit_access_delete(slack_client, slack_sandbox):
    created = slack_client.canvases_create(title="My canvas", document_content={"type": "markdown",
                                                                                  "markdown": MARKDOWN})
    canvas = created["canvas_id"]
    assert canvas.startswith("F")
    hey = slack_client.canvases_sections_lookup(canvas_id=canvas, criteria={"contains_text": "Hey"})["sections"]
    assert len(hey) == 1 and hey[0]["id"].startswith("temp:C:")
    headers = slack_client.canvases_sections_lookup(canvas_id=canvas, criteria={"section_types": ["any_header"]})
    assert len(headers["sections"]) == 2
    h1 = slack_client.canvases_sections_lookup(canvas_id=canvas, criteria={"section_types": ["h1"]})["sections"]
    assert len(h1) == 1 and h1[0]["id"] != hey[0]["id"]
    slack_client.canvases_edit(canvas_id=canvas, changes=[{"operation": "replace", "section_id": hey[0]["id"],
                                                           "document_content": {"type": "markdown",
                                                                                "markdown": "## Hey Hey"}}])
    again = slack_client.canvases_sections_lookup(canvas_id=canvas, criteria={"contains_text": "Hey Hey"})
    assert len(again["sections"]) == 1
    slack_client.canvases_edit(canvas_id=canvas, changes=[{"operation": "insert_at_end", "document_content": {
        "type": "markdown", "markdown": "- baz"}}])
    assert len(slack_client.canvases_sections_lookup(canvas_id=canvas, criteria={"contains_text": "baz"})[
        "sections"]) == 1
    fails(slack_client.canvases_edit, "canvas_editing_failed", canvas_id=canvas,
          changes=[{"operation": "delete", "section_id": "temp:C:nope"}])
    fails(slack_client.canvases_sections_lookup, "invalid_arguments", canvas_id=canvas, criteria={})

    me = slack_client.auth_test()["user_id"]
    slack_client.canvases_access_set(canvas_id=canvas, access_level="write", user_ids=[me])
    slack_client.canvases_access_delete(canvas_id=canvas, user_ids=[me])
    fails(slack_client.canvases_access_set, "user_not_found", canvas_id=canvas, access_level="read",
          user_ids=["U000NOBODY"])
    fails(slack_client.canvases_access_set, "invalid_arguments", canvas_id=canvas, access_level="owner",
          channel_ids=[slack_sandbox.workspace.channel("general")["id"]])
    slack_client.canvases_delete(canvas_id=canvas)
    fails(slack_client.canvases_delete, "canvas_not_found", canvas_id=canvas)
    fails(slack_client.canvases_sections_lookup, "canvas_not_found", canvas_id=canvas,
          criteria={"contains_text": "Hey"})


@pytest.mark.parametrize("kind", ["markdown", "html"])
def test_conversations_canvases_create_once_per_channel(slack_client, kind):
    channel = slack_client.conversations_create(name=f"canvas-{kind}")["channel"]["id"]
    content = {"type": kind, "markdown": MARKDOWN}
    if kind != "markdown":
        fails(slack_client.conversations_canvases_create, "invalid_arguments", channel_id=channel,
              document_content=content)
        return
    first = slack_client.conversations_canvases_create(channel_id=channel, document_content=content)
    assert first["canvas_id"].startswith("F")
    fails(slack_client.conversations_canvases_create, "channel_canvas_already_exists", channel_id=channel,
          document_content=content)
    fails(slack_client.conversations_canvases_create, "channel_not_found", channel_id="C000NOPE00",
          document_content=content)
