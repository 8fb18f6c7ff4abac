"""Round 31, from outside: a real Prometheus scrapes the service's ``/metrics`` with the shipped rules loaded.
The Slack inbox queue new this round comes back through its HTTP API, the hostile source names stored in the
inbox never become a label value (every ``connector`` value Prometheus knows is one of the fixed owners), and an
alert about one connector reaches Prometheus' alert list with that connector's runbook as a label, rendered by
Prometheus itself (spec 3.3), not only by ``promtool test rules``."""

from __future__ import annotations

import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from assets.health import history, measure
from resources.environment import ENVIRONMENTS
from tests.conftest import require_tool
from tests.ops_helpers import free_port, serve, synced_local_instance
from tests.test_health_attacks import HOSTILE
from tests.test_round31_ops_receiver_queues import _inbox
from webhooks.app import create_app
from webhooks.operations.state import HealthReader

RULES = Path(__file__).resolve().parents[1] / "webhooks" / "operations" / "alert_rules.yml"
OWNERS = {"servicenow", "jira", "onetrust", "slack", "partners", "notifications"}


def _query(api: str, promql: str) -> list[dict]:
    try:
        r = requests.get(f"{api}/api/v1/query", params={"query": promql}, timeout=5)
        return r.json()["data"]["result"] if r.ok else []
    except requests.RequestException:
        return []


def _firing(api: str, name: str) -> list[dict]:
    try:
        r = requests.get(f"{api}/api/v1/alerts", timeout=5)
        alerts = r.json()["data"]["alerts"] if r.ok else []
    except requests.RequestException:
        return []
    return [a for a in alerts if a["labels"].get("alertname") == name and a["state"] == "firing"]


@pytest.mark.slow
def test_prometheus_scrapes_the_receiver_queues_and_fires_with_the_runbook(duckdb_warehouse, monkeypatch, tmp_path):
    prometheus = require_tool("prometheus", "prometheus")
    _inbox([("slack", "interaction:block_actions", "pending")] * 150 + [("slack", "interaction:block_actions",
                                                                          "dead")] * 2
           + [(HOSTILE, "x", "pending")] * 20 + [("slack\"} 1\nevil", "x", "dead")] * 5)
    from resources.warehouse import WarehouseResource

    with WarehouseResource.from_env().connect() as conn:  # the last health run graded Jira's token: 20 days left
        history.record(conn, "local", [measure.Finding("jira", "secret_expiry", "yellow", 20 * 86400.0, 30 * 86400.0,
                                                       "jira secret 'api_token' expires in 20 days")],
                       datetime.now(UTC))
    with synced_local_instance(monkeypatch) as instance:
        reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=ENVIRONMENTS["local"])
        with serve(create_app(operations=reader)) as url:
            config = tmp_path / "prometheus.yml"
            config.write_text("global: {scrape_interval: 2s, scrape_timeout: 2s, evaluation_interval: 2s}\n"
                              f"rule_files: ['{RULES}']\n"
                              "scrape_configs:\n  - job_name: projectx\n"
                              f"    static_configs: [{{targets: ['{url.split('//', 1)[1]}']}}]\n")
            port = free_port()
            api = f"http://127.0.0.1:{port}"
            proc = subprocess.Popen([prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                     f"--web.listen-address=127.0.0.1:{port}"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                deadline = time.monotonic() + 120
                while not (_firing(api, "SecretExpiresWithin30Days") and _query(api, 'integration_backlog'
                                                                                     '{connector="slack"}')):
                    assert time.monotonic() < deadline, "Prometheus never scraped the queues or fired the alert"
                    time.sleep(1)
                alert = _firing(api, "SecretExpiresWithin30Days")
                backlog = _query(api, 'integration_backlog{connector="slack",queue="webhooks"}')
                dead = _query(api, 'integration_dead_letters{connector="slack"}')
                up = _query(api, 'up{job="projectx"}')
                known = requests.get(f"{api}/api/v1/label/connector/values", timeout=5).json()["data"]
            finally:
                proc.terminate()
                proc.wait(timeout=20)
    assert [a["labels"]["runbook"] for a in alert if a["labels"]["connector"] == "jira"] == ["RB-003"]
    assert float(backlog[0]["value"][1]) == 150 and float(dead[0]["value"][1]) == 2
    assert float(up[0]["value"][1]) == 1  # the scrape itself succeeded: the exposition parsed
    assert set(known) <= OWNERS, set(known) - OWNERS
