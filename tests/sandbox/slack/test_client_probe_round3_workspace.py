"""Round 3 of the slack_sdk client probe, workspace look-ups that answered unknown_method before: user groups,
presence, Do Not Disturb, emoji, auth.teams.list, team.profile.get and channel bookmarks; the user and
channel fields Slack's examples show that were missing."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError


def fails(call, code: str, **kwargs):
    with pytest.raises(SlackApiError) as info:
        call(**kwargs)
    assert info.value.response.status_code == 200 and info.value.response["error"] == code
    return info.value.response


def _human(sb, handle: str = "amelia.hart") -> str:
    return next(u for u, p in sb.workspace.users.items() if p["name"] == handle)


def test_usergroups_presence_and_emoji(slack_client, slack_sandbox):
    groups = slack_client.usergroups_list()["usergroups"]
    assert [g["handle"] for g in groups] == ["secops", "compliance"] and all(g["id"].startswith("S") for g in groups)
    assert "users" not in groups[0] and "user_count" not in groups[0]
    full = slack_client.usergroups_list(include_users=True, include_count=True)["usergroups"][0]
    assert full["users"] == [_human(slack_sandbox), _human(slack_sandbox, "chen.wei")] and full["user_count"] == 2
    assert slack_client.usergroups_users_list(usergroup=full["id"])["users"] == full["users"]
    fails(slack_client.usergroups_users_list, "no_such_subteam", usergroup="S000NOPE")
    assert slack_client.users_getPresence(user=_human(slack_sandbox))["presence"] in ("active", "away")
    assert slack_client.users_getPresence(user=slack_sandbox.workspace.bot_user_id)["presence"] == "away"
    fails(slack_client.users_getPresence, "user_not_found", user="U000NOPE")
    emoji = slack_client.emoji_list()
    assert emoji["emoji"]["approved"] == "alias:white_check_mark" and emoji["cache_ts"]



def test_dnd_teams_and_team_profile(slack_client, slack_sandbox):
    amelia, chen = _human(slack_sandbox), _human(slack_sandbox, "chen.wei")
    dnd = slack_client.dnd_info(user=amelia)
    assert dnd["dnd_enabled"] is False and dnd["next_dnd_start_ts"] == 1
    assert set(slack_client.dnd_teamInfo(users=[amelia, chen])["users"]) == {amelia, chen}
    fails(slack_client.dnd_info, "user_not_found", user="U000NOPE")
    assert slack_client.users_setPresence(presence="auto")["ok"]
    fails(slack_client.users_setPresence, "invalid_presence", presence="busy")
    [team] = slack_client.auth_teams_list()["teams"]
    assert team["id"] == slack_sandbox.workspace.team_id
    assert slack_client.team_profile_get()["profile"]["fields"] == []
    fails(slack_client.files_sharedPublicURL, "not_allowed_token_type", file="F000")


def test_channel_bookmarks(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("compliance-delivery")["id"]
    mark = slack_client.bookmarks_add(channel_id=channel, title="Runbook RB-005", type="link",
                                      link="https://wiki.projectx.example/rb-005", emoji=":book:")["bookmark"]
    assert mark["id"].startswith("Bk") and mark["channel_id"] == channel and mark["type"] == "link"
    edited = slack_client.bookmarks_edit(channel_id=channel, bookmark_id=mark["id"], title="RB-005")["bookmark"]
    assert edited["title"] == "RB-005" and edited["date_updated"] >= mark["date_created"]
    assert [b["title"] for b in slack_client.bookmarks_list(channel_id=channel)["bookmarks"]] == ["RB-005"]
    assert slack_client.bookmarks_remove(channel_id=channel, bookmark_id=mark["id"])["ok"]
    assert slack_client.bookmarks_list(channel_id=channel)["bookmarks"] == []
    fails(slack_client.bookmarks_remove, "not_found", channel_id=channel, bookmark_id=mark["id"])
    fails(slack_client.bookmarks_add, "invalid_arguments", channel_id=channel, title="x", type="link",
          link="javascript:alert(1)")
    fails(slack_client.bookmarks_list, "not_in_channel", channel_id=slack_sandbox.workspace.channel("random")["id"])


def test_user_and_channel_objects_carry_slacks_fields(slack_client, slack_sandbox):
    user = slack_client.users_info(user=_human(slack_sandbox, "dana.okafor"))["user"]
    assert user["profile"]["first_name"] == "Dana" and user["profile"]["last_name"] == "Okafor"
    assert user["profile"]["image_72"].endswith("_72.png") and user["profile"]["status_text"] == ""
    assert user["is_restricted"] is False and user["is_email_confirmed"] and len(user["color"]) == 6
    bot = slack_client.users_info(user=slack_sandbox.workspace.bot_user_id)["user"]
    assert bot["is_bot"] and bot["profile"]["api_app_id"] == slack_sandbox.workspace.app_id
    channel = slack_client.conversations_info(channel=slack_sandbox.workspace.channel("alerts-jira")["id"])["channel"]
    assert channel["previous_names"] == [] and channel["shared_team_ids"] == [slack_sandbox.workspace.team_id]
    assert channel["updated"] == channel["created"] * 1000 and channel["parent_conversation"] is None
