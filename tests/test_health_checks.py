"""Integration health: a stopped connector turns yellow, then red, in the Dagster checks, the page's
data and integration_status; history is kept; a red streak raises one alert; a sync turns it green."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from dagster import AssetCheckKey, AssetCheckSeverity, instance_for_test, materialize
from starlette.testclient import TestClient

from assets.health import measure
from assets.health.checks import KEY, integration_health
from resources.environment import ENVIRONMENTS
from resources.warehouse import WarehouseResource
from tests.ops_helpers import record_sync
from webhooks.app import create_app
from webhooks.operations.state import HealthReader

LOCAL = ENVIRONMENTS["local"]  # servicenow every 15 min, jira 30, onetrust 6 h


@pytest.fixture
def instance(duckdb_warehouse, monkeypatch):
    monkeypatch.setenv("PROJECTX_ENV", "local")
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    with instance_for_test() as inst:
        yield inst


def _status(text: str, connector: str) -> float:
    line = next(x for x in text.splitlines() if x.startswith(f'integration_status{{connector="{connector}"}}'))
    return float(line.split()[-1])


def test_thresholds_grade_each_check():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert measure.lag("x", {"t": (now - timedelta(minutes=14), 15)}, now).light == measure.GREEN
    assert measure.lag("x", {"t": (now - timedelta(minutes=16), 15)}, now).light == measure.YELLOW
    assert measure.lag("x", {"t": (now - timedelta(minutes=31), 15)}, now).light == measure.RED
    assert measure.lag("x", {"t": (None, 15)}, now).light == measure.RED
    assert [measure.backlog("x", "b", n, "m").light for n in (50, 51, 101)] == ["green", "yellow", "red"]
    assert [measure.dead_letters("x", n).light for n in (0, 1, 10)] == ["green", "yellow", "red"]
    assert measure.breaker("x", "open", True).light == "red"
    assert measure.breaker("x", "half_open", True).light == "yellow"
    year = {"api_token": (now - timedelta(days=300), 365)}
    assert measure.secret_expiry("x", year, now).light == measure.GREEN  # 65 days left
    assert measure.secret_expiry("x", {"api_token": (now - timedelta(days=340), 365)}, now).light == "yellow"
    assert measure.secret_expiry("x", {"api_token": (now - timedelta(days=360), 365)}, now).light == "red"
    # the ServiceNow client secret lives 30 days: fresh is green, its last quarter yellow, last tenth red
    assert measure.secret_expiry("x", {"s": (now - timedelta(days=1), 30)}, now).light == "green"
    assert measure.secret_expiry("x", {"s": (now - timedelta(days=24), 30)}, now).light == "yellow"
    assert measure.secret_expiry("x", {"s": (now - timedelta(days=28), 30)}, now).light == "red"
    assert measure.connector_light([measure.lag("x", {"t": (None, 15)}, now)], enabled=False) == "disabled"


def test_stopped_connector_goes_yellow_then_red_on_page_and_metrics_then_green(instance, duckdb_warehouse):
    t0 = datetime.now(UTC)
    for connector in ("servicenow", "jira", "onetrust"):
        record_sync(instance, LOCAL, connector, t0)
    clock = [t0 + timedelta(minutes=1)]
    reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL, clock=lambda: clock[0])
    client = TestClient(create_app(operations=reader))

    def lights():
        data = client.get("/integration-health.json").json()["connectors"]
        return {c: v["light"] for c, v in data.items()}, client.get("/metrics").text

    seen, metrics = lights()
    assert seen == {"servicenow": "green", "jira": "green", "onetrust": "green"}
    assert _status(metrics, "servicenow") == 0
    clock[0] = t0 + timedelta(minutes=20)  # ServiceNow stopped: 20 min > its 15-min interval
    seen, metrics = lights()
    assert seen["servicenow"] == "yellow" and seen["jira"] == "green" and _status(metrics, "servicenow") == 1
    clock[0] = t0 + timedelta(minutes=31)  # past 2x the interval
    seen, metrics = lights()
    assert seen["servicenow"] == "red" and _status(metrics, "servicenow") == 2
    assert seen["jira"] == "yellow"  # 31 min > its 30-min interval
    record_sync(instance, LOCAL, "servicenow", clock[0])  # it syncs again
    clock[0] += timedelta(minutes=1)
    seen, metrics = lights()
    assert seen["servicenow"] == "green" and _status(metrics, "servicenow") == 0


def test_dagster_checks_carry_severity_figures_history_and_one_alert_per_red_streak(instance, duckdb_warehouse):
    now = datetime.now(UTC)
    record_sync(instance, LOCAL, "servicenow", now - timedelta(minutes=40))  # red: > 2 x 15 min
    record_sync(instance, LOCAL, "jira", now - timedelta(minutes=40))  # yellow: > 30, < 60 min
    record_sync(instance, LOCAL, "onetrust", now - timedelta(minutes=1))  # green
    resources = {"warehouse": WarehouseResource.from_env()}
    for _ in range(2):
        result = materialize([integration_health], instance=instance, resources=resources)
        assert result.success
    checks = [ev.event_specific_data for ev in result.all_events if ev.event_type_value == "ASSET_CHECK_EVALUATION"]
    evaluations = {e.asset_check_key.name: e for e in checks}
    sn, jira, ot = (evaluations[f"{c}_sync_lag"] for c in ("servicenow", "jira", "onetrust"))
    assert not sn.passed and sn.severity == AssetCheckSeverity.ERROR
    assert not jira.passed and jira.severity == AssetCheckSeverity.WARN
    assert ot.passed
    assert sn.metadata["value"].value > 2 * 15 * 60 and sn.metadata["threshold"].value == 2 * 15 * 60
    history = instance.event_log_storage.get_asset_check_execution_history(
        AssetCheckKey(KEY, "servicenow_sync_lag"), limit=10)
    assert len(history) == 2  # Dagster keeps every evaluation: the figures plot over time
    with duckdb.connect(duckdb_warehouse.duckdb_path, read_only=True) as con:
        rows = con.execute("select connector, light, count(*) from ops.health_checks where check_name = 'sync_lag' "
                           "group by all order by 1").fetchall()
        alerts = con.execute("select connector, check_name, channel, runbook, status from ops.health_alerts").fetchall()
    assert rows == [("jira", "yellow", 2), ("onetrust", "green", 2), ("servicenow", "red", 2)]
    assert alerts == [("servicenow", "sync_lag", LOCAL.alert_channel, "RB-002", "pending")]  # once, not twice


def test_a_held_warehouse_lock_serves_the_last_figures(instance, duckdb_warehouse):
    record_sync(instance, LOCAL, "jira", datetime.now(UTC))
    duckdb.connect(duckdb_warehouse.duckdb_path).close()
    reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL)
    first = reader.snapshot()
    assert first.warehouse_note == "" and first.warehouse_read_at is not None
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    writer = ctx.Process(target=_hold_lock, args=(duckdb_warehouse.duckdb_path, ready, release))
    writer.start()
    try:
        assert ready.wait(30)
        busy = reader.snapshot()
        assert "cannot be read now" in busy.warehouse_note
        assert busy.connectors["jira"].finding("sync_lag").light == "green"  # lag still comes from Dagster
        assert TestClient(create_app(operations=reader)).get("/metrics").status_code == 200
    finally:
        release.set()
        writer.join(30)


def _hold_lock(path, ready, release):
    con = duckdb.connect(path)
    ready.set()
    release.wait(30)
    con.close()


def test_operations_routes_hold_up_under_abuse(instance, duckdb_warehouse):
    """The page and /metrics face a network: wrong methods, odd paths and query strings, and a
    bounded burst of concurrent scrapes get clean answers, never a 5xx."""
    from concurrent.futures import ThreadPoolExecutor

    record_sync(instance, LOCAL, "jira", datetime.now(UTC))
    reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL)
    client = TestClient(create_app(operations=reader))
    assert client.post("/metrics", content=b"x" * 100_000).status_code == 405
    assert client.delete("/integration-health").status_code == 405
    assert client.get("/integration-health/../../etc/passwd").status_code == 404
    assert client.get("/metrics?" + "a=<script>&" * 500).status_code == 200
    page = client.get("/integration-health?x=<script>alert(1)</script>").text
    assert "<script>" not in page
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda i: client.get("/metrics" if i % 2 else "/integration-health").status_code,
                              range(24)))
    assert codes == [200] * 24
    body = client.get("/metrics").text
    assert body.count('sync_latency_seconds_count{connector="jira",table="issues"} 1.0') == 1  # each sync once


@pytest.mark.slow
def test_a_real_sync_turns_a_red_connector_green(instance, duckdb_warehouse, make_servicenow_sandbox, monkeypatch):
    from dagster_dlt import DagsterDltResource

    from assets.ingestion import current_partition_key
    from assets.servicenow import build_servicenow_assets
    from resources.servicenow import ServiceNowResource
    from tests.conftest import sandbox_env

    sandbox_env(monkeypatch, make_servicenow_sandbox(size=40))
    record_sync(instance, LOCAL, "servicenow", datetime.now(UTC) - timedelta(minutes=45))
    resources = {"warehouse": WarehouseResource.from_env(), "dlt": DagsterDltResource(),
                 "servicenow": ServiceNowResource()}

    def lag_check():
        result = materialize([integration_health], instance=instance, resources=resources)
        return next(e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
                    and e.event_specific_data.asset_check_key.name == "servicenow_sync_lag")

    red = lag_check()
    assert not red.passed and red.severity == AssetCheckSeverity.ERROR
    synced = materialize(build_servicenow_assets(), instance=instance, resources=resources,
                         partition_key=current_partition_key())
    assert synced.success
    assert lag_check().passed
    client = TestClient(create_app(operations=HealthReader(instance=instance, warehouse_settings=duckdb_warehouse,
                                                           env=LOCAL)))
    assert _status(client.get("/metrics").text, "servicenow") == 0


def test_notification_backlog_over_100_is_red(instance, duckdb_warehouse):
    """The outbox's undelivered rows (marts.notification_outbox without a final ledger status) are the
    notification backlog of spec §6.1."""
    with WarehouseResource.from_env().connect() as conn:
        conn.execute("create schema if not exists marts")
        conn.execute("create schema if not exists notifications")
        conn.execute("create table marts.notification_outbox as select 'n-' || range as notification_key "
                     "from range(120)")
        conn.execute("create table notifications.delivery_ledger as select 'n-' || range as notification_key, "
                     "'sent' as status from range(10)")
    reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL)
    snap = reader.snapshot()
    assert snap.notifications.value == 110 and snap.notifications.light == "red"
    metrics = TestClient(create_app(operations=reader)).get("/metrics").text
    assert 'integration_backlog{connector="notifications",queue="notifications"} 110.0' in metrics


def test_attachments_freshness_matches_the_job_that_syncs_them(monkeypatch):
    """stg/prod: attachments are synced by the 15-minute changes job, so their freshness window and
    health interval are 15 minutes (2x = 30), not the incidents' 5 (stale by design before)."""
    from dagster import AssetKey

    import definitions
    from assets.health.inputs import tracked_tables
    from sensors.schedules import servicenow_changes_job

    for name in ("stg", "prod"):
        monkeypatch.setenv("PROJECTX_ENV", name)
        env = ENVIRONMENTS[name]
        defs = definitions.build_definitions()
        key = AssetKey(["servicenow", "attachments"])
        policy = defs.resolve_asset_graph().get(key).freshness_policy
        assert policy.fail_window.to_timedelta() == timedelta(minutes=2 * env.servicenow_change_minutes)
        assert key in defs.resolve_job_def(servicenow_changes_job.name).asset_layer.selected_asset_keys
        assert key not in defs.resolve_job_def("servicenow_incidents_sync").asset_layer.selected_asset_keys
        assert tracked_tables(env)["servicenow"]["attachments"] == env.servicenow_change_minutes


def test_a_disabled_integration_is_disabled_in_the_checks_not_red(instance, duckdb_warehouse, monkeypatch):
    monkeypatch.setenv("INTEGRATION_JIRA_ENABLED", "false")
    result = materialize([integration_health], instance=instance, resources={"warehouse": WarehouseResource.from_env()})
    checks = {e.event_specific_data.asset_check_key.name: e.event_specific_data for e in result.all_events
              if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    assert checks["jira_sync_lag"].passed and checks["jira_sync_lag"].metadata["light"].value == "disabled"
    assert "integration.jira.enabled is false" in checks["jira_sync_lag"].metadata["message"].value
    assert not checks["servicenow_sync_lag"].passed  # never synced, and enabled: red
    with duckdb.connect(duckdb_warehouse.duckdb_path, read_only=True) as con:
        alerted = {r[0] for r in con.execute("select connector from ops.health_alerts").fetchall()}
    assert "jira" not in alerted and "servicenow" in alerted


@pytest.mark.postgres
def test_health_history_and_page_on_postgres(instance, monkeypatch, tmp_path):
    """The scale-out warehouse: the checks write ops.health_checks on PostgreSQL, the page reads it
    through a read-only session."""
    import dataclasses
    import uuid

    import psycopg2

    from pipelines.common.warehouse import WarehouseSettings

    name = f"projectx_test_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute(f'create database "{name}"')
    try:
        monkeypatch.setenv("PROJECTX_WAREHOUSE", "postgres")
        monkeypatch.setenv("PGDATABASE", name)
        monkeypatch.setenv("PGHOST", "127.0.0.1")
        monkeypatch.setenv("PGUSER", "postgres")
        settings = dataclasses.replace(WarehouseSettings.from_env(), data_dir=str(tmp_path / "pgdata"))
        record_sync(instance, LOCAL, "onetrust", datetime.now(UTC))
        resources = {"warehouse": WarehouseResource.from_env()}
        assert materialize([integration_health], instance=instance, resources=resources).success
        snap = HealthReader(instance=instance, warehouse_settings=settings, env=LOCAL).snapshot()
        assert snap.warehouse_note == "" and snap.connectors["onetrust"].light in ("green", "yellow")
        assert snap.connectors["servicenow"].light == "red"  # never synced
        with psycopg2.connect(host="127.0.0.1", user="postgres", dbname=name) as con, con.cursor() as cur:
            cur.execute("select count(*) from ops.health_checks where check_name = 'sync_lag'")
            assert cur.fetchone()[0] == 3
    finally:
        admin.cursor().execute(f'drop database if exists "{name}" with (force)')
        admin.close()


def test_webhook_inbox_backlog_and_dead_letters_grade_their_connector(instance, duckdb_warehouse):
    """The receiver's inbox: events waiting count as the vendor's webhook backlog (red above 100),
    events dead after 10 attempts as its dead letters."""
    import time

    from webhooks.inbox import open_database
    from webhooks.settings import WebhookSettings

    db = open_database(WebhookSettings.from_env())
    try:
        for i in range(105):
            db.execute("insert into webhook_events (source, delivery_id, event_type, received_at, body, status) "
                       "values (?, ?, ?, ?, ?, ?)", ("jira", f"d-{i}", "jira:issue_updated", time.time(), "{}",
                                                     "dead" if i < 2 else "pending"))
        db.commit()
    finally:
        db.close()
    record_sync(instance, LOCAL, "jira", datetime.now(UTC))
    snap = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL).snapshot()
    jira = snap.connectors["jira"]
    assert jira.finding("webhook_backlog").value == 103 and jira.finding("webhook_backlog").light == "red"
    assert jira.finding("dead_letters").value == 2 and jira.light == "red"
    assert snap.connectors["servicenow"].finding("webhook_backlog").value == 0
    metrics = TestClient(create_app(operations=HealthReader(instance=instance, warehouse_settings=duckdb_warehouse,
                                                            env=LOCAL))).get("/metrics").text
    assert "jira_sync_backlog 105.0" in metrics  # 103 waiting + 2 dead


def test_a_check_that_recovers_and_turns_red_again_alerts_again(duckdb_warehouse):
    """red, red, green, red, yellow, red: three streaks, three alerts; another check's streak is its own."""
    from assets.health.history import raise_alerts, record

    start = datetime(2026, 12, 1, 8, tzinfo=UTC)
    lights = ["red", "red", "green", "red", "yellow", "red"]
    raised = []
    with WarehouseResource.from_env().connect() as conn:
        for hour, light in enumerate(lights):
            now = start + timedelta(hours=hour)
            findings = [measure.Finding("jira", "sync_lag", light, 1.0, 1.0, f"lag is {light}"),
                        measure.Finding("jira", "dead_letters", "red", 3.0, 0.0, "3 dead letters")]
            raised += raise_alerts(conn, "local", "#alerts", findings, now)
            record(conn, "local", findings, now)
        rows = conn.query("select check_name, raised_at from ops.health_alerts order by check_name, raised_at")
    assert [(r["check_name"], r["raised_at"].hour) for r in rows] == [
        ("dead_letters", 8), ("sync_lag", 8), ("sync_lag", 11), ("sync_lag", 13)]
    assert len(raised) == 4
