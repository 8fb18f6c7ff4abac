"""Round 29: Slack's argument and request errors, driven with slack_sdk unchanged (and raw requests where a client
sends what slack_sdk never does).

Before round 29 the sandbox
- posted, updated and scheduled with `as_user` from a bot token (Slack: invalid_arguments with
  `deprecated_argument: "as_user"`, even for `as_user=False`: granular bot tokens may not send it);
- listed channels and users of an org-wide install without `team_id` (Slack: missing_argument);
- answered a conversations.* write with no `channel` at all channel_not_found (Slack: invalid_arguments,
  `[ERROR] missing required field: channel`);
- answered a form body of raw non-UTF-8 bytes 500 internal_error (so ServerErrorRetryHandler sent it again),
  took any charset and Content-Type (Slack: invalid_charset, invalid_post_type, missing_post_type) and PHP-style
  `foo[7]` arguments (invalid_array_arg), and read an iso-8859-1 form as UTF-8 ("caf\\ufffd").
"""

from __future__ import annotations

import time

import pytest
import requests
from slack_sdk import WebClient

from tests.sandbox.slack.test_client_probe_round3 import fails
from tests.sandbox.slack.test_oauth_install import _code, _exchange, oauth_client, sb  # noqa: F401

CHANNEL = "#alerts-servicenow"


def _count(sb, channel=CHANNEL) -> int:  # noqa: F811
    return len(sb.messages(channel))


# --- as_user ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("as_user", [True, False])
def test_bot_token_may_not_send_as_user(slack_client, slack_sandbox, as_user):
    before = _count(slack_sandbox)
    response = fails(slack_client.chat_postMessage, "invalid_arguments", channel=CHANNEL, text="x", as_user=as_user)
    assert response["deprecated_argument"] == "as_user"
    assert _count(slack_sandbox) == before  # nothing posted

    posted = slack_client.chat_postMessage(channel=CHANNEL, text="original")
    channel, ts = posted["channel"], posted["ts"]  # chat.update takes the channel's id
    fails(slack_client.chat_update, "invalid_arguments", channel=channel, ts=ts, text="edited", as_user=as_user)
    assert slack_sandbox.messages(CHANNEL)[-1]["text"] == "original"
    fails(slack_client.chat_scheduleMessage, "invalid_arguments", channel=CHANNEL, text="later",
          post_at=int(time.time()) + 600, as_user=as_user)
    assert slack_client.chat_scheduledMessages_list()["scheduled_messages"] == []
    user = next(u for u, p in slack_sandbox.workspace.users.items() if p["name"] == "amelia.hart")
    fails(slack_client.chat_postEphemeral, "invalid_arguments", channel=CHANNEL, user=user, text="psst",
          as_user=as_user)
    # without it the same calls work
    assert slack_client.chat_update(channel=channel, ts=ts, text="edited")["ok"]


def test_user_token_may_still_send_as_user(sb, oauth_client):  # noqa: F811
    code = _code(sb, scopes=("chat:write",), user_scopes=("chat:write",), user="chen.wei")
    person = WebClient(token=_exchange(sb, oauth_client, code)["authed_user"]["access_token"],
                       base_url=sb.url + "/api/")
    posted = person.chat_postMessage(channel=CHANNEL, text="from chen", as_user=True)
    assert posted["message"]["user"] == next(u for u, p in sb.workspace.users.items() if p["name"] == "chen.wei")


# --- org-wide installs ----------------------------------------------------------------------------------------
def test_org_wide_install_names_the_workspace(slack_client, slack_sandbox):
    team = slack_sandbox.workspace.team_id
    assert slack_client.conversations_list(limit=3)["ok"]  # a workspace install needs no team_id
    slack_sandbox.configure_enterprise(org_wide=True)
    fails(slack_client.conversations_list, "missing_argument")
    fails(slack_client.users_list, "missing_argument")
    fails(slack_client.users_conversations, "missing_argument")
    fails(slack_client.conversations_create, "missing_argument", name="org-wide-ops")
    fails(slack_client.conversations_list, "team_access_not_granted", team_id="T0NOTOURS1")
    assert slack_client.auth_teams_list()["teams"][0]["id"] == team  # where an org token finds the team ids

    names = [c["name"] for page in slack_client.conversations_list(limit=3, team_id=team) for c in page["channels"]]
    assert "alerts-servicenow" in names and len(names) == len(set(names))
    assert any(u["name"] == "amelia.hart" for u in slack_client.users_list(team_id=team)["members"])
    assert slack_client.conversations_create(name="org-wide-ops", team_id=team)["channel"]["name"] == "org-wide-ops"
    assert slack_client.chat_postMessage(channel=CHANNEL, text="posts need no team_id")["ok"]


# --- absent vs empty arguments ----------------------------------------------------------------------------------
def test_conversation_write_without_channel_is_invalid_arguments(slack_client):
    for method in ("conversations.join", "conversations.archive", "conversations.setTopic"):
        response = fails(slack_client.api_call, "invalid_arguments", api_method=method, json={"topic": "t"})
        assert response["response_metadata"]["messages"] == ["[ERROR] missing required field: channel"]
    fails(slack_client.conversations_join, "channel_not_found", channel="")  # sent empty: looked up, not found
    fails(slack_client.conversations_join, "channel_not_found", channel="C0NOSUCH01")


# --- POST bodies --------------------------------------------------------------------------------------------------
def _post(sb, content_type, body, method="chat.postMessage"):  # noqa: F811
    headers = {"Authorization": f"Bearer {sb.bot_token}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return requests.post(f"{sb.url}/api/{method}", headers=headers, data=body, timeout=5)


FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(("content_type", "body", "error"), [
    (FORM, b"channel=%23alerts-servicenow&text=caf\xe9", "invalid_form_data"),  # raw latin-1 byte: was a 500
    ("", b"channel=%23alerts-servicenow&text=x", "missing_post_type"),
    ("application/xml", b"<channel>alerts-servicenow</channel>", "invalid_post_type"),
    ("application/json; charset=koi8-r", b'{"channel":"#alerts-servicenow","text":"x"}', "invalid_charset"),
    (FORM + "; charset=shift_jis", b"channel=%23alerts-servicenow&text=x", "invalid_charset"),
    (FORM, b"channel=%23alerts-servicenow&text=x&attachments[0]=y", "invalid_array_arg"),
])
def test_request_errors(slack_sandbox, content_type, body, error):
    before = _count(slack_sandbox)
    response = _post(slack_sandbox, content_type, body)
    assert (response.status_code, response.json()) == (200, {"ok": False, "error": error})
    assert _count(slack_sandbox) == before


def test_array_argument_in_the_query_is_refused(slack_sandbox):
    got = requests.get(f"{slack_sandbox.url}/api/conversations.list?types[]=public_channel",
                       headers={"Authorization": f"Bearer {slack_sandbox.bot_token}"}, timeout=5)
    assert got.json() == {"ok": False, "error": "invalid_array_arg"}


def test_iso_8859_1_bodies_are_read_as_declared(slack_sandbox):
    form = _post(slack_sandbox, FORM + "; charset=ISO-8859-1", b"channel=%23alerts-servicenow&text=caf%E9 na\xefve")
    assert form.json()["message"]["text"] == "café naïve"
    as_json = _post(slack_sandbox, "application/json; charset=iso-8859-1",
                    b'{"channel": "#alerts-servicenow", "text": "r\xe9sum\xe9"}')
    assert as_json.json()["message"]["text"] == "résumé"
    utf8 = _post(slack_sandbox, FORM + "; charset=utf-8", "channel=%23alerts-servicenow&text=café".encode())
    assert utf8.json()["message"]["text"] == "café" and utf8.json()["warning"] == "superfluous_charset"

