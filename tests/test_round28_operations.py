"""Round 28, operations: what on-call reads off the health checks, at the spec's edges.

- Sync lag at its boundaries: spec §6.1 asks for the last sync to be "< 2x the scheduled interval", and
  the tables' Dagster freshness policies (warn 1x, fail 2x) fail at age >= the window. The health check
  was yellow at exactly 2x (and green at exactly 1x), so the page, /metrics and the Dagster check said
  yellow while the asset's own freshness policy said failed.
- A clock moved back: a last sync recorded in the future was graded 0 s old, green, for as long as the
  jump: stale data looked fresh. It is red now, naming the skew.
- The Dagster instance unreadable: every sync lag is unknown, yet the connector's light (page, JSON,
  the health asset's metadata) was green.
- A red streak alerts once across a clock moved back, and a new streak after it alerts again (the
  previous light was the stored row with the latest timestamp, i.e. a run from "the future").
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    instance_for_test,
)
from dagster._core.definitions.freshness import FreshnessState
from dagster._core.definitions.freshness_evaluator import TimeWindowFreshnessPolicyEvaluator
from starlette.testclient import TestClient

from assets.health import measure
from assets.health.history import raise_alerts, record
from resources.environment import ENVIRONMENTS
from resources.warehouse import WarehouseResource
from tests.ops_helpers import record_sync
from webhooks.app import create_app
from webhooks.operations.state import HealthReader

LOCAL = ENVIRONMENTS["local"]  # servicenow incidents every 15 min, jira 30, onetrust 6 h
NOW = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # Europe's DST change, to be sure nothing local leaks in


def _lag(age: timedelta, minutes: int = 15) -> str:
    return measure.lag("servicenow", {"incidents": (NOW - age, minutes)}, NOW).light


@pytest.mark.parametrize(("age", "light"), [
    (timedelta(minutes=15) - timedelta(seconds=1), "green"),
    (timedelta(minutes=15), "yellow"),  # the freshness policy's warn window is reached
    (timedelta(minutes=15, seconds=1), "yellow"),
    (timedelta(minutes=30) - timedelta(seconds=1), "yellow"),
    (timedelta(minutes=30), "red"),  # spec §6.1: the last sync must be < 2x the interval
    (timedelta(minutes=30, seconds=1), "red"),
])
def test_sync_lag_at_its_thresholds(age, light):
    assert _lag(age) == light


def _dagster_freshness(age: timedelta, minutes: int) -> FreshnessState:
    """What Dagster's own evaluator says of the freshness policy ingestion assets carry (warn 1x, fail 2x
    their cadence, ``assets.ingestion.ProjectXDltTranslator``), ``age`` after the last materialization."""
    import asyncio
    from unittest import mock

    from dagster import FreshnessPolicy
    from dagster._core.loader import LoadingContextForTest

    policy = FreshnessPolicy.time_window(fail_window=timedelta(minutes=2 * minutes),
                                         warn_window=timedelta(minutes=minutes))
    key = AssetKey(["servicenow", "incidents"])
    node = mock.Mock(key=key, freshness_policy_or_from_metadata=policy)
    with instance_for_test() as instance:
        instance.report_runless_asset_event(AssetMaterialization(key))
        stored = instance.get_latest_materialization_event(key).timestamp
        with mock.patch("dagster._core.definitions.freshness_evaluator.get_current_timestamp",
                        return_value=stored + age.total_seconds()):
            return asyncio.run(TimeWindowFreshnessPolicyEvaluator().evaluate_freshness(
                LoadingContextForTest(instance), node))


@pytest.mark.parametrize("minutes", [15, 30, 360])
@pytest.mark.parametrize("multiple", [1, 2])
def test_the_health_check_agrees_with_the_assets_freshness_policy_at_its_windows(minutes, multiple):
    """At exactly 1x and 2x the interval, the check's light is the state Dagster's freshness policy gives."""
    age = timedelta(minutes=minutes * multiple)
    dagster_state = _dagster_freshness(age, minutes)
    assert dagster_state in (FreshnessState.WARN, FreshnessState.FAIL)
    expected = {FreshnessState.WARN: "yellow", FreshnessState.FAIL: "red", FreshnessState.PASS: "green"}
    assert _lag(age, minutes) == expected[dagster_state]


def test_a_clock_moved_back_does_not_make_stale_data_look_fresh():
    # the last sync happened at 10:00; then the host's clock was set back two hours, to 08:05
    last = datetime(2028, 2, 29, 10, 0, tzinfo=UTC)  # a leap day
    now = last - timedelta(hours=1, minutes=55)
    f = measure.lag("onetrust", {"risks": (last, 360)}, now)
    assert f.light == measure.RED
    assert "clock" in f.message and "moved back" in f.message
    assert f.detail["tables"]["risks"]["recorded_ahead_seconds"] == pytest.approx(115 * 60)
    assert f.value is None, "no lag is reported that the clock cannot back"
    assert measure.connector_light([f]) == measure.RED
    # a few seconds of skew between the run's host and this one is not a jump: still fresh
    assert measure.lag("onetrust", {"risks": (now + timedelta(seconds=20), 360)}, now).light == measure.GREEN


def test_a_connector_whose_sync_lag_cannot_be_read_is_not_green():
    findings = [measure.unknown("jira", "sync_lag", "the Dagster instance cannot be read"),
                measure.backlog("jira", "webhook_backlog", 0, "webhook deliveries"),
                measure.dead_letters("jira", 0), measure.breaker("jira", "closed", True),
                measure.secret_expiry("jira", {}, NOW)]
    assert measure.connector_light(findings) == measure.UNKNOWN
    assert measure.connector_light([*findings[:1], measure.dead_letters("jira", 12)]) == measure.RED
    assert measure.connector_light(findings, enabled=False) == measure.DISABLED
    # checks with nothing configured here (no Vault locally, no inbox) do not dim a measured connector
    measured = [measure.lag("jira", {"issues": (NOW - timedelta(minutes=1), 30)}, NOW), *findings[1:]]
    assert measure.connector_light(measured) == measure.GREEN


class _DownInstance:
    def __getattr__(self, name):
        def fail(*_a, **_k):
            raise ConnectionRefusedError("storage down")
        return fail


def test_dagster_down_shows_connectors_unknown_on_the_page_and_its_json(duckdb_warehouse, monkeypatch):
    monkeypatch.setenv("PROJECTX_ENV", "local")
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    client = TestClient(create_app(operations=HealthReader(instance=_DownInstance(),
                                                           warehouse_settings=duckdb_warehouse, env=LOCAL)))
    body = client.get("/integration-health.json").json()
    assert body["status"] == "degraded"
    lights = {c: row["light"] for c, row in body["connectors"].items()}
    assert set(lights.values()) <= {"unknown", "disabled"} and "unknown" in lights.values(), lights
    page = client.get("/integration-health").text
    rows = dict(re.findall(r'<tr class="connector" data-connector="(\w+)" data-light="(\w+)"', page))
    assert rows == lights


def test_the_page_grades_a_sync_recorded_after_its_clock_red(duckdb_warehouse, monkeypatch):
    monkeypatch.setenv("PROJECTX_ENV", "local")
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    for var in ("INTEGRATION_SERVICENOW_ENABLED", "INTEGRATION_JIRA_ENABLED", "INTEGRATION_ONETRUST_ENABLED"):
        monkeypatch.delenv(var, raising=False)
    real_now = datetime.now(UTC)
    with instance_for_test() as instance:
        for connector in ("servicenow", "jira", "onetrust"):
            record_sync(instance, LOCAL, connector, real_now)
        # the page's host clock now reads one hour earlier than when the syncs were recorded
        reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL,
                              clock=lambda: real_now - timedelta(hours=1))
        body = TestClient(create_app(operations=reader)).get("/integration-health.json").json()
        metrics = TestClient(create_app(operations=reader)).get("/metrics").text
    for connector, row in body["connectors"].items():
        if row["light"] != "disabled":
            assert row["checks"]["sync_lag"]["light"] == "red", (connector, row["checks"]["sync_lag"])
    assert 'integration_check_status{check="sync_lag",connector="servicenow"} 2.0' in metrics
    assert 'sync_lag_seconds{connector="servicenow"' not in metrics, "no made-up lag of 0 s"


def _streak(conn, lights_at: list[tuple[datetime, str]]) -> list[str]:
    raised = []
    for at, light in lights_at:
        findings = [measure.Finding("servicenow", "sync_lag", light, 1.0, 1.0, f"lag is {light}")]
        record(conn, "local", findings, at)  # as run_health does: record, then raise
        raised += raise_alerts(conn, "local", "#alerts", findings, at)
    return raised


def test_a_red_streak_alerts_once_across_a_clock_moved_back(duckdb_warehouse):
    t = datetime(2026, 12, 1, 10, tzinfo=UTC)
    with WarehouseResource.from_env().connect() as conn:
        # green at 08:00, red at 10:00 (one alert); the clock is set back: red again "at 09:10"
        raised = _streak(conn, [(t - timedelta(hours=2), "green"), (t, "red"),
                                (t - timedelta(minutes=50), "red"), (t - timedelta(minutes=40), "red")])
    assert len(raised) == 1, raised


def test_a_new_red_streak_after_a_clock_moved_back_still_alerts(duckdb_warehouse):
    t = datetime(2026, 12, 1, 10, tzinfo=UTC)
    with WarehouseResource.from_env().connect() as conn:
        # red at 10:00 (alert); clock set back; green "at 09:10", then red "at 09:20": a new streak
        raised = _streak(conn, [(t, "red"), (t - timedelta(minutes=50), "green"),
                                (t - timedelta(minutes=40), "red")])
        rows = conn.query("select raised_at from ops.health_alerts order by raised_at")
    assert len(raised) == 2, raised
    assert [r["raised_at"].strftime("%H:%M") for r in rows] == ["09:20", "10:00"]


def test_streaks_stored_before_the_state_table_still_count(duckdb_warehouse):
    """A deployment upgraded mid-streak: the red row stored by the old version is the previous light."""
    t = datetime(2026, 12, 1, 10, tzinfo=UTC)
    with WarehouseResource.from_env().connect() as conn:
        finding = measure.Finding("jira", "dead_letters", "red", 12.0, 0.0, "12 dead letters")
        record(conn, "local", [finding], t)
        conn.execute("drop table ops.health_check_state")  # as before this round: no state yet
        assert raise_alerts(conn, "local", "#alerts", [finding], t + timedelta(hours=1)) == []
        assert conn.scalar("select light from ops.health_check_state where connector = 'jira'") == "red"


def test_an_ephemeral_instance_with_no_syncs_grades_every_table_never_synced():
    """Sanity of the fixture path the page uses: no materialization at all is red, not unknown or green."""
    from assets.health.inputs import last_syncs, tracked_tables

    syncs = last_syncs(DagsterInstance.ephemeral(), tracked_tables(LOCAL))
    for connector, tables in syncs.items():
        f = measure.lag(connector, tables, NOW)
        assert f.light == measure.RED and "never synced" in f.message
