"""Slack sandbox: message metadata, conversations.open and added people, through slack_sdk."""

import pytest
from slack_sdk.errors import SlackApiError


def test_metadata_is_kept_and_returned_only_when_asked(slack_sandbox, slack_client):
    meta = {"event_type": "projectx_notification", "event_payload": {"delivery_key": "dlv-1"}}
    posted = slack_client.chat_postMessage(channel="#alerts-servicenow", text="hi", metadata=meta)
    plain = slack_client.conversations_history(channel=posted["channel"])["messages"][0]
    assert "metadata" not in plain
    full = slack_client.conversations_history(channel=posted["channel"], include_all_metadata=True)["messages"][0]
    assert full["metadata"] == meta and full["ts"] == posted["ts"]
    with pytest.raises(SlackApiError) as err:
        slack_client.api_call("chat.postMessage", json={"channel": "#general", "text": "x", "metadata": {"a": 1}})
    assert err.value.response["error"] == "invalid_metadata_format"


def test_added_person_is_found_by_email_and_has_a_dm(slack_sandbox, slack_client):
    uid = slack_sandbox.add_user("dario.jensen@example.com", "Dario Jensen")
    assert slack_sandbox.add_user("DARIO.jensen@example.com") == uid
    assert slack_client.users_lookupByEmail(email="dario.jensen@example.com")["user"]["id"] == uid
    dm = slack_client.conversations_open(users=uid)["channel"]["id"]
    slack_client.chat_postMessage(channel=uid, text="for you")
    assert dm.startswith("D") and slack_sandbox.messages(dm)[0]["text"] == "for you"
    with pytest.raises(SlackApiError):
        slack_client.conversations_open(users="U000NOPE")
    assert slack_sandbox.method_calls("users.lookupByEmail") == 1
