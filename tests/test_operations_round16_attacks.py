"""Round 16 attacks on the operations side of the long-running service (the Integration Health page, its
JSON and ``/metrics``): an input that hangs instead of failing. A PostgreSQL warehouse whose health
table is locked by a migration or a long transaction, or a Dagster storage that accepts queries and
never answers, held every page request (and every scrape) for as long as it hung, and each concurrent
request started a read of its own. Now a request waits at most ``HEALTH_READ_TIMEOUT_SECONDS`` for the
one read in flight (requests arriving meanwhile share it), then answers 200 *degraded*, naming the
input that has not answered and showing the figures last read."""

from __future__ import annotations

import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import duckdb
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.testclient import TestClient

from resources.environment import ENVIRONMENTS
from tests.conftest import require_tool
from tests.ops_helpers import synced_local_instance
from webhooks.operations import operations_routes
from webhooks.operations.state import HealthReader

LOCAL = ENVIRONMENTS["local"]
PAGES = ("/integration-health", "/integration-health.json", "/metrics")


@pytest.fixture
def instance(duckdb_warehouse, monkeypatch):
    with synced_local_instance(monkeypatch, HEALTH_READ_TIMEOUT_SECONDS="1") as inst:
        yield inst


class HungWarehouse(HealthReader):
    """A reader whose warehouse read hangs while ``hang`` is set (as a query waiting on a lock does)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hang, self.release, self.reads = threading.Event(), threading.Event(), 0

    def _read_warehouse(self, now):
        self.reads += 1
        if self.hang.is_set():
            self.release.wait(20)
        return super()._read_warehouse(now)


class HungDagster:
    """A Dagster instance whose storage accepts every query and answers none (until released)."""

    def __init__(self, instance, release: threading.Event):
        self._instance, self._release = instance, release

    def __getattr__(self, name):
        attr = getattr(self._instance, name)
        if not callable(attr):
            return attr

        def slow(*args, **kwargs):
            self._release.wait(20)
            return attr(*args, **kwargs)
        return slow


def _client(reader: HealthReader) -> TestClient:
    return TestClient(Starlette(routes=operations_routes(reader)), raise_server_exceptions=False)


def _timed_get(client: TestClient, path: str, bound: float = 3.0):
    started = time.monotonic()
    response = client.get(path)
    elapsed = time.monotonic() - started
    assert response.status_code == 200 and elapsed < bound, (path, response.status_code, elapsed)
    assert "Traceback" not in response.text
    return response


def _input_up(text: str) -> dict[str, float]:
    families = {f.name: f for f in text_string_to_metric_families(text)}  # parses: the body is valid
    return {s.labels["input"]: s.value for s in families["integration_health_input_up"].samples}


def test_a_hung_warehouse_read_is_bounded_shared_and_shows_the_last_figures(instance, duckdb_warehouse):
    duckdb.connect(duckdb_warehouse.duckdb_path).close()  # a warehouse file, empty: nothing degraded
    reader = HungWarehouse(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL)
    with _client(reader) as client:
        fresh = _timed_get(client, "/integration-health.json").json()
        assert fresh["status"] == "ok" and reader.reads == 1, fresh["problems"]
        reader.hang.set()
        try:
            with ThreadPoolExecutor(12) as pool:
                answers = list(pool.map(lambda i: _timed_get(client, PAGES[i % 3]), range(12)))
            assert reader.reads == 2, reader.reads  # one read in flight, shared: a flood does not pile up reads
            body = next(a for a in answers if a.request.url.path.endswith(".json")).json()
            assert body["status"] == "degraded"
            assert "has not answered" in body["problems"]["warehouse"], body["problems"]
            assert "HEALTH_READ_TIMEOUT_SECONDS" in body["problems"]["warehouse"]
            assert body["connectors"]["jira"]["checks"]["sync_lag"]["light"] == "green"  # the figures last read
            page = next(a for a in answers if a.request.url.path == "/integration-health").text
            assert 'id="degraded"' in page and 'data-input="warehouse"' in page
            metrics = next(a for a in answers if a.request.url.path == "/metrics").text
            up = _input_up(metrics)
            assert up["warehouse"] == 0 and up["dagster"] == 1
            assert 'integration_status{connector="jira"} 0.0' in metrics
        finally:
            reader.hang.clear()
            reader.release.set()
        deadline = time.monotonic() + 10
        while _timed_get(client, "/integration-health.json").json()["status"] != "ok":
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_a_hung_dagster_storage_before_any_read_is_a_degraded_page_not_a_hang(instance, duckdb_warehouse):
    release = threading.Event()
    reader = HealthReader(instance=HungDagster(instance, release), warehouse_settings=duckdb_warehouse, env=LOCAL)
    try:
        with _client(reader) as client:
            body = _timed_get(client, "/integration-health.json").json()
            assert body["status"] == "degraded" and "has not answered" in body["problems"]["dagster"]
            assert set(body["connectors"]) == {"servicenow", "jira", "onetrust"}  # still one row each
            assert all(c["checks"]["sync_lag"]["light"] == "unknown" for c in body["connectors"].values())
            page = _timed_get(client, "/integration-health").text
            assert page.count('class="connector"') == 3 and 'data-input="dagster"' in page
            assert _input_up(_timed_get(client, "/metrics").text)["dagster"] == 0
    finally:
        release.set()


@pytest.mark.postgres
def test_a_locked_health_table_on_postgres_is_cut_off_and_named(instance, tmp_path, monkeypatch):
    """A migration (or any long transaction) holding ``ops.health_checks`` locked: the page answers at the
    bound, and the read itself is cancelled by the server (statement_timeout) instead of waiting for the
    lock for ever, so the next request names the lock instead of a read still stuck."""
    import psycopg2

    from assets.health import history, measure
    from tests.conftest import fresh_postgres

    with fresh_postgres(tmp_path / "pgdata") as settings:
        for key, value in settings.env().items():
            monkeypatch.setenv(key, value)
        from resources.warehouse import WarehouseResource

        with WarehouseResource.from_env().connect() as conn:
            history.record(conn, "local", [measure.Finding("jira", "sync_lag", "green", 1.0, 1.0, "ok",
                                                           {"lag_ratio": 0.1})], datetime.now(UTC))
        reader = HealthReader(instance=instance, warehouse_settings=settings, env=LOCAL)
        with _client(reader) as client:
            assert _timed_get(client, "/integration-health.json").json()["status"] == "ok"
            locker = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname=settings.pg_database)
            try:
                locker.cursor().execute("lock table ops.health_checks in access exclusive mode")  # held: no commit
                body = _timed_get(client, "/integration-health.json").json()
                assert body["status"] == "degraded" and "warehouse" in body["problems"], body["problems"]
                deadline = time.monotonic() + 10  # the server cancels the read after 0.75 s: it is not stuck
                while "did not answer within 0.75 s" not in body["problems"].get("warehouse", ""):
                    assert time.monotonic() < deadline, body["problems"]
                    time.sleep(0.1)
                    body = _timed_get(client, "/integration-health.json").json()
                assert body["connectors"]["jira"]["checks"]["sync_lag"]["light"] == "green"  # Dagster still read
                assert settings.pg_database not in str(body)
            finally:
                locker.rollback()
                locker.close()
            assert _timed_get(client, "/integration-health.json").json()["status"] == "ok"


class BrokenReader(HealthReader):
    """A health read that raises (a bug, or a stored row of a shape no reader expected), with a secret in
    its text."""

    def snapshot(self):
        raise RuntimeError("postgresql://health:hunter2@10.0.0.9/warehouse said <script>alert(1)</script>")


def test_a_health_read_that_raises_is_a_degraded_answer_not_a_500(instance, duckdb_warehouse):
    reader = BrokenReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL)
    with _client(reader) as client:
        answers = {path: _timed_get(client, path) for path in PAGES}
    body = answers["/integration-health.json"].json()
    assert body["status"] == "degraded" and "RuntimeError" in body["problems"]["snapshot"], body["problems"]
    assert all(c["checks"]["sync_lag"]["light"] == "unknown" for c in body["connectors"].values())
    assert 'data-input="snapshot"' in answers["/integration-health"].text
    assert _input_up(answers["/metrics"].text)["snapshot"] == 0
    promtool = require_tool("promtool", "prometheus")
    checked = subprocess.run([promtool, "check", "metrics"], input=answers["/metrics"].content, capture_output=True,
                             timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for response in answers.values():
        assert "hunter2" not in response.text and "10.0.0.9" not in response.text and "<script>" not in response.text


@pytest.mark.parametrize("value", ["nan", "-1", "0", "1e9", "inf", "five", ""])
def test_a_nonsense_read_timeout_falls_back_to_the_default(monkeypatch, value):
    from webhooks.operations.state import DEFAULT_READ_TIMEOUT, read_timeout, statement_timeout

    monkeypatch.setenv("HEALTH_READ_TIMEOUT_SECONDS", value)
    assert read_timeout() == DEFAULT_READ_TIMEOUT and statement_timeout() == 3.75


def test_a_bloated_lag_history_keeps_the_page_small(instance, duckdb_warehouse):
    """``ops.health_checks`` grows with every health run (after every sync, hourly, daily; more with a
    runaway schedule): the 7-day chart drew one point per stored row, so the page grew without bound.
    It now draws the worst lag per pixel column, a few hundred points per connector at most."""
    from datetime import timedelta

    from webhooks.operations.page import W, render

    snap = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL).snapshot()
    start = snap.now - timedelta(days=7)
    points = [(start + timedelta(seconds=12 * i), (i % 97) / 10) for i in range(50_000)]
    points.append((snap.now - timedelta(hours=1), 9.5))  # a spike the chart must still show
    snap.lag_history = {c: points for c in snap.connectors}
    started = time.monotonic()
    html = render(snap)
    assert time.monotonic() - started < 2
    assert len(html) < 120_000, len(html)
    charts = html.split('class="lag-chart"')[1:]
    assert len(charts) == 3 and all(c.split('points="')[2].split('"')[0].count(",") <= 2 * W for c in charts)
    assert 'data-points="50001"' in html  # the count of stored checks is still told


@pytest.mark.parametrize("path", ["/metrics/", "/integration-health/", "/integration-health.json/", "/healthz/"])
def test_a_trailing_slash_is_not_redirected_to_the_host_header(instance, duckdb_warehouse, path):
    """Starlette answered ``/metrics/`` with a 307 whose Location was built from the request's Host header:
    an unverified redirect to wherever the caller said the server was (and, behind a cache keyed without
    Host, a poisoned redirect for everyone). The receiver's endpoints already answered 404; so do these."""
    from webhooks.app import create_app

    reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL)
    with TestClient(create_app(operations=reader), raise_server_exceptions=False, follow_redirects=False) as client:
        response = client.get(path, headers={"host": "evil.example"})
    assert response.status_code == 404 and "location" not in response.headers, (response.status_code,
                                                                                response.headers)
    assert response.headers["x-content-type-options"] == "nosniff"
