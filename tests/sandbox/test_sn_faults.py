"""Each fault switched on and off at run time, seen through plain `requests`."""

from __future__ import annotations

import threading
import time

import requests

AUTH = ("integration.user", "sandbox-password")


def _get(sb, path="/api/now/table/incident", **params):
    return requests.get(f"{sb.url}{path}", params={"sysparm_limit": 5, **params}, auth=AUTH)


def test_429_with_retry_after_on_and_off(make_servicenow_sandbox):
    sb = make_servicenow_sandbox(size=20)
    sb.faults.set(rate_429=1.0, retry_after=7)
    r = _get(sb)
    assert r.status_code == 429 and r.headers["Retry-After"] == "7"
    assert r.json()["error"]["message"] == "Rate limit exceeded"
    sb.faults.clear()
    assert _get(sb).status_code == 200


def test_5xx_rate_and_status(make_servicenow_sandbox):
    sb = make_servicenow_sandbox(size=20)
    sb.faults.set(rate_5xx=1.0, status_5xx=500)
    r = _get(sb)
    assert r.status_code == 500 and r.json()["status"] == "failure"
    sb.faults.set(rate_5xx=0.5)
    statuses = [_get(sb).status_code for _ in range(40)]
    assert 5 < statuses.count(500) < 35 and 200 in statuses
    sb.faults.set(rate_5xx=0)
    assert _get(sb).status_code == 200


def test_faults_are_deterministic_for_a_seed(make_servicenow_sandbox):
    runs = []
    for _ in range(2):
        sb = make_servicenow_sandbox(size=10, seed=5)
        sb.faults.set(rate_5xx=0.3, rate_429=0.2)
        runs.append([_get(sb).status_code for _ in range(30)])
    assert runs[0] == runs[1] and len(set(runs[0])) == 3


def test_slow_responses(make_servicenow_sandbox):
    sb = make_servicenow_sandbox(size=10)
    sb.faults.set(delay_seconds=0.4)
    started = time.monotonic()
    assert _get(sb).status_code == 200
    assert time.monotonic() - started >= 0.4
    try:
        requests.get(f"{sb.url}/api/now/table/incident", auth=AUTH, timeout=0.1)
        raise AssertionError("expected a client timeout")
    except requests.exceptions.ReadTimeout:
        pass
    sb.faults.clear()
    started = time.monotonic()
    _get(sb)
    assert time.monotonic() - started < 0.3


def test_auth_faults_401_403(make_servicenow_sandbox):
    sb = make_servicenow_sandbox(size=10)
    sb.faults.set(rate_401=1.0)
    r = _get(sb)
    assert r.status_code == 401 and "error" in r.json()
    token = requests.post(f"{sb.url}/oauth_token.do", data={"grant_type": "client_credentials",
                                                           "client_id": "sandbox-client",
                                                           "client_secret": "sandbox-secret"})
    assert token.status_code == 200, "the token endpoint is exempt from 401/403 faults"
    sb.faults.set(rate_401=0, rate_403=1.0)
    assert _get(sb).status_code == 403
    sb.faults.clear()
    assert _get(sb).status_code == 200


def test_token_revocation_and_expiry(make_servicenow_sandbox):
    sb = make_servicenow_sandbox(size=10)
    form = {"grant_type": "client_credentials", "client_id": "sandbox-client", "client_secret": "sandbox-secret"}

    def call(tok):
        return requests.get(f"{sb.url}/api/now/table/incident", headers={"Authorization": f"Bearer {tok}"})

    tok = requests.post(f"{sb.url}/oauth_token.do", data=form).json()["access_token"]
    assert call(tok).status_code == 200
    sb.faults.set(revoke_tokens=True)
    assert call(tok).status_code == 401
    tok = requests.post(f"{sb.url}/oauth_token.do", data=form).json()["access_token"]
    assert call(tok).status_code == 200
    requests.patch(f"{sb.url}/_sandbox/faults", json={"expire_tokens": True})
    assert call(tok).status_code == 401


def test_malformed_records(make_servicenow_sandbox):
    sb = make_servicenow_sandbox(size=60)
    sb.faults.set(rate_malformed=0.5)
    rows = _get(sb, sysparm_limit=60).json()["result"]
    bad = [r for r in rows if "sys_id" not in r or r["sys_updated_on"] == "not-a-date"
           or r["sys_created_on"].startswith("2026-02-30") or r["sys_mod_count"] == "many"]
    assert 10 < len(bad) < 50
    assert any("sys_id" not in r for r in bad) and any(r.get("sys_updated_on") == "not-a-date" for r in bad)
    again = _get(sb, sysparm_limit=60).json()["result"]
    assert again == rows, "the same records stay malformed"
    sb.faults.clear()
    clean = _get(sb, sysparm_limit=60).json()["result"]
    assert all("sys_id" in r and r["sys_updated_on"][:2] == "20" for r in clean)


def test_records_change_while_paging(make_servicenow_sandbox):
    sb = make_servicenow_sandbox(size=40)
    q = {"sysparm_query": "ORDERBYsys_updated_on^ORDERBYsys_id", "sysparm_limit": 10}
    total_before = max(r["sys_updated_on"] for r in sb.records("incident"))
    sb.faults.set(touch_per_page=3)
    _get(sb, **q)
    _get(sb, **q, sysparm_offset=10)
    moved = [r for r in sb.records("incident") if r["sys_updated_on"] > total_before]
    assert len(moved) == 6
    sb.faults.set(touch_per_page=0, delete_per_page=2)
    _get(sb, **q)
    assert len(sb.records("incident")) == 38 and len(sb.deleted) == 2
    sb.faults.clear()
    _get(sb, **q)
    assert len(sb.records("incident")) == 38


def test_admin_http_api(make_servicenow_sandbox):
    sb = make_servicenow_sandbox(size=10)
    admin = f"{sb.url}/_sandbox/faults"
    assert requests.put(admin, json={"rate_429": 1}).json()["rate_429"] == 1.0
    assert _get(sb).status_code == 429
    assert requests.get(admin).json()["rate_429"] == 1.0
    assert requests.put(admin, json={"rate_5xx": 0}).json()["rate_429"] == 0.0  # PUT replaces
    assert _get(sb).status_code == 200
    assert requests.put(admin, json={"no_such_fault": 1}).status_code == 400
    sb.insert("incident", {"short_description": "will vanish"})
    sb.faults.set(rate_5xx=1)
    assert requests.post(f"{sb.url}/_sandbox/reset").status_code == 200
    assert len(sb.records("incident")) == 10 and _get(sb).status_code == 200
    log = requests.get(f"{sb.url}/_sandbox/requests").json()["requests"]
    assert log[-1]["path"] == "/api/now/table/incident" and log[-1]["status"] == 200


def test_latency_and_concurrency_cap(make_servicenow_sandbox):
    sb = make_servicenow_sandbox(size=10, latency_ms=300, max_concurrent_per_client=2)
    statuses: list[int] = []

    def hit():
        statuses.append(_get(sb).status_code)

    threads = [threading.Thread(target=hit) for _ in range(5)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.monotonic() - started >= 0.3
    assert statuses.count(200) >= 2 and statuses.count(429) >= 1
    sb.max_concurrent_per_client = None
    sb.latency_ms = 0
    assert _get(sb).status_code == 200


def test_faults_scoped_by_method_and_path(make_servicenow_sandbox):
    sb = make_servicenow_sandbox(size=10)
    sb.faults.set(rate_5xx=1.0, methods=["POST"])
    assert _get(sb).status_code == 200
    url = f"{sb.url}/api/now/table/incident"
    assert requests.post(url, json={"short_description": "x"}, auth=AUTH).status_code == 503
    sb.faults.replace(rate_429=1.0, paths=[r"/attachment"])
    assert _get(sb).status_code == 200
    assert _get(sb, "/api/now/attachment").status_code == 429
    assert requests.patch(f"{sb.url}/_sandbox/faults", json={"paths": ["("]}).status_code == 400


def test_client_credentials_grant_can_be_disabled(make_servicenow_sandbox):
    sb = make_servicenow_sandbox(size=10, client_credentials_enabled=False)
    form = {"grant_type": "client_credentials", "client_id": "sandbox-client", "client_secret": "sandbox-secret"}
    assert requests.post(f"{sb.url}/oauth_token.do", data=form).status_code == 401
    sb.client_credentials_enabled = True
    assert requests.post(f"{sb.url}/oauth_token.do", data=form).status_code == 200


def test_method_scoped_faults_spare_the_token_endpoint(make_servicenow_sandbox):
    sb = make_servicenow_sandbox(size=10)
    form = {"grant_type": "client_credentials", "client_id": "sandbox-client", "client_secret": "sandbox-secret"}
    sb.faults.set(rate_5xx=1.0, methods=["POST"])
    assert requests.post(f"{sb.url}/oauth_token.do", data=form).status_code == 200
    sb.faults.replace(rate_5xx=1.0, paths=["oauth_token"])
    assert requests.post(f"{sb.url}/oauth_token.do", data=form).status_code == 503


def test_a_client_that_hangs_up_mid_request_leaves_no_traceback(make_servicenow_sandbox, capfd):
    """A killed sync drops its connections while the vendor is still answering: the emulator's log stays
    clean (it did print socketserver's traceback for every such request), and it keeps serving."""
    import socket
    import struct
    from urllib.parse import urlsplit

    sb = make_servicenow_sandbox(size=20, latency_ms=300, tls=False)
    url = urlsplit(sb.url)
    for _ in range(5):
        s = socket.create_connection((url.hostname, url.port))
        s.sendall(b"GET /api/now/table/incident?sysparm_limit=5 HTTP/1.1\r\nHost: x\r\n"
                  b"Authorization: Basic aW50ZWdyYXRpb24udXNlcjpzYW5kYm94LXBhc3N3b3Jk\r\n\r\n")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # hang up with a reset
        s.close()
    time.sleep(1.0)  # the answers are written after the latency, to closed sockets
    assert _get(sb).status_code == 200
    assert "Traceback" not in capfd.readouterr().err
