"""OAuth grants, token expiry/refresh/revocation and Basic auth."""

from __future__ import annotations

import time

import pytest
import requests

CLIENT = {"client_id": "sandbox-client", "client_secret": "sandbox-secret"}


def _token(sb, **form):
    return requests.post(f"{sb.url}/oauth_token.do", data=form)


def _incidents(sb, token):
    return requests.get(f"{sb.url}/api/now/table/incident", params={"sysparm_limit": 1},
                        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})


def test_client_credentials_and_password_grants(servicenow_sandbox):
    sb = servicenow_sandbox
    cc = _token(sb, grant_type="client_credentials", **CLIENT)
    assert cc.status_code == 200
    body = cc.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 1800
    assert _incidents(sb, body["access_token"]).status_code == 200
    pw = _token(sb, grant_type="password", username="integration.user", password="sandbox-password", **CLIENT)
    assert pw.status_code == 200 and _incidents(sb, pw.json()["access_token"]).status_code == 200


def test_client_credentials_in_basic_header(servicenow_sandbox):
    r = requests.post(f"{servicenow_sandbox.url}/oauth_token.do", auth=("sandbox-client", "sandbox-secret"),
                      data={"grant_type": "password", "username": "integration.user", "password": "sandbox-password"})
    assert r.status_code == 200 and r.json()["access_token"]


@pytest.mark.parametrize("form", [
    {"grant_type": "client_credentials", "client_id": "sandbox-client", "client_secret": "wrong"},
    {"grant_type": "password", "username": "integration.user", "password": "wrong", **CLIENT},
    {"grant_type": "refresh_token", "refresh_token": "nope", **CLIENT},
])
def test_bad_grants_are_401_json(servicenow_sandbox, form):
    r = _token(servicenow_sandbox, **form)
    assert r.status_code == 401
    assert r.json() == {"error_description": "access_denied", "error": "server_error"}


def test_token_expiry_and_refresh(make_servicenow_sandbox):
    sb = make_servicenow_sandbox(size=10, token_ttl_seconds=1)
    issued = _token(sb, grant_type="password", username="integration.user", password="sandbox-password",
                    **CLIENT).json()
    assert issued["expires_in"] == 1
    assert _incidents(sb, issued["access_token"]).status_code == 200
    time.sleep(1.1)
    expired = _incidents(sb, issued["access_token"])
    assert expired.status_code == 401 and "error" in expired.json()
    refreshed = _token(sb, grant_type="refresh_token", refresh_token=issued["refresh_token"], **CLIENT)
    assert refreshed.status_code == 200
    assert _incidents(sb, refreshed.json()["access_token"]).status_code == 200


def test_ttl_changes_at_run_time(make_servicenow_sandbox):
    sb = make_servicenow_sandbox(size=10)
    sb.token_ttl_seconds = 60
    assert _token(sb, grant_type="client_credentials", **CLIENT).json()["expires_in"] == 60
    sb.faults.set(token_ttl_seconds=5)
    assert _token(sb, grant_type="client_credentials", **CLIENT).json()["expires_in"] == 5


def test_basic_auth_and_missing_auth(servicenow_sandbox):
    url = f"{servicenow_sandbox.url}/api/now/table/sys_user_group"
    assert requests.get(url, auth=("integration.user", "sandbox-password")).status_code == 200
    for auth in (None, ("integration.user", "bad")):
        r = requests.get(url, auth=auth)
        assert r.status_code == 401
        assert r.json()["error"]["message"] == "User Not Authenticated"
    garbage = requests.get(url, headers={"Authorization": "Bearer not-a-token"})
    assert garbage.status_code == 401 and "error" in garbage.json()
