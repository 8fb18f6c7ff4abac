"""Round 19 of the slack_sdk probe (`WebClient` used unchanged). What answered unlike Slack before round 19:
users.list had no Slackbot (every workspace lists `USLACKBOT`, `is_bot` false, no e-mail) and users.info /
conversations.open did not know it; conversations.invite took Slackbot into a channel (Slack:
cant_invite_slackbot); admin.* methods answered a bot token unknown_method (Slack: not_allowed_token_type).
The rest pins what already matched: a group DM's conversations.open, round 18's unconfirmed error answers,
conversations.history bounds, chat.meMessage / chat.unfurl and the conversation lifecycle methods."""

from __future__ import annotations

import pytest

from tests.sandbox.slack.test_client_probe_more import MODAL
from tests.sandbox.slack.test_client_probe_round3 import _human, fails


def test_slackbot_is_listed_last_and_answers_users_info(slack_client, slack_sandbox):
    members = slack_client.users_list()["members"]
    slackbot = members[-1]  # [unc] Slack's order: after every U… id here, as if sorted by id
    assert (slackbot["id"], slackbot["name"], slackbot["real_name"]) == ("USLACKBOT", "slackbot", "Slackbot")
    assert slackbot["is_bot"] is False and slackbot["deleted"] is False and slackbot["is_app_user"] is False
    profile = slackbot["profile"]
    assert (profile["real_name"], profile["display_name"]) == ("Slackbot", "Slackbot") and "email" not in profile
    assert profile["always_active"] is True and "bot_id" not in profile
    assert slack_client.users_info(user="USLACKBOT")["user"] == slackbot
    assert slack_client.users_profile_get(user="USLACKBOT")["profile"] == profile
    assert slack_client.users_getPresence(user="USLACKBOT")["presence"] == "active"
    # a product walking users.list for people must skip it: not a bot by is_bot, no e-mail to match
    people = [m for m in members if not m["is_bot"] and not m["deleted"] and m["id"] != "USLACKBOT"]
    assert len(people) == 8 and all(p["profile"].get("email") for p in people)
    fails(slack_client.users_lookupByEmail, "users_not_found", email="slackbot@projectx.example")


def test_slackbot_dm_opens_and_slackbot_is_in_no_channel(slack_client, slack_sandbox):
    opened = slack_client.conversations_open(users="USLACKBOT")
    dm = opened["channel"]["id"]
    assert opened["channel"] == {"id": dm} and dm.startswith("D") and dm != "DSLACKBOT"  # [unc] an ordinary D id
    again = slack_client.conversations_open(users="USLACKBOT", return_im=True)
    assert again["already_open"] is True and again["channel"]["user"] == "USLACKBOT" and again["channel"]["is_im"]
    assert slack_client.chat_postMessage(channel=dm, text="hello Slackbot")["channel"] == dm
    general = slack_sandbox.workspace.channel("general")["id"]
    members = [m for p in slack_client.conversations_members(channel=general) for m in p["members"]]
    assert "USLACKBOT" not in members and len(members) == 9  # [unc] Slackbot is not a channel member
    made = slack_client.conversations_create(name="round19-invite")["channel"]["id"]
    fails(slack_client.conversations_invite, "cant_invite_slackbot", channel=made, users="USLACKBOT")


def test_group_dm_open_answers_the_id_unless_return_im(slack_client, slack_sandbox):
    users = ",".join([_human(slack_sandbox), _human(slack_sandbox, "bruno.keller")])
    first = slack_client.conversations_open(users=users)
    gid = first["channel"]["id"]
    assert first["channel"] == {"id": gid} and gid.startswith("G") and "already_open" not in first  # [unc] G…
    full = slack_client.conversations_open(users=users, return_im=True)
    assert full["channel"]["id"] == gid and full["channel"]["is_mpim"] and full["already_open"] is True
    assert full["channel"]["name"] == "mpdm-projectx-bot--amelia.hart--bruno.keller-1"
    fails(slack_client.conversations_open, "too_many_users", users=",".join(["U1"] * 9))


def test_round18_error_answers(slack_client, slack_sandbox):
    fails(slack_client.views_open, "invalid_trigger_id", trigger_id="garbage", view=MODAL)  # [unc] malformed
    fails(slack_client.views_open, "expired_trigger_id", view=MODAL,  # well-formed but unknown [unc]
          trigger_id="1234567890123.1234567890.abcdef0123456789abcdef0123456789")
    channel = slack_sandbox.workspace.channel("alerts-jira")["id"]
    # slack_sdk does not refuse content="" itself (b"" is not None): getUploadURLExternal gets length=0, which
    # Slack documents as missing_argument (round 22; was invalid_arguments)
    fails(slack_client.files_upload_v2, "missing_argument", channel=channel, content="", filename="a.txt")
    # a thread_ts that names no message: accepted, the file shared into that (empty) thread [unc]
    done = slack_client.files_upload_v2(channel=channel, content="hi", filename="a.txt",
                                        thread_ts="1234567890.000100")
    assert done["ok"] and done["files"][0]["name"] == "a.txt"


def test_admin_methods_refuse_a_bot_token(slack_client, slack_sandbox):
    fails(slack_client.admin_users_list, "not_allowed_token_type", team_id=slack_sandbox.workspace.team_id)
    fails(slack_client.admin_conversations_search, "not_allowed_token_type")
    resp = fails(slack_client.api_call, "not_allowed_token_type", api_method="admin.teams.list")
    assert "needed" not in resp.data
    fails(slack_client.api_call, "unknown_method", status=404, api_method="nosuch.method")


def test_history_bounds_with_metadata(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("alerts-servicenow")["id"]
    meta = {"event_type": "projectx_notification", "event_payload": {"key": "k1"}}
    tss = [slack_client.chat_postMessage(channel=channel, text=f"m{i}", metadata=meta)["ts"] for i in range(4)]
    window = {"channel": channel, "oldest": tss[0], "latest": tss[3]}
    plain = slack_client.conversations_history(**window)["messages"]
    assert [m["text"] for m in plain] == ["m2", "m1"] and all("metadata" not in m for m in plain)
    both = slack_client.conversations_history(**window, inclusive=True, include_all_metadata=True)["messages"]
    assert [m["text"] for m in both] == ["m3", "m2", "m1", "m0"]
    assert all(m["metadata"]["event_payload"] == {"key": "k1"} for m in both)
    assert slack_client.conversations_history(channel=channel, oldest=tss[3])["messages"] == []
    fails(slack_client.conversations_history, "invalid_ts_latest", channel=channel, latest="soon")


def test_me_message_and_unfurl(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("alerts-jira")["id"]
    me = slack_client.chat_meMessage(channel=channel, text="is deploying")  # [unc] that a bot token may
    assert me["channel"] == channel
    [shown] = slack_client.conversations_history(channel=channel, limit=1)["messages"]
    assert (shown["subtype"], shown["text"], shown["ts"]) == ("me_message", "is deploying", me["ts"])
    fails(slack_client.chat_meMessage, "no_text", channel=channel, text="")
    ts = slack_client.chat_postMessage(channel=channel, text="see https://x.example/a")["ts"]
    assert slack_client.chat_unfurl(channel=channel, ts=ts, unfurls={"https://x.example/a": {"text": "A"}})["ok"]
    fails(slack_client.chat_unfurl, "message_not_found", channel=channel, ts="1.000002", unfurls={})  # [unc]


def test_conversation_lifecycle(slack_client, slack_sandbox):
    random = slack_sandbox.workspace.channel("random")["id"]
    assert slack_client.conversations_join(channel=random)["channel"]["id"] == random
    again = slack_client.conversations_join(channel=random)
    assert again["warning"] == "already_in_channel"
    assert again["response_metadata"]["warnings"] == ["already_in_channel"]
    assert slack_client.conversations_leave(channel=random).data == {"ok": True}
    assert slack_client.conversations_leave(channel=random)["not_in_channel"] is True
    general = slack_sandbox.workspace.channel("general")["id"]
    fails(slack_client.conversations_leave, "cant_leave_general", channel=general)
    fails(slack_client.conversations_archive, "cant_archive_general", channel=general)
    made = slack_client.conversations_create(name="round19-life")["channel"]["id"]
    fails(slack_client.conversations_rename, "name_taken", channel=made, name="alerts-jira")
    assert slack_client.conversations_rename(channel=made, name="round19-renamed")["channel"]["name"] == (
        "round19-renamed")
    assert slack_client.conversations_setTopic(channel=made, topic="T")["channel"]["topic"]["value"] == "T"
    assert slack_client.conversations_setPurpose(channel=made, purpose="P")["channel"]["purpose"]["value"] == "P"
    amelia = _human(slack_sandbox)
    slack_client.conversations_invite(channel=made, users=amelia)
    fails(slack_client.conversations_invite, "already_in_channel", channel=made, users=amelia)
    assert slack_client.conversations_kick(channel=made, user=amelia)["ok"]
    fails(slack_client.conversations_kick, "not_in_channel", channel=made, user=amelia)
    assert slack_client.conversations_archive(channel=made)["ok"]
    fails(slack_client.conversations_archive, "already_archived", channel=made)
    assert slack_client.conversations_unarchive(channel=made)["ok"]
    fails(slack_client.conversations_unarchive, "not_archived", channel=made)


@pytest.mark.parametrize(("name", "error"), [("Bad Name!", "invalid_name_specials"),
                                             ("UPPER", "invalid_name_specials"),  # [unc] not lower-cased
                                             ("general", "name_taken"), ("a" * 81, "invalid_name_maxlength"),
                                             ("", "invalid_name_required")])
def test_conversations_create_name_rules(slack_client, name, error):
    fails(slack_client.conversations_create, error, name=name)
