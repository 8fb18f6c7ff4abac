"""A real Prometheus scrapes the long-running service's /metrics and every named series comes back
through its HTTP API; the shipped alert rules pass promtool."""

from __future__ import annotations

import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from dagster import instance_for_test

from resources.environment import ENVIRONMENTS
from tests.conftest import require_tool
from tests.ops_helpers import free_port, record_sync, serve
from webhooks.app import create_app
from webhooks.operations.state import HealthReader

RULES = Path(__file__).resolve().parents[1] / "webhooks" / "operations" / "alert_rules.yml"
SERIES = ["integration_status", "integration_enabled", "integration_check_status", "sync_latency_seconds_bucket",
          "sync_latency_seconds_count", "sync_lag_seconds", "webhook_failures_total", "jira_sync_backlog",
          "integration_rows_synced_total", "integration_rows_quarantined_total", "integration_dead_letters",
          "integration_rows_dead_lettered_total"]


def test_alert_rules_pass_promtool():
    promtool = require_tool("promtool", "prometheus")
    out = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout and "jira_sync_backlog" in RULES.read_text()


@pytest.mark.slow
def test_prometheus_scrapes_every_series(duckdb_warehouse, monkeypatch, tmp_path):
    prometheus = require_tool("prometheus", "prometheus")
    monkeypatch.setenv("PROJECTX_ENV", "local")
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    env = ENVIRONMENTS["local"]
    _dead_letter(duckdb_warehouse)
    with instance_for_test() as instance:
        for connector in ("servicenow", "jira", "onetrust"):
            record_sync(instance, env, connector, datetime.now(UTC), duration=42.0, rows=100, quarantined=3)
        _reverse_sync_run(instance)
        from webhooks.receiver.metrics import FAILURES

        FAILURES.labels("jira", "bad_signature").inc()  # labels as the receiver writes them
        reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=env)
        with serve(create_app(operations=reader)) as url:
            target = url.split("//", 1)[1]
            config = tmp_path / "prometheus.yml"
            config.write_text("global: {scrape_interval: 3s, scrape_timeout: 3s, evaluation_interval: 3s}\n"
                              f"rule_files: ['{RULES}']\n"
                              "scrape_configs:\n  - job_name: projectx\n"
                              f"    static_configs: [{{targets: ['{target}']}}]\n")
            port = free_port()
            proc = subprocess.Popen([prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                     f"--web.listen-address=127.0.0.1:{port}"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                found = _wait_for_series(f"http://127.0.0.1:{port}", SERIES, deadline=time.monotonic() + 150)
            finally:
                proc.terminate()
                proc.wait(timeout=20)
    missing = [s for s in SERIES if not found.get(s)]
    assert not missing, f"Prometheus never scraped {missing}"
    status = {r["metric"]["connector"]: float(r["value"][1]) for r in found["integration_status"]}
    assert status == {"servicenow": 1.0, "jira": 0.0, "onetrust": 0.0}  # one dead letter: yellow
    synced = {r["metric"]["table"]: float(r["value"][1]) for r in found["integration_rows_synced_total"]
              if r["metric"]["connector"] == "servicenow"}
    assert synced["incidents"] == 100
    dead = {r["metric"]["connector"]: float(r["value"][1]) for r in found["integration_dead_letters"]}
    assert dead["servicenow"] == 1
    assert float(found["jira_sync_backlog"][0]["value"][1]) == 0


def _wait_for_series(api: str, names: list[str], deadline: float) -> dict[str, list]:
    found: dict[str, list] = {}
    while time.monotonic() < deadline:
        for name in names:
            if found.get(name):
                continue
            try:
                r = requests.get(f"{api}/api/v1/query", params={"query": name}, timeout=5)
                found[name] = r.json()["data"]["result"] if r.ok else []
            except requests.RequestException:
                found[name] = []
        if all(found.get(n) for n in names):
            break
        time.sleep(1)
    return found


def _dead_letter(settings) -> None:
    from assets.reverse_sync.engine import ensure_tables
    from resources.warehouse import WarehouseResource

    with WarehouseResource.from_env().connect() as conn:
        ensure_tables(conn)
        conn.execute("insert into reverse_sync.dead_letters values ('servicenow', 'r-1', 'upsert', '{}', "
                     "'servicenow answered 500', 5, now(), now())")


def _reverse_sync_run(instance) -> None:
    from dagster import AssetKey, AssetMaterialization, MetadataValue

    instance.report_runless_asset_event(AssetMaterialization(
        AssetKey(["reverse_sync", "servicenow_remediation_tasks"]), metadata={"dead_lettered": MetadataValue.int(1)}))
