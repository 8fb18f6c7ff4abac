"""The OAuth v2 install flow, token rotation, auth.revoke and apps.uninstall, driven with slack_sdk 3.48
(`AuthorizeUrlGenerator`, `WebClient.oauth_v2_access` / `oauth_v2_exchange` / `apps_uninstall`), as against
slack.com. Before round 9 the emulator had no /oauth/v2/authorize, no oauth.v2.access and only its one
preinstalled bot token."""

from __future__ import annotations

import http.client
import json
import re
import urllib.request
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from slack_sdk import WebClient
from slack_sdk.oauth import AuthorizeUrlGenerator
from slack_sdk.webhook import WebhookClient

from tests.sandbox.slack.test_client_probe_round3 import fails
from tests.sandbox.slack.test_client_probe_round6 import _headers
from tests.sandbox.slack.test_events_api import _subscribe, app  # noqa: F401  (the Events app fixture)

REDIRECT = "http://127.0.0.1:3000/slack/oauth_redirect"


def _get(url: str) -> tuple[int, dict[str, str], str]:
    """GET without following redirects: (status, headers, body)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    conn.request("GET", parts.path + "?" + parts.query)
    resp = conn.getresponse()
    out = resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read().decode()
    conn.close()
    return out


def _authorize(sb, scopes=("chat:write", "channels:read"), user_scopes=(), user="amelia.hart", state="s-1",
               redirect_uri=REDIRECT, extra=""):
    gen = AuthorizeUrlGenerator(client_id=sb.oauth.client_id, scopes=list(scopes), user_scopes=list(user_scopes),
                                redirect_uri=redirect_uri, authorization_url=sb.url + "/oauth/v2/authorize")
    return _get(gen.generate(state) + (f"&_sandbox_user={user}" if user else "") + extra)


def _code(sb, **kw) -> str:
    status, headers, _ = _authorize(sb, **kw)
    assert status == 302, status
    location = urlsplit(headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == kw.get("redirect_uri", REDIRECT)
    query = parse_qs(location.query)
    assert query["state"] == [kw.get("state", "s-1")]
    return query["code"][0]


@pytest.fixture
def sb(slack_sandbox):
    slack_sandbox.configure_oauth(redirect_urls=["http://127.0.0.1:3000/slack/"])
    return slack_sandbox


@pytest.fixture
def oauth_client(sb):
    return WebClient(base_url=sb.url + "/api/")


def _exchange(sb, client, code, redirect_uri=REDIRECT):
    return client.oauth_v2_access(client_id=sb.oauth.client_id, client_secret=sb.oauth.client_secret, code=code,
                                  redirect_uri=redirect_uri)


def test_install_issues_tokens_with_exactly_the_granted_scopes(sb, oauth_client):
    code = _code(sb, scopes=("chat:write", "channels:read"), user_scopes=("search:read", "channels:history"))
    body = _exchange(sb, oauth_client, code).data
    ws = sb.workspace
    amelia = next(u["id"] for u in ws.users.values() if u["name"] == "amelia.hart")
    assert body["ok"] and body["token_type"] == "bot" and body["access_token"].startswith("xoxb-")
    assert (body["scope"], body["bot_user_id"], body["app_id"]) == ("chat:write,channels:read", ws.bot_user_id,
                                                                    ws.app_id)
    assert body["team"] == {"id": ws.team_id, "name": ws.team} and body["enterprise"] is None
    assert body["is_enterprise_install"] is False and "refresh_token" not in body
    user = body["authed_user"]
    assert (user["id"], user["scope"], user["token_type"]) == (amelia, "search:read,channels:history", "user")
    assert user["access_token"].startswith("xoxp-")

    bot = WebClient(token=body["access_token"], base_url=sb.url + "/api/")
    assert bot.auth_test()["user_id"] == ws.bot_user_id
    posted = bot.chat_postMessage(channel="#general", text="installed")
    assert posted["ok"] and _headers(posted)["x-oauth-scopes"] == "chat:write,channels:read"
    assert bot.conversations_list()["ok"]
    err = fails(bot.users_list, "missing_scope")
    assert err["needed"] == "users:read" and err["provided"] == "chat:write,channels:read"
    fails(bot.conversations_history, "missing_scope", channel=ws.channel("general")["id"])

    person = WebClient(token=user["access_token"], base_url=sb.url + "/api/")
    me = person.auth_test()
    assert me["user_id"] == amelia and me["user"] == "amelia.hart" and "bot_id" not in me
    assert person.conversations_history(channel=ws.channel("general")["id"])["ok"]
    fails(person.chat_postMessage, "missing_scope", channel="#general", text="no chat:write granted")
    # the preinstalled bot token keeps its own (full) grant
    assert WebClient(token=sb.bot_token, base_url=sb.url + "/api/").users_list()["ok"]


def test_a_code_is_exchanged_once_with_the_app_credentials(sb, oauth_client):
    code = _code(sb)
    fails(lambda: oauth_client.oauth_v2_access(client_id="1.2", client_secret=sb.oauth.client_secret, code=code,
                                               redirect_uri=REDIRECT), "invalid_client_id")
    fails(lambda: oauth_client.oauth_v2_access(client_id=sb.oauth.client_id, client_secret="nope", code=code,
                                               redirect_uri=REDIRECT), "bad_client_secret")
    fails(lambda: _exchange(sb, oauth_client, code, "http://127.0.0.1:3000/slack/other"), "bad_redirect_uri")
    assert _exchange(sb, oauth_client, code)["ok"]  # the failures above did not use it up
    fails(lambda: _exchange(sb, oauth_client, code), "invalid_code")
    fails(lambda: _exchange(sb, oauth_client, "123.456.deadbeef"), "invalid_code")
    late = _code(sb)
    sb.advance_clock(601)  # a code is good for 10 minutes
    fails(lambda: _exchange(sb, oauth_client, late), "invalid_code")


def test_the_consent_page_and_its_errors(sb):
    status, headers, page = _authorize(sb, user=None)
    assert status == 200 and "<form" in page and "Allow" in page and "chat:write" in page
    status, headers, _ = _authorize(sb, user=None, extra="&_sandbox_deny=1", state="s-9")
    assert status == 302 and parse_qs(urlsplit(headers["location"]).query) == {"error": ["access_denied"],
                                                                               "state": ["s-9"]}
    status, headers, page = _authorize(sb, redirect_uri="http://evil.example/slack/oauth_redirect")
    assert status == 400 and "location" not in headers and "redirect_uri did not match" in page
    status, _, page = _authorize(sb, redirect_uri="http://127.0.0.1:3000/elsewhere")
    assert status == 400 and "redirect_uri did not match" in page
    status, _, page = _get(f"{sb.url}/oauth/v2/authorize?client_id=999.999&scope=chat:write&_sandbox_user=amelia.hart")
    assert status == 400 and "Invalid client_id" in page
    status, _, page = _authorize(sb, scopes=("chat:write", "no:such_scope"))
    assert status == 400 and "no:such_scope" in page
    # without redirect_uri the app's first Redirect URL gets the code
    status, headers, _ = _authorize(sb, redirect_uri=None)
    assert status == 302 and headers["location"].startswith("http://127.0.0.1:3000/slack/?code=")


def test_token_rotation_refreshes_and_expires(sb, oauth_client):
    sb.configure_oauth(token_rotation=True)
    body = _exchange(sb, oauth_client, _code(sb, user_scopes=("search:read",))).data
    assert body["access_token"].startswith("xoxe.xoxb-1-") and body["refresh_token"].startswith("xoxe-1-")
    assert body["expires_in"] == 43200
    user = body["authed_user"]
    assert user["access_token"].startswith("xoxe.xoxp-1-") and user["refresh_token"].startswith("xoxe-1-")
    assert user["expires_in"] == 43200

    creds = {"client_id": sb.oauth.client_id, "client_secret": sb.oauth.client_secret}
    fresh = oauth_client.oauth_v2_access(**creds, grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert fresh["token_type"] == "bot" and fresh["access_token"] != body["access_token"]
    assert fresh["access_token"].startswith("xoxe.xoxb-1-") and fresh["expires_in"] == 43200
    assert fresh["refresh_token"] != body["refresh_token"] and fresh["bot_user_id"] == sb.workspace.bot_user_id
    fails(oauth_client.oauth_v2_access, "invalid_refresh_token", **creds, grant_type="refresh_token",
          refresh_token=body["refresh_token"])
    fresh_user = oauth_client.oauth_v2_access(**creds, grant_type="refresh_token",
                                              refresh_token=user["refresh_token"])
    assert fresh_user["token_type"] == "user" and fresh_user["access_token"].startswith("xoxe.xoxp-1-")

    old = WebClient(token=body["access_token"], base_url=sb.url + "/api/")
    new = WebClient(token=fresh["access_token"], base_url=sb.url + "/api/")
    assert old.auth_test()["ok"] and new.auth_test()["ok"]
    sb.advance_clock(43201)
    fails(old.auth_test, "token_expired")
    fails(new.chat_postMessage, "token_expired", channel="#general", text="late")


def test_exchange_turns_a_long_lived_token_into_a_rotating_pair(sb, oauth_client):
    token = _exchange(sb, oauth_client, _code(sb))["access_token"]
    pair = oauth_client.oauth_v2_exchange(token=token, client_id=sb.oauth.client_id,
                                          client_secret=sb.oauth.client_secret)
    assert pair["access_token"].startswith("xoxe.xoxb-1-") and pair["refresh_token"].startswith("xoxe-1-")
    assert pair["expires_in"] == 43200 and pair["scope"] == "chat:write,channels:read"
    fails(oauth_client.oauth_v2_exchange, "bad_client_secret", token=token, client_id=sb.oauth.client_id,
          client_secret="x")


def test_auth_revoke_revokes_the_calling_token_only(sb, oauth_client):
    first = _exchange(sb, oauth_client, _code(sb))["access_token"]
    second = _exchange(sb, oauth_client, _code(sb))["access_token"]
    one, two = (WebClient(token=t, base_url=sb.url + "/api/") for t in (first, second))
    assert one.auth_revoke(test=True)["revoked"] is False and one.auth_test()["ok"]
    assert one.auth_revoke()["revoked"] is True
    fails(one.auth_test, "token_revoked")
    assert two.auth_test()["ok"]
    assert WebClient(token=sb.bot_token, base_url=sb.url + "/api/").auth_test()["ok"]
    fails(WebClient(token="xoxb-1-2-nope", base_url=sb.url + "/api/").auth_test, "invalid_auth")


def test_apps_uninstall_revokes_every_token_and_tells_the_app(sb, oauth_client, app):  # noqa: F811
    _subscribe(sb, app, "tokens_revoked", "app_uninstalled")
    body = _exchange(sb, oauth_client, _code(sb, user_scopes=("search:read",))).data
    fails(oauth_client.apps_uninstall, "bad_client_secret", client_id=sb.oauth.client_id, client_secret="x")
    assert oauth_client.apps_uninstall(client_id=sb.oauth.client_id, client_secret=sb.oauth.client_secret)["ok"]
    for token in (body["access_token"], body["authed_user"]["access_token"], sb.bot_token):
        fails(WebClient(token=token, base_url=sb.url + "/api/").auth_test, "token_revoked")
    assert sb.wait_for_events(5)
    events = {d["event_type"]: d["envelope"]["event"] for d in sb.event_deliveries()
              if d["attempt"] == 0 and d["event_type"] != "url_verification"}
    assert events["tokens_revoked"]["tokens"] == {"oauth": [body["authed_user"]["id"]],
                                                  "bot": [sb.workspace.bot_user_id]}
    assert events["app_uninstalled"]["type"] == "app_uninstalled"


def test_app_level_tokens_only_open_connections(sb):
    token = sb.new_app_token()
    assert token.startswith("xapp-1-" + sb.workspace.app_id)
    client = WebClient(token=token, base_url=sb.url + "/api/")
    fails(client.chat_postMessage, "not_allowed_token_type", channel="#general", text="x")
    bot = WebClient(token=sb.bot_token, base_url=sb.url + "/api/")
    fails(bot.apps_connections_open, "not_allowed_token_type", app_token=sb.bot_token)
    # (apps.connections.open with the app token: tests/sandbox/slack/test_socket_mode.py)


def _post_form(url: str, fields: dict) -> tuple[int, dict[str, str]]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    conn.request("POST", parts.path, body=urlencode(fields),
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}


def test_the_consent_form_approves_as_the_chosen_person(sb, oauth_client):
    _, _, page = _authorize(sb, user=None, state="form-1")
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))
    assert fields["client_id"] == sb.oauth.client_id and fields["state"] == "form-1"
    chen = next(u["id"] for u in sb.workspace.users.values() if u["name"] == "chen.wei")
    assert f'<option value="{chen}">' in page
    status, headers = _post_form(sb.url + "/oauth/v2/authorize", {**fields, "user": chen, "decision": "allow"})
    assert status == 302
    code = parse_qs(urlsplit(headers["location"]).query)["code"][0]
    assert _exchange(sb, oauth_client, code)["authed_user"]["id"] == chen
    status, headers = _post_form(sb.url + "/oauth/v2/authorize", {**fields, "user": chen, "decision": "deny"})
    assert status == 302 and "error=access_denied" in headers["location"]


def test_oauth_settings_over_http(slack_sandbox):
    base = slack_sandbox.url + "/_sandbox/"
    put = urllib.request.Request(base + "oauth", method="PUT", data=json.dumps(
        {"redirect_urls": ["http://127.0.0.1:9/cb"], "token_rotation": True}).encode())
    with urllib.request.urlopen(put) as resp:
        settings = json.load(resp)
    assert settings["redirect_urls"] == ["http://127.0.0.1:9/cb"] and settings["token_rotation"] is True
    assert settings["client_id"] == slack_sandbox.oauth.client_id
    with urllib.request.urlopen(urllib.request.Request(base + "app_tokens", method="POST")) as resp:
        token = json.load(resp)["token"]
    assert token.startswith("xapp-1-")
    with urllib.request.urlopen(urllib.request.Request(base + "socket_mode", method="PUT",
                                                       data=b'{"enabled": true}')) as resp:
        assert json.load(resp) == {"enabled": True, "connections": 0}
    assert slack_sandbox.socket_mode.enabled


def test_incoming_webhook_scope_gives_a_webhook_for_the_chosen_channel(sb, oauth_client):
    code = _code(sb, scopes=("incoming-webhook", "chat:write"), extra="&_sandbox_channel=alerts-jira")
    hook = _exchange(sb, oauth_client, code)["incoming_webhook"]
    channel = sb.workspace.channel("alerts-jira")
    assert (hook["channel"], hook["channel_id"]) == ("#alerts-jira", channel["id"])
    assert hook["configuration_url"].startswith(f"https://{sb.workspace.domain}.slack.com/services/B")
    assert WebhookClient(hook["url"]).send(text="via the installed webhook").body == "ok"
    assert [m["text"] for m in sb.messages("alerts-jira")] == ["via the installed webhook"]
    _, _, page = _authorize(sb, scopes=("incoming-webhook",), user=None)
    assert f'<option value="{channel["id"]}">#alerts-jira</option>' in page


def test_slack_sdk_token_rotator_rotates_an_installation(sb, oauth_client):
    from slack_sdk.oauth.installation_store import Installation
    from slack_sdk.oauth.token_rotation import TokenRotator

    sb.configure_oauth(token_rotation=True)
    body = _exchange(sb, oauth_client, _code(sb, user_scopes=("search:read",))).data
    user = body["authed_user"]
    installation = Installation(
        app_id=body["app_id"], team_id=body["team"]["id"], user_id=user["id"], bot_token=body["access_token"],
        bot_refresh_token=body["refresh_token"], bot_token_expires_in=body["expires_in"],
        bot_user_id=body["bot_user_id"], bot_scopes=body["scope"], user_token=user["access_token"],
        user_refresh_token=user["refresh_token"], user_token_expires_in=user["expires_in"], user_scopes=user["scope"])
    rotator = TokenRotator(client_id=sb.oauth.client_id, client_secret=sb.oauth.client_secret, client=oauth_client)
    assert rotator.perform_token_rotation(installation=installation, minutes_before_expiration=60) is None  # fresh
    rotated = rotator.perform_token_rotation(installation=installation, minutes_before_expiration=12 * 60 + 1)
    assert rotated.bot_token != body["access_token"] and rotated.user_token != user["access_token"]
    assert rotated.bot_refresh_token != body["refresh_token"]
    assert WebClient(token=rotated.bot_token, base_url=sb.url + "/api/").auth_test()["ok"]
    assert WebClient(token=rotated.user_token, base_url=sb.url + "/api/").auth_test()["user_id"] == user["id"]


def test_a_user_token_posts_as_the_person(sb, oauth_client, app):  # noqa: F811
    _subscribe(sb, app, "message.channels")
    code = _code(sb, scopes=("channels:read",), user_scopes=("chat:write", "channels:history"), user="chen.wei")
    user = _exchange(sb, oauth_client, code)["authed_user"]
    person = WebClient(token=user["access_token"], base_url=sb.url + "/api/")
    posted = person.chat_postMessage(channel="#general", text="from Chen's own account")
    message = posted["message"]
    assert message["user"] == user["id"] and message["text"] == "from Chen's own account"
    assert not {"bot_id", "app_id", "bot_profile"} & set(message)
    [kept] = [m for m in sb.messages("general") if m["ts"] == posted["ts"]]
    assert kept["message"]["user"] == user["id"] and "bot_id" not in kept["message"]
    assert sb.wait_for_events(5)
    [event] = [r["payload"]["event"] for r in app.received if r["payload"]["type"] == "event_callback"]
    assert event["user"] == user["id"] and "bot_id" not in event and event["ts"] == posted["ts"]
    fails(person.chat_postMessage, "is_archived", channel="#legacy-alerts", text="archived")
    fails(person.chat_postMessage, "channel_not_found", channel="#no-such-channel", text="nowhere")
    bot = WebClient(token=sb.bot_token, base_url=sb.url + "/api/")
    jira = sb.workspace.channel("alerts-jira")["id"]
    bot.conversations_kick(channel=jira, user=user["id"])
    fails(person.chat_postMessage, "not_in_channel", channel=jira, text="no longer a member")
    assert "bot_id" in bot.chat_postMessage(channel="#general", text="the bot still posts as itself")["message"]
