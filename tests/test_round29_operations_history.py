"""Round 29: what the Integration Health read takes out of ``ops.health_checks`` as it grows, and after a clock
set back.

- The stored secret-expiry grading (shown on the page, exported as ``secret_expiry_seconds``) was found by
  fetching every ``secret_expiry`` row ever stored and keeping the newest per connector in Python: a row per
  owner per health run, hundreds of thousands after a year of runs after every sync, on every health read.
  Now one row per owner leaves the database (DuckDB and PostgreSQL).
- After the clock was set back, the run stamped "in the future" stayed the newest: the page showed that run's
  grading (a secret "expiring in 40 days" for a month after it was rotated, or never warned) until the clock
  caught up. A row stamped past the read's clock (beyond the skew allowance) now ranks below the others.
- The 7-day lag chart read (and parsed the JSON of) every ``sync_lag`` row of the week, tens of thousands with
  a health run after every sync, to draw one point per pixel column: now the worst row per column is chosen in
  the database.
- With 100,000 stored check results the page, its JSON and ``/metrics`` still answer in well under the bound.
- The figures the ``SecretExpiresWithin30Days`` rule reads agree: ServiceNow's green 30-day client secret is
  exported below 30 days with its check at 0, which the rule now reads as "no warning".
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from starlette.testclient import TestClient

from assets.health import history, measure
from resources.environment import ENVIRONMENTS
from resources.warehouse import Connection, WarehouseResource
from tests.ops_helpers import synced_local_instance
from webhooks.app import create_app
from webhooks.operations.state import HealthReader

LOCAL = ENVIRONMENTS["local"]
OWNERS = ("servicenow", "jira", "onetrust", "slack", "partners")


class Counting(Connection):
    """A warehouse connection that counts the rows its queries hand back."""

    def __init__(self, conn: Connection):
        super().__init__(conn.raw, conn.kind)
        self.rows = 0

    def query(self, sql, params=()):
        rows = super().query(sql, params)
        self.rows += len(rows) if "health_checks" in sql else 0
        return rows


def _secret_row(conn: Connection, owner: str, at: datetime, days_left: float, light: str = "green") -> None:
    history.record(conn, "local", [measure.Finding(owner, "secret_expiry", light, days_left * 86400, 30 * 86400,
                                                   f"{owner} secret 'x' expires in {days_left:.0f} days")], at)


@pytest.fixture
def now():
    return datetime.now(UTC).replace(microsecond=0)


def test_the_newest_grading_per_owner_is_one_row_each_out_of_thousands(any_warehouse, now):
    with WarehouseResource.from_env().connect() as conn:
        history.ensure_tables(conn)
        owners = ", ".join(f"('{o}')" for o in OWNERS)
        conn.execute(  # 400 hourly health runs: 2,000 stored rows, the newest an hour ago with 40 days left
            "insert into ops.health_checks select cast(%s as timestamp) - g.i * interval '1 hour', 'local', o.owner, "
            "'secret_expiry', 'green', (39 + g.i) * 86400.0, 2592000, 'expires', '{}', 'hourly' "
            f"from generate_series(1, 400) as g(i) cross join (values {owners}) as o(owner)",
            (now.replace(tzinfo=None),))
        counting = Counting(conn)
        got = history.latest(counting, "local", "secret_expiry", now)
    assert set(got) == set(OWNERS)
    assert counting.rows == len(OWNERS), counting.rows  # was 2,000: every row ever stored
    assert all(round(r["value"] / 86400) == 40 for r in got.values()), {k: r["value"] for k, r in got.items()}
    assert got["jira"]["checked_at"] == (now - timedelta(hours=1)).replace(tzinfo=None)
    assert {"message", "light", "threshold", "detail"} <= set(got["jira"])


def test_after_the_clock_is_set_back_the_latest_run_is_shown_not_the_one_from_the_future(any_warehouse, now):
    """A run while the clock was a month ahead graded Jira's token green (40 days); the clock was corrected,
    and the runs since grade it red (5 days). The page shows red; with no run since, the future row stands."""
    with WarehouseResource.from_env().connect() as conn:
        history.ensure_tables(conn)
        _secret_row(conn, "jira", now + timedelta(days=30), 40)  # stamped a month ahead
        _secret_row(conn, "onetrust", now + timedelta(days=30), 40)  # only a future row: still shown
        _secret_row(conn, "jira", now - timedelta(hours=2), 6, "red")
        _secret_row(conn, "jira", now - timedelta(hours=1), 5, "red")
        _secret_row(conn, "servicenow", now + timedelta(seconds=30), 12)  # within the skew allowance: newest
        _secret_row(conn, "servicenow", now - timedelta(hours=1), 13)
        got = history.latest(conn, "local", "secret_expiry", now)
    assert (got["jira"]["light"], round(got["jira"]["value"] / 86400)) == ("red", 5)
    assert round(got["onetrust"]["value"] / 86400) == 40
    assert round(got["servicenow"]["value"] / 86400) == 12


def test_the_lag_chart_reads_one_row_per_pixel_column_and_keeps_the_spike(any_warehouse, now):
    """A week of sync_lag rows every minute for three connectors (30,240 rows), one spike (9.5x) an hour ago and a
    row of another version (no figures) in the spike's column: the chart's rows are one per column, the spike
    among them, and the same on DuckDB and PostgreSQL."""
    from webhooks.operations.page import W

    with WarehouseResource.from_env().connect() as conn:
        history.ensure_tables(conn)
        conn.execute(
            "insert into ops.health_checks select cast(%s as timestamp) - g.i * interval '1 minute', 'local', o.c, "
            "'sync_lag', 'green', 60.0 * (1 + mod(g.i, 7)), 1800, 'm', "
            "'{\"lag_ratio\": ' || cast(round((1 + mod(g.i, 7)) / 15.0, 3) as varchar) || '}', 'hourly' "
            "from generate_series(1, 10079) as g(i) cross join (values ('servicenow'), ('jira'), ('onetrust')) as o(c)",
            (now.replace(tzinfo=None),))
        history.record(conn, "local", [measure.Finding("jira", "sync_lag", "red", 8550.0, 1800.0, "spike", {
            "lag_ratio": 9.5}), measure.Finding("jira", "sync_lag", "unknown", None, None, "odd", {})],
            now - timedelta(minutes=59, seconds=30))
        counting = Counting(conn)
        chart = history.lag_history(counting, "local", now, columns=W)
    assert set(chart) == {"servicenow", "jira", "onetrust"}
    assert counting.rows <= 3 * (W + 1), counting.rows  # was 30,242
    assert all(len(points) >= W - 1 for points in chart.values()), {c: len(p) for c, p in chart.items()}
    assert max(v for _, v in chart["jira"]) == 9.5
    assert max(v for _, v in chart["servicenow"]) == round(7 / 15, 3)


def _fill(path: str, now: datetime, rows: int) -> None:
    """``rows`` stored check results over the last year, as a health run after every sync leaves them."""
    with duckdb.connect(path) as con:
        history.ensure_tables(Connection(con, "duckdb"))
        start = now.replace(tzinfo=None)
        con.execute(f"""insert into ops.health_checks
            select ?::timestamp - (i * interval 5 minute), 'local', ['servicenow','jira','onetrust','slack',
              'partners'][1 + i % 5], 'secret_expiry', 'green', 86400 * 40, 86400 * 30, 'expires in 40 days',
              '{{}}', 'hourly' from range({rows * 6 // 10}) t(i)""", [start])
        con.execute(f"""insert into ops.health_checks
            select ?::timestamp - (i * interval 1 minute), 'local', ['servicenow','jira','onetrust'][1 + i % 3],
              'sync_lag', 'green', 60, 1800, 'last synced 1 min ago', '{{"lag_ratio": 0.07}}', 'hourly'
              from range({rows * 4 // 10}) t(i)""", [start])


def test_the_page_json_and_metrics_stay_fast_with_100k_stored_check_results(duckdb_warehouse, monkeypatch, now):
    _fill(duckdb_warehouse.duckdb_path, now, 100_000)
    with synced_local_instance(monkeypatch) as instance:
        reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL, clock=lambda: now)
        reader.snapshot()  # warm: imports, the first DuckDB open
        with TestClient(create_app(operations=reader), raise_server_exceptions=False) as client:
            took = {}
            for path in ("/integration-health", "/integration-health.json", "/metrics"):
                start = time.perf_counter()
                response = client.get(path)
                took[path] = time.perf_counter() - start
                assert response.status_code == 200, response.text[:500]
            body = client.get("/integration-health.json").json()
            page = client.get("/integration-health").text
    assert body["status"] == "ok", body["problems"]
    assert body["connectors"]["jira"]["checks"]["secret_expiry"]["light"] == "green"
    assert all(t < 2.0 for t in took.values()), took
    assert len(page) < 60_000  # the chart: one point per pixel column, whatever the history


def test_a_green_30_day_secret_is_exported_under_30_days_with_its_check_at_0(duckdb_warehouse, monkeypatch, now):
    """What the alert rule reads: ServiceNow's client secret rotated yesterday (29 days left, green)."""
    with WarehouseResource.from_env().connect() as conn:
        history.ensure_tables(conn)
        _secret_row(conn, "servicenow", now - timedelta(minutes=5), 29)
        _secret_row(conn, "jira", now - timedelta(minutes=5), 20, "yellow")
    with synced_local_instance(monkeypatch) as instance:
        reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL, clock=lambda: now)
        with TestClient(create_app(operations=reader), raise_server_exceptions=False) as client:
            text = client.get("/metrics").text
    series = {m[0]: float(m[1]) for m in re.findall(r"^(\w+\{[^}]*\}) (\S+)$", text, re.M)}
    assert series['secret_expiry_seconds{connector="servicenow"}'] == 29 * 86400
    assert series['integration_check_status{check="secret_expiry",connector="servicenow"}'] == 0
    assert series['integration_check_status{check="secret_expiry",connector="jira"}'] == 1
    assert json.dumps(series)  # every sample parsed as a number
