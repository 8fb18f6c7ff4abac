"""slack_sdk calls that answered wrongly or unknown_method before round 3 of the client probe:
conversation lists (types, private channels, DMs, users.conversations), ..."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError


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
