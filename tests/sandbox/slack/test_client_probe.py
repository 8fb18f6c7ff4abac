"""slack_sdk calls that used to answer unknown_method: chat.update, chat.delete, chat.getPermalink,
chat.postEphemeral and users.list."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError


def test_chat_update_edits_the_bots_message(slack_client, slack_sandbox):
    posted = slack_client.chat_postMessage(channel="#alerts-servicenow", text="INC0010001 opened")
    got = slack_client.chat_update(channel=posted["channel"], ts=posted["ts"], text="INC0010001 resolved",
                                   blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "*resolved*"}}])
    assert got["ok"] and got["channel"] == posted["channel"] and got["ts"] == posted["ts"]
    assert got["text"] == "INC0010001 resolved" and got["message"]["edited"]["user"] == posted["message"]["user"]
    history = slack_client.conversations_history(channel=posted["channel"])["messages"]
    assert [(m["ts"], m["text"]) for m in history] == [(posted["ts"], "INC0010001 resolved")]
    [stored] = slack_sandbox.messages("alerts-servicenow")
    assert stored["text"] == "INC0010001 resolved" and stored["blocks"][0]["text"]["text"] == "*resolved*"

    with pytest.raises(SlackApiError) as err:
        slack_client.chat_update(channel=posted["channel"], ts="1234567890.000001", text="x")
    assert err.value.response.status_code == 200 and err.value.response["error"] == "message_not_found"
    with pytest.raises(SlackApiError) as err:
        slack_client.chat_update(channel=posted["channel"], ts=posted["ts"])
    assert err.value.response["error"] == "no_text"


def test_chat_delete_permalink_and_ephemeral(slack_client, slack_sandbox):
    keep = slack_client.chat_postMessage(channel="#alerts-servicenow", text="keep")
    gone = slack_client.chat_postMessage(channel="#alerts-servicenow", text="gone")
    assert slack_client.chat_delete(channel=gone["channel"], ts=gone["ts"])["ts"] == gone["ts"]
    history = slack_client.conversations_history(channel=keep["channel"])["messages"]
    assert [m["text"] for m in history] == ["keep"]
    with pytest.raises(SlackApiError) as err:
        slack_client.chat_delete(channel=gone["channel"], ts=gone["ts"])
    assert err.value.response["error"] == "message_not_found"

    link = slack_client.chat_getPermalink(channel=keep["channel"], message_ts=keep["ts"])["permalink"]
    assert link.endswith(f"/archives/{keep['channel']}/p{keep['ts'].replace('.', '')}")

    user = slack_client.users_list()["members"][0]["id"]
    assert slack_client.chat_postEphemeral(channel=keep["channel"], user=user, text="only you")["message_ts"]
    assert [m["text"] for m in slack_client.conversations_history(channel=keep["channel"])["messages"]] == ["keep"]


def test_users_list_pages_with_cursor(slack_client, slack_sandbox):
    everyone = slack_client.users_list()["members"]
    assert len(everyone) == len(slack_sandbox.workspace.users)
    paged = [m["id"] for page in slack_client.users_list(limit=2) for m in page["members"]]
    assert paged == [m["id"] for m in everyone]
    email = next(m["profile"]["email"] for m in everyone if m["profile"].get("email"))
    assert slack_client.users_lookupByEmail(email=email)["user"]["profile"]["email"] == email
