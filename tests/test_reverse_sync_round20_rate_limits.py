"""Round 20: a vendor that rate-limits a push for good. Each record may wait out many 429s, so a run has its
own bounds (PROJECTX_PUSH_RATE_LIMIT_SECONDS of 429 waits, PROJECTX_PUSH_RATE_LIMITED_RECORDS records in a
row ended by 429): past either, the records not yet sent are deferred to the next push (dead letters saying
so and naming the setting), never dropped. Retry-After in its HTTP-date form, negative or not a number is
read as the RFC says (over real HTTP)."""

from __future__ import annotations

import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipelines.common.http import RetryPolicy, VendorSession
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import attestation_rows, run, write_outbound, writes
from tests.test_reverse_sync_round19_hostile import _ot_ours

onetrust = attacks.onetrust  # the sandbox fixture
_dead = attacks._dead


def _attestation_posts(sb) -> list[dict]:
    return [w for w in writes(sb) if w["path"].endswith("/attestations")]


def test_a_run_stops_waiting_once_its_429_budget_is_spent_and_defers_the_rest(onetrust, duckdb_warehouse,
                                                                              monkeypatch):
    monkeypatch.setenv("PROJECTX_PUSH_RATE_LIMIT_SECONDS", "4")
    write_outbound(duckdb_warehouse, "onetrust", attestation_rows(10))
    onetrust.faults.set(rate_429=1.0, retry_after=1, methods=["POST"], paths=[r"/attestations$"])
    started = time.monotonic()
    report = run("onetrust", circuit_breakers=False, concurrency=1)
    assert time.monotonic() - started < 30, "the run's 429 waits are bounded, not ~100 s a record"
    assert (report.created, report.dead_lettered, report.deferred_rate_limited) == (0, 1, 9), report.failures
    dead = _dead(duckdb_warehouse, "onetrust")
    assert len(dead) == 10, "nothing dropped: every record waits for the next push"
    deferred = [e for e in dead.values() if e.startswith("deferred")]
    assert len(deferred) == 9 and all("PROJECTX_PUSH_RATE_LIMIT_SECONDS" in e for e in deferred), deferred
    (spent,) = [e for e in dead.values() if not e.startswith("deferred")]
    assert "429" in spent and "PROJECTX_PUSH_RATE_LIMIT_SECONDS" in spent, spent
    assert len(_attestation_posts(onetrust)) <= 6, "no record sent after the budget was spent"
    onetrust.faults.clear()
    healed = run("onetrust")
    assert (healed.created, healed.dead_lettered, healed.deferred_rate_limited) == (10, 0, 0), healed.failures
    assert _dead(duckdb_warehouse, "onetrust") == {}
    assert {k: len(v) for k, v in _ot_ours(onetrust).items()} == {f"att-{i:04d}": 1 for i in range(10)}


def test_records_rate_limited_in_a_row_defer_the_rest_of_the_run(onetrust, duckdb_warehouse, monkeypatch):
    from pipelines.common import http

    monkeypatch.setattr(http.AdaptiveThrottle, "on_throttled", lambda self: None)  # fast: the count is the bound
    monkeypatch.setenv("PROJECTX_PUSH_RATE_LIMITED_RECORDS", "2")
    write_outbound(duckdb_warehouse, "onetrust", attestation_rows(6))
    onetrust.faults.set(rate_429=1.0, retry_after=0, methods=["POST"], paths=[r"/attestations$"])
    report = run("onetrust", circuit_breakers=False, concurrency=1)
    assert (report.dead_lettered, report.deferred_rate_limited) == (2, 4), report.failures
    deferred = [e for e in _dead(duckdb_warehouse, "onetrust").values() if e.startswith("deferred")]
    assert len(deferred) == 4 and all("PROJECTX_PUSH_RATE_LIMITED_RECORDS" in e for e in deferred), deferred
    assert len(_attestation_posts(onetrust)) <= 2 * 21, "two records' retries, then nothing sent"
    onetrust.faults.clear()
    assert run("onetrust").created == 6 and _dead(duckdb_warehouse, "onetrust") == {}


@pytest.mark.parametrize("name,value", [("PROJECTX_PUSH_RATE_LIMIT_SECONDS", "soon"),
                                        ("PROJECTX_PUSH_RATE_LIMITED_RECORDS", "0")])
def test_a_bad_rate_limit_setting_fails_before_any_vendor_call(onetrust, duckdb_warehouse, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    write_outbound(duckdb_warehouse, "onetrust", attestation_rows(2))
    with pytest.raises(ValueError, match=name):
        run("onetrust")
    assert writes(onetrust) == []


# --- Retry-After as a vendor may send it, over real HTTP ----------------------------------------------------

class _Throttling(BaseHTTPRequestHandler):
    retry_after: str = "1"
    calls = 0

    def do_GET(self):
        type(self).calls += 1
        if type(self).calls == 1:
            self.send_response(429)
            self.send_header("Retry-After", type(self).retry_after)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("header,low,high", [
    ("in 3 s as an HTTP-date", 1.5, 3.5),
    ("an HTTP-date in the past", 0.0, 0.0),
    ("-5", 1.0, 1.0),  # not a delay-seconds value: the default wait
    ("nan", 1.0, 1.0),
    ("86400", 120.0, 120.0),  # capped by the policy's max_retry_after_seconds
])
def test_retry_after_forms_over_http(header, low, high):
    value = {"in 3 s as an HTTP-date": formatdate(time.time() + 3, usegmt=True),
             "an HTTP-date in the past": formatdate(time.time() - 3600, usegmt=True)}.get(header, header)
    handler = type("H", (_Throttling,), {"retry_after": value, "calls": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    slept: list[float] = []
    try:
        session = VendorSession("vendor", f"http://127.0.0.1:{server.server_address[1]}/", sleep=slept.append,
                                policy=RetryPolicy(max_attempts=2))
        assert session.get_json("/thing") == {"ok": True}
    finally:
        server.shutdown()
        server.server_close()
    assert len(slept) == 1 and low <= slept[0] <= high, slept  # the one 429's wait
