"""Scopes by conversation type, through slack_sdk: an app installed before it asked for groups:read (or
groups:history) gets Slack's missing_scope naming that one scope when it lists or reads private channels,
while public ones keep working with channels:read / channels:history alone."""

from __future__ import annotations

from tests.sandbox.slack.test_client_probe_round3 import fails

OLD_INSTALL = ["chat:write", "channels:read", "channels:history", "users:read", "users:read.email", "im:write"]


def test_listing_private_channels_without_groups_read_is_missing_scope(slack_client, slack_sandbox):
    mine = slack_client.conversations_create(name="ops-private", is_private=True)["channel"]["id"]
    slack_sandbox.set_scopes(OLD_INSTALL)
    for types in ("public_channel,private_channel", "private_channel"):
        answer = fails(slack_client.conversations_list, "missing_scope", types=types)
        assert answer["needed"] == "groups:read"
        assert answer["provided"] == ",".join(OLD_INSTALL)
    assert fails(slack_client.users_conversations, "missing_scope", types="private_channel")["needed"] == "groups:read"
    public = [c["name"] for c in slack_client.conversations_list(types="public_channel", limit=200)["channels"]]
    assert "general" in public and "ops-private" not in public
    assert [c["name"] for c in slack_client.conversations_list(limit=200)["channels"]] == public  # the default type
    answer = fails(slack_client.conversations_list, "missing_scope", types="public_channel,im")
    assert answer["needed"] == "im:read"
    slack_sandbox.set_scopes(None)  # reinstalled with every scope: the private channel is listed again
    listed = slack_client.conversations_list(types="public_channel,private_channel", limit=200)["channels"]
    assert mine in {c["id"] for c in listed}


def test_reading_a_private_channel_without_groups_history_is_missing_scope(slack_client, slack_sandbox):
    mine = slack_client.conversations_create(name="ops-private", is_private=True)["channel"]["id"]
    slack_client.chat_postMessage(channel=mine, text="private")
    slack_sandbox.set_scopes(OLD_INSTALL)
    answer = fails(slack_client.conversations_history, "missing_scope", channel=mine)
    assert answer["needed"] == "groups:history" and "channels:history" in answer["provided"].split(",")
    fails(slack_client.conversations_replies, "missing_scope", channel=mine, ts="1.0")
    general = slack_sandbox.workspace.channel("general")["id"]
    assert slack_client.conversations_history(channel=general)["ok"]  # public: channels:history suffices
    fails(slack_client.conversations_history, "channel_not_found",  # still hidden from a non-member
          channel=slack_sandbox.workspace.channel("secops-private")["id"])
    slack_sandbox.set_scopes(None)
    assert [m["text"] for m in slack_client.conversations_history(channel=mine)["messages"]] == ["private"]
