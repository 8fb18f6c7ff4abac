"""OneTrust token endpoint and bearer 401s, round 15 (raw `requests`). Fixed here: a JSON token request
(which the form-reading endpoint cannot read) was 400 "Missing grant type"; Spring Security OAuth2,
whose claims and messages OneTrust's tokens carry, answers an unauthenticated client 401 `unauthorized`
[unc]. 401 challenges now name the realm, and an expired token's description names the token."""

from __future__ import annotations

import pytest
import requests

from sandbox.onetrust.app import TOKEN_PATH


@pytest.fixture
def sb(make_onetrust_sandbox):
    return make_onetrust_sandbox(size=5)


def _cred(sb) -> dict[str, str]:
    return {"grant_type": "client_credentials", "client_id": sb.client_id, "client_secret": sb.client_secret}


def test_a_json_token_request_is_401_unauthorized_not_a_grant_type_error(sb):
    r = requests.post(sb.url + TOKEN_PATH, json=_cred(sb), timeout=10)
    assert r.status_code == 401
    assert r.json() == {"error": "unauthorized",
                        "error_description": "Full authentication is required to access this resource"}
    assert r.headers["WWW-Authenticate"].startswith('Basic realm="oauth2/client", error="unauthorized"')
    empty = requests.post(sb.url + TOKEN_PATH, timeout=10)
    assert empty.status_code == 401 and empty.json()["error"] == "unauthorized"


def test_form_errors_keep_their_codes_and_name_the_form_realm(sb):
    url = sb.url + TOKEN_PATH
    missing = requests.post(url, data={"client_id": sb.client_id, "client_secret": sb.client_secret}, timeout=10)
    assert missing.status_code == 400 and missing.json()["error_description"] == "Missing grant type"
    bad = requests.post(url, data={**_cred(sb), "client_secret": "wrong"}, timeout=10)
    assert bad.status_code == 401 and bad.json() == {"error": "invalid_client",
                                                     "error_description": "Bad client credentials"}
    assert bad.headers["WWW-Authenticate"].startswith('Form realm="oauth", error="invalid_client"')
    ok = requests.post(url, files={k: (None, v) for k, v in _cred(sb).items()}, timeout=10)
    assert ok.status_code == 200 and ok.json()["expires_in"] == 31535999


def test_resource_401s_name_the_realm_and_an_expired_token(sb):
    anonymous = requests.get(sb.url + "/api/assessment/v2/assessments", timeout=10)
    assert anonymous.headers["WWW-Authenticate"].startswith('Bearer realm="oauth", error="unauthorized"')
    token = requests.post(sb.url + TOKEN_PATH, data=_cred(sb), timeout=10).json()["access_token"]
    sb.faults.set(expire_tokens=True)
    try:
        expired = requests.get(sb.url + "/api/assessment/v2/assessments", timeout=10,
                               headers={"Authorization": f"Bearer {token}"})
    finally:
        sb.faults.replace()
    assert expired.status_code == 401
    assert expired.json() == {"error": "invalid_token", "error_description": f"Access token expired: {token}"}
    assert expired.headers["WWW-Authenticate"].startswith('Bearer realm="oauth", error="invalid_token"')
