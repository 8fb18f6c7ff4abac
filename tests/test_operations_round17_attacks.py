"""Round 17 attacks on ``/metrics``: a Dagster storage that answered the health read and then hangs on the
sync-event reads (accepts queries, never answers). The scrape fed the new sync events into the counters
inline, so it waited as long as the storage hung, and every concurrent scrape queued behind it, filling the
server's thread pool (shared with the webhook receiver). Now one update runs at a time in the background;
a scrape waits for it at most ``HEALTH_READ_TIMEOUT_SECONDS`` from its start, then is answered with the
counters as they stand and ``integration_health_input_up{input="dagster_events"} 0``; the events are fed
exactly once when the storage answers."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import duckdb
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.testclient import TestClient

import webhooks.operations.metrics as metrics_module
from assets.health.inputs import tracked_tables
from resources.environment import ENVIRONMENTS
from tests.ops_helpers import record_sync, synced_local_instance
from webhooks.operations import operations_routes
from webhooks.operations.state import HealthReader

LOCAL = ENVIRONMENTS["local"]
TIMEOUT = 0.5
BOUND = TIMEOUT + 1.5  # the bound plus a margin for a loaded 2-core machine


@pytest.fixture
def instance(duckdb_warehouse, monkeypatch):
    duckdb.connect(duckdb_warehouse.duckdb_path).close()  # a warehouse file, empty: nothing degraded
    with synced_local_instance(monkeypatch, HEALTH_READ_TIMEOUT_SECONDS=str(TIMEOUT)) as inst:
        yield inst


class Gate:
    """Wraps a Dagster read: while ``hang`` is set each call blocks until ``release`` (as a storage that
    accepts the query and never answers); ``fail`` makes it raise instead."""

    def __init__(self, fn):
        self.fn, self.calls, self.fail = fn, 0, False
        self.hang, self.release = threading.Event(), threading.Event()

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.fail:
            raise RuntimeError("the event log storage is gone")
        if self.hang.is_set():
            self.release.wait(20)
        return self.fn(*args, **kwargs)


def _scrape(client: TestClient, bound: float = BOUND) -> str:
    started = time.monotonic()
    response = client.get("/metrics")
    elapsed = time.monotonic() - started
    assert response.status_code == 200 and elapsed < bound, (response.status_code, elapsed)
    return response.text


def _families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}  # parses: the body is valid


def _input_up(text: str) -> dict[str, float]:
    return {s.labels["input"]: s.value for s in _families(text)["integration_health_input_up"].samples}


def _synced(text: str) -> dict[tuple[str, str], float]:
    family = _families(text).get("integration_rows_synced")
    return {} if family is None else {(s.labels["connector"], s.labels["table"]): s.value for s in family.samples
                                      if s.name == "integration_rows_synced_total"}


def _wait_until_current(client: TestClient) -> str:
    deadline = time.monotonic() + 10
    while True:
        text = _scrape(client)
        if _input_up(text)["dagster_events"] == 1:
            return text
        assert time.monotonic() < deadline, _input_up(text)
        time.sleep(0.05)


def _client(instance, duckdb_warehouse) -> TestClient:
    reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL)
    return TestClient(Starlette(routes=operations_routes(reader)), raise_server_exceptions=False)


@pytest.mark.parametrize("where", ["latest", "fetch"])
def test_a_hung_event_read_holds_no_scrape_and_each_event_is_counted_once(instance, duckdb_warehouse, monkeypatch,
                                                                          caplog, where):
    if where == "latest":  # the one query for every table's latest materialization
        gate = Gate(metrics_module.latest_materializations)
        monkeypatch.setattr(metrics_module, "latest_materializations", gate)
    else:  # the per-table read of the new materializations, after the latest ones answered
        gate = Gate(instance.fetch_materializations)
        monkeypatch.setattr(instance, "fetch_materializations", gate)
    caplog.set_level(logging.WARNING, logger="webhooks.operations.metrics")
    with _client(instance, duckdb_warehouse) as client:
        fresh = _wait_until_current(client)  # a loaded machine may take longer than the bound for the first read
        assert _input_up(fresh) == {"dagster": 1, "warehouse": 1, "inbox": 1, "flags": 1, "vault": 1,
                                    "dagster_events": 1}, _input_up(fresh)
        before = _synced(fresh)
        tables = [(c, t) for c, ts in tracked_tables(LOCAL).items() for t in ts]
        assert before and all(before[k] == 40 for k in tables if k in before), before
        calls = gate.calls

        record_sync(instance, LOCAL, "jira", datetime.now(UTC), rows=7)
        gate.hang.set()
        try:
            started = time.monotonic()
            hung = _scrape(client, bound=TIMEOUT + 1.0)
            assert time.monotonic() - started >= TIMEOUT * 0.9  # it did wait for the update, up to the bound
            up = _input_up(hung)
            assert up["dagster_events"] == 0 and up["dagster"] == 1, up
            assert 'integration_status{connector="jira"} 0.0' in hung  # the gauges are all there
            assert "sync_lag_seconds" in hung
            assert _synced(hung) == before  # the counters as they stand: nothing half-fed

            record_sync(instance, LOCAL, "jira", datetime.now(UTC), rows=5)  # another sync while it hangs
            started = time.monotonic()
            with ThreadPoolExecutor(20) as pool:
                answers = list(pool.map(lambda _: _scrape(client), range(20)))
            assert time.monotonic() - started < BOUND + 1.0
            assert all(_input_up(a)["dagster_events"] == 0 for a in answers)
            # one update started while hung, shared by all 21 scrapes (a second would have called the read too)
            assert gate.calls == calls + 1, (gate.calls, calls)
            stuck = [r for r in caplog.records if "has not answered" in r.getMessage()]
            assert len(stuck) == 1, [r.getMessage() for r in stuck]  # once per stuck update
            assert "dagster.yaml" in stuck[0].getMessage() and "HEALTH_READ_TIMEOUT_SECONDS" in stuck[0].getMessage()
        finally:
            gate.hang.clear()
            gate.release.set()

        after = _synced(_wait_until_current(client))
        jira = set(tracked_tables(LOCAL)["jira"])
        expected = {k: v + (12 if k[0] == "jira" and k[1] in jira else 0) for k, v in before.items()}
        assert after == expected, (before, after)
        again = _wait_until_current(client)  # a further update finds nothing new: nothing counted twice
        assert _synced(again) == expected


def test_a_failing_event_read_does_not_break_the_scrape(instance, duckdb_warehouse, monkeypatch):
    gate = Gate(metrics_module.latest_materializations)
    monkeypatch.setattr(metrics_module, "latest_materializations", gate)
    with _client(instance, duckdb_warehouse) as client:
        before = _synced(_wait_until_current(client))  # the first read may take longer than the bound under load
        assert before, "no sync counters after the first update"
        record_sync(instance, LOCAL, "onetrust", datetime.now(UTC), rows=3)
        gate.fail = True
        failed = _scrape(client)
        up = _input_up(failed)
        assert up["dagster_events"] == 0 and up["dagster"] == 1, up
        assert 'integration_status{connector="onetrust"} 0.0' in failed and _synced(failed) == before
        assert "the event log storage is gone" not in failed and "Traceback" not in failed
        gate.fail = False
        after = _synced(_wait_until_current(client))
        onetrust = set(tracked_tables(LOCAL)["onetrust"])
        assert after == {k: v + (3 if k[0] == "onetrust" and k[1] in onetrust else 0) for k, v in before.items()}


def test_the_events_are_not_waited_on_when_the_health_read_found_dagster_down(instance, duckdb_warehouse,
                                                                              monkeypatch):
    """The snapshot names the Dagster instance as unreadable: no event update is started for that scrape."""
    from webhooks.operations.state import Unreadable

    gate = Gate(metrics_module.latest_materializations)
    monkeypatch.setattr(metrics_module, "latest_materializations", gate)
    monkeypatch.setattr(HealthReader, "_syncs", lambda self: Unreadable("the Dagster instance cannot be read"))
    with _client(instance, duckdb_warehouse) as client:
        up = _input_up(_scrape(client))
    assert up["dagster"] == 0 and up["dagster_events"] == 0 and gate.calls == 0, (up, gate.calls)


def test_one_bounded_call_stops_waiting_at_the_callers_deadline_and_is_not_restarted():
    from webhooks.operations.bounded import OneBoundedCall, Overdue

    release = threading.Event()
    calls = []
    call = OneBoundedCall(lambda: calls.append(1) or release.wait(10) or "late", "test-call")
    started = time.monotonic()
    with pytest.raises(Overdue):  # the bound is 5 s from the call's start, the caller's deadline 0.3 s from now
        call.result(5.0, deadline=started + 0.3)
    assert 0.25 <= time.monotonic() - started < 2.0
    with pytest.raises(Overdue):  # a deadline already past: no wait at all, and the call in flight is shared
        call.result(5.0, deadline=time.monotonic() - 1)
    assert call.calls == 1
    release.set()
    assert call.result(5.0) is True and len(calls) == 1  # release.wait returned True: the one call's result


def test_a_scrape_waits_one_bound_in_all_for_a_slow_snapshot_and_hung_events(instance, duckdb_warehouse,
                                                                            monkeypatch):
    gate = Gate(metrics_module.latest_materializations)
    monkeypatch.setattr(metrics_module, "latest_materializations", gate)
    monkeypatch.setenv("HEALTH_READ_TIMEOUT_SECONDS", "2")
    with _client(instance, duckdb_warehouse) as client:
        _scrape(client)
        slow = HealthReader.snapshot

        def snapshot(self, *args, **kwargs):
            time.sleep(1.5)  # the health read answers, slowly: 1.5 of the scrape's 2 s
            return slow(self, *args, **kwargs)

        monkeypatch.setattr(HealthReader, "snapshot", snapshot)
        gate.hang.set()
        try:
            started = time.monotonic()
            text = _scrape(client, bound=10)
            elapsed = time.monotonic() - started
            # one bound in all (2 s), not the snapshot's 1.5 s plus a further 2 s for the events
            assert 1.4 <= elapsed < 3.3, elapsed
            assert _input_up(text)["dagster_events"] == 0 and _input_up(text)["dagster"] == 1
        finally:
            gate.hang.clear()
            gate.release.set()
