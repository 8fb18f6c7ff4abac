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


def test_the_web_api_cannot_reach_an_ephemeral_message(slack_client, slack_sandbox):
    """Slack keeps an ephemeral message out of the bot's reach: only a response_url may change it."""
    channel = slack_client.chat_postMessage(channel="#alerts-servicenow", text="keep")["channel"]
    user = slack_client.users_list()["members"][0]["id"]
    ts = slack_client.chat_postEphemeral(channel=channel, user=user, text="only you")["message_ts"]
    calls = [lambda: slack_client.chat_update(channel=channel, ts=ts, text="edited"),
             lambda: slack_client.chat_delete(channel=channel, ts=ts),
             lambda: slack_client.chat_getPermalink(channel=channel, message_ts=ts),
             lambda: slack_client.reactions_add(channel=channel, timestamp=ts, name="eyes"),
             lambda: slack_client.pins_add(channel=channel, timestamp=ts)]
    for call in calls:
        with pytest.raises(SlackApiError) as err:
            call()
        assert err.value.response["error"] == "message_not_found"
    [kept] = [m for m in slack_sandbox.messages(channel) if m.get("ephemeral")]
    assert kept["text"] == "only you" and not kept.get("deleted") and not kept["message"].get("reactions")


def test_users_list_pages_with_cursor(slack_client, slack_sandbox):
    everyone = slack_client.users_list()["members"]
    assert len(everyone) == len(slack_sandbox.workspace.users) == 10  # the bot, 8 people and Slackbot (last)
    assert everyone[-1]["id"] == "USLACKBOT" and everyone[0]["id"] == slack_sandbox.workspace.bot_user_id
    paged = [m["id"] for page in slack_client.users_list(limit=2) for m in page["members"]]
    assert paged == [m["id"] for m in everyone]
    email = next(m["profile"]["email"] for m in everyone if m["profile"].get("email"))
    assert slack_client.users_lookupByEmail(email=email)["user"]["profile"]["email"] == email


def test_reactions_add_get_remove_and_list(slack_client, slack_sandbox):
    posted = slack_client.chat_postMessage(channel="#alerts-servicenow", text="INC0010002 opened")
    channel, ts = posted["channel"], posted["ts"]
    assert slack_client.reactions_add(channel=channel, name="eyes", timestamp=ts)["ok"]
    slack_client.reactions_add(channel=channel, name=":white_check_mark:", timestamp=ts)
    got = slack_client.reactions_get(channel=channel, timestamp=ts)
    bot = posted["message"]["user"]
    assert got["type"] == "message" and got["channel"] == channel and got["message"]["ts"] == ts
    assert got["message"]["reactions"] == [{"name": "eyes", "users": [bot], "count": 1},
                                           {"name": "white_check_mark", "users": [bot], "count": 1}]
    history = slack_client.conversations_history(channel=channel)["messages"]
    assert [r["name"] for r in history[0]["reactions"]] == ["eyes", "white_check_mark"]
    # one identical item per reaction (reactions.list doc: "multiple identical items in the list")
    assert [i["message"]["ts"] for i in slack_client.reactions_list()["items"]] == [ts, ts]
    for call, kwargs, error in ((slack_client.reactions_add, {"name": "eyes", "timestamp": ts}, "already_reacted"),
                                (slack_client.reactions_add, {"name": "not an emoji", "timestamp": ts}, "invalid_name"),
                                (slack_client.reactions_add, {"name": "eyes", "timestamp": "1.000001"},
                                 "message_not_found"),
                                (slack_client.reactions_remove, {"name": "tada", "timestamp": ts}, "no_reaction"),
                                (slack_client.reactions_get, {}, "no_item_specified")):
        with pytest.raises(SlackApiError) as err:
            call(channel=channel, **kwargs)
        assert err.value.response.status_code == 200 and err.value.response["error"] == error
    slack_client.reactions_remove(channel=channel, name="eyes", timestamp=ts)
    slack_client.reactions_remove(channel=channel, name="white_check_mark", timestamp=ts)
    assert "reactions" not in slack_client.reactions_get(channel=channel, timestamp=ts)["message"]
