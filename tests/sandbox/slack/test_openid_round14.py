"""Sign in with Slack (OpenID Connect) driven with slack_sdk unchanged: `OpenIDConnectAuthorizeUrlGenerator`,
`WebClient.openid_connect_token` / `openid_connect_userInfo`, the id_token checked with PyJWT against the
published keys. Before round 14 /openid/connect/authorize was a 404 and both methods unknown_method."""

from __future__ import annotations

from functools import partial
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from slack_sdk import WebClient
from slack_sdk.oauth import OpenIDConnectAuthorizeUrlGenerator

from tests.sandbox.slack.test_client_probe_round3 import _human, fails
from tests.sandbox.slack.test_oauth_install import REDIRECT, _get


@pytest.fixture
def sb(slack_sandbox):
    slack_sandbox.configure_oauth(redirect_urls=["http://127.0.0.1:3000/slack/"])
    return slack_sandbox


def _url(sb, scopes=("openid", "email", "profile"), nonce="n-1") -> str:
    gen = OpenIDConnectAuthorizeUrlGenerator(client_id=sb.oauth.client_id, redirect_uri=REDIRECT, scopes=list(scopes),
                                             authorization_url=sb.url + "/openid/connect/authorize")
    return gen.generate(state="s-9", nonce=nonce)


def _code(sb, **kw) -> str:
    status, headers, _ = _get(_url(sb, **kw) + "&_sandbox_user=amelia.hart")
    assert status == 302
    query = parse_qs(urlsplit(headers["location"]).query)
    assert query["state"] == ["s-9"]
    return query["code"][0]


def test_sign_in_with_slack(sb):
    web = WebClient(base_url=sb.url + "/api/")
    status, _, page = _get(_url(sb))
    assert status == 200 and 'action="/openid/connect/authorize"' in page  # the consent page
    code = _code(sb)
    answer = web.openid_connect_token(client_id=sb.oauth.client_id, client_secret=sb.oauth.client_secret, code=code,
                                      redirect_uri=REDIRECT)
    assert answer["token_type"] == "Bearer" and answer["access_token"].startswith("xoxp-")
    fails(partial(web.openid_connect_token, code=code), "invalid_code", client_id=sb.oauth.client_id,
          client_secret=sb.oauth.client_secret, redirect_uri=REDIRECT)
    keys = jwt.PyJWKClient(sb.url + "/openid/connect/keys")
    signing = keys.get_signing_key_from_jwt(answer["id_token"])
    claims = jwt.decode(answer["id_token"], signing.key, algorithms=["RS256"], audience=sb.oauth.client_id,
                        issuer="https://slack.com")
    amelia = _human(sb)
    assert claims["sub"] == amelia and claims["nonce"] == "n-1" and claims["email"] == "amelia.hart@projectx.example"
    assert claims["https://slack.com/team_id"] == sb.workspace.team_id and claims["name"] == "Amelia Hart"
    info = WebClient(token=answer["access_token"], base_url=sb.url + "/api/").openid_connect_userInfo()
    assert info["sub"] == amelia and info["https://slack.com/user_id"] == amelia and info["email_verified"] is True
    assert info["given_name"] == "Amelia" and info["https://slack.com/team_domain"] == sb.workspace.domain
    fails(WebClient(token=sb.bot_token, base_url=sb.url + "/api/").openid_connect_userInfo, "not_allowed_token_type")


def test_sign_in_errors(sb):
    web = WebClient(base_url=sb.url + "/api/")
    assert _get(_url(sb, scopes=("email",)))[0] == 400  # openid is required
    assert _get(_url(sb, scopes=("openid", "chat:write")))[0] == 400
    assert _get(_url(sb).replace("response_type=code", "response_type=token"))[0] == 400
    status, headers, _ = _get(_url(sb) + "&_sandbox_deny=1")
    assert status == 302 and parse_qs(urlsplit(headers["location"]).query)["error"] == ["access_denied"]
    code = _code(sb, scopes=("openid",), nonce=None)
    exchange = partial(web.openid_connect_token, code=code)  # `fails` has its own `code` parameter
    fails(exchange, "bad_client_secret", client_id=sb.oauth.client_id, client_secret="nope", redirect_uri=REDIRECT)
    fails(exchange, "bad_redirect_uri", client_id=sb.oauth.client_id, client_secret=sb.oauth.client_secret,
          redirect_uri="http://127.0.0.1:3000/slack/other")
    token = web.openid_connect_token(client_id=sb.oauth.client_id, client_secret=sb.oauth.client_secret, code=code,
                                     redirect_uri=REDIRECT)
    claims = jwt.decode(token["id_token"], options={"verify_signature": False})
    assert "nonce" not in claims and "email" not in claims and "name" not in claims  # openid only
    info = WebClient(token=token["access_token"], base_url=sb.url + "/api/").openid_connect_userInfo()
    assert set(info.data) == {"ok", "sub", "https://slack.com/user_id", "https://slack.com/team_id"}


def test_sign_in_with_token_rotation(sb):
    sb.configure_oauth(token_rotation=True)
    web = WebClient(base_url=sb.url + "/api/")
    creds = {"client_id": sb.oauth.client_id, "client_secret": sb.oauth.client_secret}
    first = web.openid_connect_token(**creds, code=_code(sb), redirect_uri=REDIRECT)
    assert first["access_token"].startswith("xoxe.xoxp-1-") and first["refresh_token"].startswith("xoxe-1-")
    assert first["expires_in"] == 43_200 and first["id_token"]
    again = web.openid_connect_token(**creds, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert again["token_type"] == "Bearer" and again["access_token"] != first["access_token"]
    assert "id_token" not in again.data
    info = WebClient(token=again["access_token"], base_url=sb.url + "/api/").openid_connect_userInfo()
    assert info["sub"] == _human(sb)
