"""Round 22: a ServiceNow create that timed out is dead-lettered, not sent again in the run (the instance may
still be carrying it out). The next push looks the record up by correlation_id first (a consistent Table API
read) and adopts it when it landed. But a push started while the instance is still working on that create found
nothing and made a second record. Now such a record is held (``deferred: ...``) for
``PROJECTX_SERVICENOW_CREATE_SETTLE_SECONDS`` after a create that got no answer or a 504; a create the instance
itself answered (503, 4xx) holds nothing. Against the ServiceNow sandbox over HTTP (its slow fault sleeps before
carrying a write out, longer than the client's read timeout)."""

from __future__ import annotations

import time

import pytest

from assets.reverse_sync.servicenow import remediation_table
from pipelines.common.http import RetryPolicy
from resources.servicenow import ServiceNowResource
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import run, write_outbound
from tests.test_reverse_sync_servicenow import remediation_rows

servicenow = attacks.servicenow  # the sandbox fixture
_dead, _sn_by_task = attacks._dead, attacks._sn_by_task
SLOW, READ_TIMEOUT = 6.0, 0.3


@pytest.fixture
def short_reads(monkeypatch):
    policy = RetryPolicy(backoff_base_seconds=0.0, read_timeout_seconds=READ_TIMEOUT)
    monkeypatch.setattr(ServiceNowResource, "_policy", lambda self: policy)


def _until(check, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.05)
    return check()


def test_a_push_right_after_a_timed_out_create_holds_it_then_adopts_it(servicenow, duckdb_warehouse, short_reads):
    write_outbound(duckdb_warehouse, "servicenow", remediation_rows(1))
    servicenow.faults.set(delay_seconds=SLOW, methods=["POST"], paths=[remediation_table()])
    first = run("servicenow", circuit_breakers=False)
    assert (first.created, first.dead_lettered) == (0, 1), first.failures
    servicenow.faults.clear()
    rerun = run("servicenow", circuit_breakers=False)  # the instance is still working on the first create
    assert (rerun.created, rerun.adopted, rerun.dead_lettered) == (0, 0, 1), (rerun.failures, _sn_by_task(servicenow))
    [reason] = _dead(duckdb_warehouse, "servicenow").values()
    assert reason.startswith("deferred:") and "got no answer" in reason, reason
    assert _until(lambda: _sn_by_task(servicenow) == {"rem-sn-00000": 1}), "the first create landed"
    later = run("servicenow", circuit_breakers=False)  # the consistent look-up by correlation_id finds it
    assert (later.created, later.adopted, later.dead_lettered) == (0, 1, 0), later.failures
    assert _sn_by_task(servicenow) == {"rem-sn-00000": 1}, "one record: never a second"
    assert run("servicenow").writes == 0


def test_after_the_settle_window_a_create_that_never_landed_is_made_once(servicenow, duckdb_warehouse, short_reads,
                                                                         monkeypatch):
    """A 504 from a gateway that never passed the create on: held within the window, created after it."""
    write_outbound(duckdb_warehouse, "servicenow", remediation_rows(1))
    servicenow.faults.set(rate_5xx=1.0, status_5xx=504, methods=["POST"], paths=[remediation_table()])
    assert run("servicenow", circuit_breakers=False).dead_lettered == 1
    servicenow.faults.clear()
    held = run("servicenow", circuit_breakers=False)
    assert (held.created, held.dead_lettered) == (0, 1), held.failures
    monkeypatch.setenv("PROJECTX_SERVICENOW_CREATE_SETTLE_SECONDS", "0")  # that much time has passed
    later = run("servicenow", circuit_breakers=False)
    assert (later.created, later.dead_lettered) == (1, 0), later.failures
    assert _sn_by_task(servicenow) == {"rem-sn-00000": 1}


def test_a_create_the_instance_refused_with_503_is_not_held(servicenow, duckdb_warehouse, short_reads):
    """A 503 is the instance's own answer (it made nothing): the next push creates at once."""
    write_outbound(duckdb_warehouse, "servicenow", remediation_rows(1))
    servicenow.faults.set(rate_5xx=1.0, status_5xx=503, methods=["POST"], paths=[remediation_table()])
    assert run("servicenow", circuit_breakers=False).dead_lettered == 1
    servicenow.faults.clear()
    later = run("servicenow", circuit_breakers=False)
    assert (later.created, later.dead_lettered) == (1, 0), later.failures


@pytest.mark.parametrize("value", ["-1", "1.5", "soon"])
def test_a_bad_settle_setting_stops_the_push_naming_it(servicenow, duckdb_warehouse, monkeypatch, value):
    write_outbound(duckdb_warehouse, "servicenow", remediation_rows(1))
    monkeypatch.setenv("PROJECTX_SERVICENOW_CREATE_SETTLE_SECONDS", value)
    with pytest.raises(ValueError, match=r"PROJECTX_SERVICENOW_CREATE_SETTLE_SECONDS=.*default \(300\)"):
        run("servicenow")
    assert servicenow.records(remediation_table()) == [] or _sn_by_task(servicenow) == {}
