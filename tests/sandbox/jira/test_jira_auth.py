"""Auth: API token (Basic), PAT (Bearer), OAuth 2.0 3LO with rotating refresh tokens, the /ex/jira gateway."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

REDIRECT = "http://localhost:8765/callback"
SCOPES = "read:jira-work write:jira-work read:jira-user offline_access"


def authorize(sb, scope: str = SCOPES) -> str:
    r = requests.get(f"{sb.url}/authorize", allow_redirects=False, params={
        "audience": "api.atlassian.com", "client_id": sb.credentials["client_id"], "scope": scope,
        "redirect_uri": REDIRECT, "state": "s-123", "response_type": "code", "prompt": "consent"})
    assert r.status_code == 302
    location = urlsplit(r.headers["Location"])
    assert location.geturl().startswith(REDIRECT)
    query = parse_qs(location.query)
    assert query["state"] == ["s-123"]
    return query["code"][0]


def token(sb, **body) -> requests.Response:
    return requests.post(f"{sb.url}/oauth/token", json={"client_id": sb.credentials["client_id"],
                                                         "client_secret": sb.credentials["client_secret"], **body})


def login(sb, scope: str = SCOPES) -> dict:
    r = token(sb, grant_type="authorization_code", code=authorize(sb, scope), redirect_uri=REDIRECT)
    assert r.status_code == 200, r.text
    return r.json()


def gateway(sb, path: str) -> str:
    return f"{sb.url}/ex/jira/{sb.credentials['cloud_id']}/rest/api/3{path}"


def bearer(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


def test_basic_and_pat_on_site_url(jira_sandbox):
    sb, c = jira_sandbox, jira_sandbox.credentials
    assert requests.get(f"{sb.url}/rest/api/3/myself", auth=(c["email"], c["api_token"])).status_code == 200
    assert requests.get(f"{sb.url}/rest/api/2/myself", headers=bearer(c["pat"])).status_code == 200
    bad = requests.get(f"{sb.url}/rest/api/3/myself", auth=(c["email"], "wrong"))
    assert bad.status_code == 401 and bad.json()["errorMessages"]
    assert requests.get(f"{sb.url}/rest/api/3/myself").status_code == 401
    assert requests.get(f"{sb.url}/rest/api/2/serverInfo").status_code == 200  # anonymous, like Jira Cloud


def test_oauth_3lo_flow_and_gateway(make_jira_sandbox):
    sb = make_jira_sandbox(size=40)
    tokens = login(sb)
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600 and tokens["refresh_token"]
    resources = requests.get(f"{sb.url}/oauth/token/accessible-resources", headers=bearer(tokens["access_token"]))
    assert resources.json()[0]["id"] == sb.credentials["cloud_id"]
    assert "read:jira-work" in resources.json()[0]["scopes"]
    me = requests.get(gateway(sb, "/myself"), headers=bearer(tokens["access_token"]))
    assert me.status_code == 200 and me.json()["emailAddress"] == sb.credentials["email"]
    found = requests.get(gateway(sb, "/search/jql"), headers=bearer(tokens["access_token"]),
                         params={"jql": "project = SEC", "fields": "summary", "maxResults": 2}).json()
    assert f"/ex/jira/{sb.credentials['cloud_id']}/rest/api/3/issue/" in found["issues"][0]["self"]
    agile = requests.get(f"{sb.url}/ex/jira/{sb.credentials['cloud_id']}/rest/agile/1.0/board",
                         headers=bearer(tokens["access_token"]))
    assert agile.status_code == 200
    # OAuth tokens are not accepted on the site URL; a wrong cloudId is unknown to the gateway.
    assert requests.get(f"{sb.url}/rest/api/3/myself", headers=bearer(tokens["access_token"])).status_code == 401
    wrong = f"{sb.url}/ex/jira/00000000-0000-4000-8000-000000000000/rest/api/3/myself"
    assert requests.get(wrong, headers=bearer(tokens["access_token"])).status_code == 404


def test_refresh_tokens_rotate_and_reuse_revokes_the_family(make_jira_sandbox):
    sb = make_jira_sandbox(size=20)
    first = login(sb)
    second = token(sb, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert second.status_code == 200
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert requests.get(gateway(sb, "/myself"), headers=bearer(second["access_token"])).status_code == 200
    # the old refresh token is spent
    again = token(sb, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert again.status_code == 403
    assert again.json() == {"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."}
    # ... and replaying it revoked the whole family, including the newest tokens
    assert requests.get(gateway(sb, "/myself"), headers=bearer(second["access_token"])).status_code == 401
    assert token(sb, grant_type="refresh_token", refresh_token=second["refresh_token"]).status_code == 403


def test_codes_are_single_use_and_clients_must_authenticate(make_jira_sandbox):
    sb = make_jira_sandbox(size=20)
    code = authorize(sb)
    assert token(sb, grant_type="authorization_code", code=code, redirect_uri=REDIRECT).status_code == 200
    assert token(sb, grant_type="authorization_code", code=code, redirect_uri=REDIRECT).status_code == 403
    r = requests.post(f"{sb.url}/oauth/token", json={"grant_type": "authorization_code", "code": authorize(sb),
                                                     "client_id": sb.credentials["client_id"],
                                                     "client_secret": "nope", "redirect_uri": REDIRECT})
    assert r.status_code == 401
    no_offline = login(sb, scope="read:jira-work")
    assert "refresh_token" not in no_offline


def test_expiry_revocation_and_scopes(make_jira_sandbox):
    sb = make_jira_sandbox(size=20, token_ttl_seconds=1)
    tokens = login(sb)
    assert tokens["expires_in"] == 1
    time.sleep(1.1)
    expired = requests.get(gateway(sb, "/myself"), headers=bearer(tokens["access_token"]))
    assert expired.status_code == 401 and expired.json() == {"code": 401, "message": "Unauthorized"}
    fresh = token(sb, grant_type="refresh_token", refresh_token=tokens["refresh_token"]).json()
    sb.faults.set(token_ttl_seconds=3600)
    fresh = token(sb, grant_type="refresh_token", refresh_token=fresh["refresh_token"]).json()
    assert requests.get(gateway(sb, "/myself"), headers=bearer(fresh["access_token"])).status_code == 200
    sb.faults.set(revoke_tokens=True)
    assert requests.get(gateway(sb, "/myself"), headers=bearer(fresh["access_token"])).status_code == 401
    read_only = login(sb, scope="read:jira-work")
    r = requests.post(gateway(sb, "/issue"), headers=bearer(read_only["access_token"]),
                      json={"fields": {"project": {"key": "SEC"}, "issuetype": {"name": "Task"}, "summary": "x"}})
    assert r.status_code == 401 and r.json()["message"] == "Unauthorized; scope does not match"


@pytest.mark.parametrize("body_kind", ["json", "form"])
def test_token_endpoint_accepts_json_and_form(make_jira_sandbox, body_kind):
    sb = make_jira_sandbox(size=10)
    payload = {"grant_type": "authorization_code", "code": authorize(sb), "redirect_uri": REDIRECT,
               "client_id": sb.credentials["client_id"], "client_secret": sb.credentials["client_secret"]}
    r = requests.post(f"{sb.url}/oauth/token", **({"json": payload} if body_kind == "json" else {"data": payload}))
    assert r.status_code == 200 and r.json()["access_token"]
