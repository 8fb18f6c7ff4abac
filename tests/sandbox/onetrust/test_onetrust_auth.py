"""OneTrust sandbox: client-credentials token flow, expiry, scopes, region and error shapes."""

from __future__ import annotations

import base64
import json
import time

import pytest
import requests

from sandbox.onetrust import OneTrustSandbox
from sandbox.onetrust.fixtures import onetrust_token

ASSESSMENTS = "/api/assessment/v2/assessments"


def _get(sb: OneTrustSandbox, token: str | None, path: str = ASSESSMENTS) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(sb.url + path, headers=headers, timeout=10)


def test_token_multipart_and_urlencoded(onetrust_sandbox):
    sb, c = onetrust_sandbox, onetrust_sandbox.credentials
    assert c["token_url"] == sb.url + "/api/access/v1/oauth/token"
    multipart = requests.post(c["token_url"], timeout=10, files={
        "grant_type": (None, "client_credentials"), "client_id": (None, c["client_id"]),
        "client_secret": (None, c["client_secret"])})
    assert multipart.status_code == 200
    body = multipart.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 31535999 and body["scope"] == "read"
    assert "RISK" in body["ot-scopes"].split(",") and body["role"] == "Api Key User"
    assert body["email"].endswith("@api.onetrust.com") and "refresh_token" not in body
    claims = json.loads(base64.urlsafe_b64decode(body["access_token"].split(".")[1] + "=="))
    assert claims["iss"] == "https://app.onetrust.com"
    assert _get(sb, body["access_token"]).status_code == 200
    assert _get(sb, onetrust_token(sb)).status_code == 200  # urlencoded form


def test_token_errors(onetrust_sandbox):
    url = onetrust_sandbox.credentials["token_url"]
    bad = requests.post(url, data={"grant_type": "client_credentials", "client_id": onetrust_sandbox.client_id,
                                   "client_secret": "wrong"}, timeout=10)
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    grant = requests.post(url, data={"grant_type": "password"}, timeout=10)
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"


def test_missing_and_bogus_tokens_get_401(onetrust_sandbox):
    missing = _get(onetrust_sandbox, None)
    assert missing.status_code == 401 and missing.json()["error"] == "unauthorized"
    bogus = _get(onetrust_sandbox, "not-a-token")
    assert bogus.status_code == 401 and bogus.json()["error"] == "invalid_token"
    assert "invalid_token" in bogus.headers["WWW-Authenticate"]


def test_token_expires_and_new_client_credentials_run_works(make_onetrust_sandbox):
    sb = make_onetrust_sandbox(token_ttl_seconds=1)
    token = onetrust_token(sb)
    assert _get(sb, token).status_code == 200
    time.sleep(1.1)
    expired = _get(sb, token)
    assert expired.status_code == 401 and "expired" in expired.json()["error_description"]
    assert _get(sb, onetrust_token(sb)).status_code == 200


def test_expire_tokens_fault_switches_at_run_time(onetrust_sandbox):
    token = onetrust_token(onetrust_sandbox)
    onetrust_sandbox.faults.set(expire_tokens=True)
    assert _get(onetrust_sandbox, token).status_code == 401
    onetrust_sandbox.faults.set(token_ttl_seconds=60)
    fresh = onetrust_token(onetrust_sandbox)
    assert _get(onetrust_sandbox, fresh).status_code == 200


def test_missing_scope_is_403_for_the_module(onetrust_sandbox):
    onetrust_sandbox.add_client("readonly", "s3cret", {"ASSESSMENT_READ"})
    token = onetrust_token(onetrust_sandbox, "readonly", "s3cret")
    assert _get(onetrust_sandbox, token).status_code == 200
    risks = requests.post(onetrust_sandbox.url + "/api/risk/v2/risks/pages", json={}, timeout=10,
                          headers={"Authorization": f"Bearer {token}"})
    assert risks.status_code == 403 and risks.json()["error"] == "Forbidden"


def test_region_sets_advertised_host_and_tokens_do_not_transfer(make_onetrust_sandbox):
    eu = make_onetrust_sandbox(region="eu")
    us = make_onetrust_sandbox(region="us")
    assert eu.region == "eu" and eu.hostname == "app-eu.onetrust.com"
    assert eu.advertised_url == "https://app-eu.onetrust.com" and eu.credentials["hostname"] == eu.hostname
    assert eu.url.startswith("http://127.0.0.1:")
    token = onetrust_token(eu)
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["iss"] == "https://app-eu.onetrust.com"
    assert _get(eu, token).status_code == 200
    assert _get(us, token).status_code == 401
    assert make_onetrust_sandbox(region="apac").hostname == "app-apac.onetrust.com"
    with pytest.raises(ValueError):
        OneTrustSandbox(region="mars")


def test_error_body_shapes(make_onetrust_sandbox):
    spring = make_onetrust_sandbox()
    token = onetrust_token(spring)
    resp = _get(spring, token, ASSESSMENTS + "/00000000-0000-4000-8000-000000000000/export")
    assert resp.status_code == 404
    assert set(resp.json()) == {"timestamp", "status", "error", "message", "path"}
    assert resp.json()["status"] == 404 and resp.json()["path"].endswith("/export")
    bad_sort = requests.get(spring.url + ASSESSMENTS, params={"sort": "bogus,desc"}, timeout=10,
                            headers={"Authorization": f"Bearer {token}"})
    assert bad_sort.status_code == 400 and bad_sort.json()["error"] == "Bad Request"
    text = make_onetrust_sandbox(error_style="text")
    resp = _get(text, onetrust_token(text), ASSESSMENTS + "/nope/export")
    assert resp.status_code == 404 and resp.headers["Content-Type"].startswith("text/plain")


def test_429_fault_shape_switches_on_and_off(onetrust_sandbox):
    token = onetrust_token(onetrust_sandbox)
    onetrust_sandbox.faults.set(rate_429=1.0, retry_after=7)
    limited = _get(onetrust_sandbox, token)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    assert limited.headers["ot-period"] == "MINUTE" and limited.headers["ot-ratelimit-event-id"]
    assert int(limited.headers["ot-request-made"]) > int(limited.headers["ot-requests-allowed"])
    assert limited.json()["status"] == 429
    onetrust_sandbox.faults.clear()
    assert _get(onetrust_sandbox, token).status_code == 200


def test_fixed_window_rate_limit(make_onetrust_sandbox):
    sb = make_onetrust_sandbox(rate_limit_per_minute=3)
    token = onetrust_token(sb)  # request 1
    assert [_get(sb, token).status_code for _ in range(3)] == [200, 200, 429]
    sb.rate_limit_per_minute = None
    assert _get(sb, token).status_code == 200


def test_5xx_fault_and_tls(make_onetrust_sandbox):
    sb = make_onetrust_sandbox(tls=True)
    token = onetrust_token(sb)
    ok = requests.get(sb.url + ASSESSMENTS, headers={"Authorization": f"Bearer {token}"}, verify=sb.ca_bundle,
                      timeout=10)
    assert sb.url.startswith("https://") and ok.status_code == 200
    sb.faults.set(rate_5xx=1.0, status_5xx=502)
    assert requests.get(sb.url + ASSESSMENTS, headers={"Authorization": f"Bearer {token}"}, verify=sb.ca_bundle,
                        timeout=10).status_code == 502
