"""ServiceNow serves the requests of one session (its JSESSIONID cookie) one at a time. The sandbox does
the same; the product's client keeps no cookies, so its concurrent page reads and pushes really run
side by side, where a cookie-keeping client is served one request after another."""

from __future__ import annotations

import http.cookiejar
import threading

import requests

from resources.servicenow import ServiceNowResource
from tests.conftest import sandbox_env
from tests.reverse_sync_helpers import run, write_outbound
from tests.test_reverse_sync_servicenow import remediation_rows


def _four_at_once(get) -> None:
    threads = [threading.Thread(target=get) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)


def test_a_client_that_sends_its_session_cookie_back_is_served_one_request_at_a_time(make_servicenow_sandbox):
    sb = make_servicenow_sandbox(size=20, latency_ms=150)
    c = sb.credentials
    kept = requests.Session()  # requests keeps cookies by default, as most vendor SDKs do
    kept.auth = (c["username"], c["password"])
    url = f"{sb.url}/api/now/table/incident?sysparm_limit=1"
    first = kept.get(url, timeout=30)
    assert first.status_code == 200 and "JSESSIONID" in first.headers["Set-Cookie"]
    sb.reset_concurrency_peak()
    _four_at_once(lambda: kept.get(url, timeout=30).raise_for_status())
    assert sb.concurrency_peak == 1, "one session: served one at a time"
    fresh = requests.Session()
    fresh.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    fresh.auth = kept.auth
    sb.reset_concurrency_peak()
    _four_at_once(lambda: fresh.get(url, timeout=30).raise_for_status())
    assert sb.concurrency_peak == 4, "no cookie: a session per request, served side by side"


def test_the_products_client_keeps_no_cookie_so_its_reads_and_pushes_run_side_by_side(
        make_servicenow_sandbox, duckdb_warehouse, monkeypatch):
    sb = make_servicenow_sandbox(size=200, latency_ms=100)
    sandbox_env(monkeypatch, sb)
    client = ServiceNowResource(backoff_base_seconds=0.0).client()
    try:
        pages = list(client.read_concurrently("incident", "", page_size=20, concurrency=4))
        assert sum(len(p) for p in pages) == len(sb.records("incident"))
        assert len(client.session.http.cookies) == 0
    finally:
        client.close()
    assert sb.concurrency_peak == 4
    sb.reset_concurrency_peak()
    write_outbound(duckdb_warehouse, "servicenow", remediation_rows(12))
    assert run("servicenow", run_id="sessions").created == 12
    assert sb.concurrency_peak == 4


def test_request_counts_add_up_when_threads_share_the_session(make_servicenow_sandbox, monkeypatch):
    """Pages, downloads and exports share one session across threads: its counters lose no request."""
    sb = make_servicenow_sandbox(size=50)
    sandbox_env(monkeypatch, sb)
    client = ServiceNowResource(backoff_base_seconds=0.0).client()
    try:
        session = client.session
        before = session.stats["requests"]

        def reads() -> None:
            for _ in range(25):
                session.get_json("api/now/table/incident?sysparm_limit=1")

        threads = [threading.Thread(target=reads) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert session.stats["requests"] - before == 8 * 25
    finally:
        client.close()
