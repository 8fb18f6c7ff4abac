"""Round 22: a create that got no answer (the read timed out, the connection dropped) or a 504 from a gateway may
still be carried out by the vendor after our look-up for it came back empty: the vendor keeps working on a request
its client gave up on. Sending it again in the same push made a second record once both finished. Now such a
create is not sent again in the run: it is dead-lettered, and the next push adopts the record if the first send
made it, else creates it. Against the ServiceNow sandbox over HTTP: its slow fault sleeps before carrying a write
out, longer than the client's read timeout."""

from __future__ import annotations

import time

import pytest
import requests

from assets.reverse_sync.servicenow import remediation_table
from pipelines.common.http import RetryPolicy
from resources.servicenow import ServiceNowResource
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import run, write_outbound
from tests.test_reverse_sync_servicenow import remediation_rows

servicenow = attacks.servicenow  # the sandbox fixture
_dead = attacks._dead
SLOW, READ_TIMEOUT = 1.0, 0.3


def _records_settled(sb, expected_posts: int) -> dict[str, int]:
    """Records per correlation id once the sandbox has carried out every POST it was sent (bounded wait)."""
    deadline = time.monotonic() + 10
    while True:
        posts = [r for r in sb.request_log if r["method"] == "POST" and remediation_table() in r["path"]]
        out: dict[str, int] = {}
        for r in sb.records(remediation_table()):
            if r.get("correlation_display") == "Project X":
                out[r["correlation_id"]] = out.get(r["correlation_id"], 0) + 1
        if sum(out.values()) >= len(posts) >= expected_posts or time.monotonic() > deadline:
            return out
        time.sleep(0.1)


@pytest.fixture
def short_reads(monkeypatch):
    """The push's ServiceNow client gives up reading an answer after READ_TIMEOUT (no backoff: a fast test)."""
    policy = RetryPolicy(backoff_base_seconds=0.0, read_timeout_seconds=READ_TIMEOUT)
    monkeypatch.setattr(ServiceNowResource, "_policy", lambda self: policy)


def test_a_create_whose_answer_timed_out_is_never_sent_twice_in_the_run(servicenow, duckdb_warehouse, short_reads):
    rows = remediation_rows(1)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    servicenow.faults.set(delay_seconds=SLOW, methods=["POST"], paths=[remediation_table()])
    first = run("servicenow", circuit_breakers=False)
    assert (first.created, first.dead_lettered) == (0, 1), (first.failures, _records_settled(servicenow, 1))
    [reason] = _dead(duckdb_warehouse, "servicenow").values()
    assert "outcome unknown" in reason and "not sent again" in reason, reason
    assert _records_settled(servicenow, 1) == {"rem-sn-00000": 1}, "one send, one record: never a second"
    servicenow.faults.clear()
    second = run("servicenow", circuit_breakers=False)
    assert (second.adopted, second.created, second.dead_lettered) == (1, 0, 0), second.failures
    assert _records_settled(servicenow, 1) == {"rem-sn-00000": 1}
    assert run("servicenow").writes == 0


def test_a_create_answered_504_by_a_gateway_is_looked_up_next_push_not_resent(
    servicenow, duckdb_warehouse, short_reads, monkeypatch
):
    """A 504 (the gateway gave up waiting; the instance may still be working) is no answer either. A 503 is the
    instance's own refusal: looked up, and sent again in the run when absent (unchanged). The next push holds
    the records while the instance may still be working (round 22, sn_settle), so it runs once that has passed."""
    rows = remediation_rows(2)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    servicenow.faults.set(rate_5xx=1.0, status_5xx=504, methods=["POST"], paths=[remediation_table()])
    first = run("servicenow", circuit_breakers=False)
    posts = [r for r in servicenow.request_log if r["method"] == "POST" and remediation_table() in r["path"]]
    assert (first.created, first.dead_lettered, len(posts)) == (0, 2, 2), first.failures
    servicenow.faults.clear()
    monkeypatch.setenv("PROJECTX_SERVICENOW_CREATE_SETTLE_SECONDS", "0")  # the settle window has passed
    second = run("servicenow", circuit_breakers=False)
    assert (second.created, second.dead_lettered) == (2, 0), second.failures
    assert _records_settled(servicenow, 2) == {"rem-sn-00000": 1, "rem-sn-00001": 1}


def test_a_create_refused_503_is_still_sent_again_in_the_run(servicenow, duckdb_warehouse, short_reads, monkeypatch):
    """The first POST is answered 503 by a gateway and never reaches the instance: a 503 is an answer (the write
    was not carried out), so the create is sent again in the run, and exactly one record is made."""


    real_send, seen = requests.Session.send, []

    def send(self, prepared, **kw):
        if prepared.method == "POST" and remediation_table() in prepared.url:
            seen.append(prepared.url)
            if len(seen) == 1:
                refused = requests.Response()
                refused.status_code, refused.url, refused.request = 503, prepared.url, prepared
                refused._content = b'{"error": {"message": "Service Unavailable"}}'
                return refused
        return real_send(self, prepared, **kw)

    rows = remediation_rows(1)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    monkeypatch.setattr(requests.Session, "send", send)
    report = run("servicenow", circuit_breakers=False)
    monkeypatch.setattr(requests.Session, "send", real_send)
    posts = [r for r in servicenow.request_log if r["method"] == "POST" and remediation_table() in r["path"]]
    assert (report.created, report.dead_lettered) == (1, 0), report.failures
    assert len(seen) == 2 and len(posts) == 1, (seen, posts)
    assert _records_settled(servicenow, 1) == {"rem-sn-00000": 1}
