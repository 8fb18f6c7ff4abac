"""Round 21: every metric an alert rule in webhooks/operations/alert_rules.yml reads is declared on a real
receiver's /metrics (served by uvicorn with the receiver's own connection-limited protocol), or listed in
``ELSEWHERE`` with where it comes from. A rule over a metric nobody exports never fires, and promtool
cannot tell (``check rules`` passes, unit tests feed the series themselves)."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime

import requests
import yaml
from dagster import instance_for_test

from resources.environment import ENVIRONMENTS
from tests.conftest import require_tool
from tests.ops_helpers import record_sync, serve
from tests.test_ops_round21_alerts import RULES

# Metrics rules may read that the receiver does not serve, each with where it comes from (none today).
ELSEWHERE: dict[str, str] = {}
PROMQL_WORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan", "by", "without", "on", "ignoring",
                "group_left", "group_right"}


def rule_metrics(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: strings, label matchers, ranges and grouping clauses
    removed, then every identifier that is not a function call or a keyword."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|`[^`]*`|\'(?:[^\'\\]|\\.)*\'', "", expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = re.findall(r"(?<![\w:.])([A-Za-z_:][\w:]*)\b(?!\s*\()", text)
    return {n for n in names if n.lower() not in PROMQL_WORDS}


def exported(body: str) -> set[str]:
    """Series names /metrics declares: each ``# TYPE`` (with a histogram's _bucket/_count/_sum) and sample."""
    out: set[str] = set()
    for line in body.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(maxsplit=3)
            out.add(name)
            if kind == "histogram":
                out |= {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
        elif line and not line.startswith("#"):
            out.add(re.match(r"[A-Za-z_:][\w:]*", line).group(0))
    return out


def _alert_exprs() -> dict[str, str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {r.get("alert") or r["record"]: r["expr"] for g in groups for r in g["rules"]}


def test_the_expression_reader_finds_metrics_not_functions_or_labels():
    assert rule_metrics('histogram_quantile(0.95, sum by (le, connector) (rate(sync_latency_seconds_bucket[1h])))'
                        ' > 600') == {"sync_latency_seconds_bucket"}
    assert rule_metrics('sync_lag_seconds > 2 * sync_interval_seconds') == {"sync_lag_seconds",
                                                                              "sync_interval_seconds"}
    assert rule_metrics('sum by (instance, cause) (increase(webhook_connections_refused_total'
                        '{cause=~"stalled_reader|pipelined"}[30m])) > 5') == {"webhook_connections_refused_total"}
    assert rule_metrics('max by (connector) (sync_lag_seconds{connector="onetrust"}) > 86400 and on (connector) '
                        'integration_enabled == 1') == {"sync_lag_seconds", "integration_enabled"}


def test_the_whole_rules_file_passes_promtool_check():
    promtool = require_tool("promtool", "prometheus")
    out = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {len(_alert_exprs())} rules found" in out.stdout, out.stdout


def _receiver(app):
    """The app as ``python -m webhooks`` serves it: uvicorn with the receiver's server_options()."""
    from webhooks.receiver.server import server_options

    return serve(app, **server_options())


def test_every_metric_an_alert_reads_is_on_a_real_receivers_metrics(duckdb_warehouse, monkeypatch):
    from webhooks.app import create_app
    from webhooks.operations.state import HealthReader

    monkeypatch.setenv("PROJECTX_ENV", "local")
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    env = ENVIRONMENTS["local"]
    with instance_for_test() as instance:
        record_sync(instance, env, "servicenow", datetime.now(UTC), duration=30.0, rows=10, quarantined=0)
        reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=env)
        with _receiver(create_app(operations=reader)) as url:
            answer = requests.get(f"{url}/metrics", timeout=30)
    assert answer.status_code == 200, answer.text[:500]
    served = exported(answer.text)
    wanted = {name: rule for rule, expr in _alert_exprs().items() for name in rule_metrics(expr)}
    assert "webhook_connections_refused_total" in wanted, "the round-21 rules are read"
    missing = {name: rule for name, rule in wanted.items() if name not in served and name not in ELSEWHERE}
    assert not missing, f"alert rules read metrics /metrics does not serve: {missing}"
    stale = set(ELSEWHERE) - set(wanted)
    assert not stale, f"ELSEWHERE lists metrics no rule reads: {stale}"
