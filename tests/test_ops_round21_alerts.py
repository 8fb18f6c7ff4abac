"""Round 21: alert rules on the receiver's connection limits (``webhook_connections_refused_total{cause}``),
unit-tested with the real ``promtool test rules``: each fires on a sustained refusal rate of its causes and
stays quiet on a short burst, a trickle, or the other causes; the runbook text names the settings to change."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from tests.conftest import require_tool

RULES = Path(__file__).resolve().parents[1] / "webhooks" / "operations" / "alert_rules.yml"
PER_ADDRESS, FULL = "WebhookConnectionsRefusedPerAddress", "WebhookConnectionsRefusedServerFull"
MISBEHAVING = "WebhookConnectionsClosedMisbehavingClients"
INSTANCE = "10.0.0.5:8000"


def _rules() -> dict[str, dict]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {r["alert"]: r for g in groups for r in g["rules"] if "alert" in r}


def _series(cause: str, values: str, instance: str = INSTANCE) -> dict:
    return {"series": f'webhook_connections_refused_total{{cause="{cause}",instance="{instance}",job="projectx"}}',
            "values": values}


def _promtool_test(tmp_path: Path, series: list[dict], checks: list[dict]) -> None:
    promtool = require_tool("promtool", "prometheus")
    test = {"rule_files": [str(RULES)], "evaluation_interval": "1m",
            "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": checks}]}
    path = tmp_path / "connection_alerts_test.yml"
    path.write_text(json.dumps(test))  # JSON is YAML
    out = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def _fired(name: str, summary: str, **labels: str) -> dict:
    description = _rules()[name]["annotations"]["description"]
    return {"exp_labels": {"severity": _rules()[name]["labels"]["severity"], **labels},
            "exp_annotations": {"summary": summary, "description": description}}


def test_the_runbooks_name_what_to_check_and_the_setting_to_change():
    rules = _rules()
    per_address, full = rules[PER_ADDRESS]["annotations"], rules[FULL]["annotations"]["description"]
    assert "PROJECTX_WEBHOOK_MAX_CONNECTIONS_PER_ADDRESS" in per_address["description"]
    assert "PROJECTX_WEBHOOK_TRUSTED_PROXIES" in per_address["description"]
    assert "PROJECTX_WEBHOOK_MAX_CONNECTIONS " in full and "PROJECTX_WEBHOOK_TRUSTED_PROXIES" in full
    assert "open-file limit" in full, "the cap is lowered to ulimit -n: the runbook says where to look"
    assert rules[MISBEHAVING]["labels"]["severity"] == "info"
    assert {rules[n]["labels"]["severity"] for n in (PER_ADDRESS, FULL)} == {"warning"}


def test_sustained_per_address_refusals_fire_and_nothing_else(tmp_path):
    # 30 refusals a minute for 20 minutes from over-cap addresses: 0.5 per second
    series = [_series("address", "0+30x25"), _series("total", "0x25"), _series("evicted", "0+30x25")]
    per_address = _fired(PER_ADDRESS, f"The webhook receiver {INSTANCE} refuses 0.50 connections per second from "
                                      "addresses over their connection cap (429)", instance=INSTANCE)
    _promtool_test(tmp_path, series, [
        {"eval_time": "8m", "alertname": PER_ADDRESS, "exp_alerts": []},  # pending: not yet held for 10 minutes
        {"eval_time": "20m", "alertname": PER_ADDRESS, "exp_alerts": [per_address]},
        {"eval_time": "20m", "alertname": FULL, "exp_alerts": []},
        {"eval_time": "20m", "alertname": MISBEHAVING, "exp_alerts": []},  # evictions are the budget working
    ])


def test_a_full_server_fires_its_own_alert(tmp_path):
    series = [_series("total", "0+60x25"), _series("address", "0x25")]
    full = _fired(FULL, f"The webhook receiver {INSTANCE} is full: 1.00 connections per second answered 503",
                  instance=INSTANCE)
    _promtool_test(tmp_path, series, [
        {"eval_time": "20m", "alertname": FULL, "exp_alerts": [full]},
        {"eval_time": "20m", "alertname": PER_ADDRESS, "exp_alerts": []},
    ])


def test_a_burst_or_a_trickle_of_refusals_does_not_fire(tmp_path):
    # one instance: 500 refused in the first two minutes (a vendor's pool opening at once), then none;
    # another: 3 a minute all along (0.05 per second, under the 0.1 threshold)
    burst, trickle = "10.0.0.5:8000", "10.0.0.6:8000"
    series = [_series("address", "0 250 500 500x25", burst), _series("total", "0 250 500 500x25", burst),
              _series("address", "0+3x28", trickle), _series("total", "0+3x28", trickle)]
    quiet = [{"eval_time": t, "alertname": name, "exp_alerts": []}
             for t in ("5m", "12m", "25m") for name in (PER_ADDRESS, FULL)]
    _promtool_test(tmp_path, series, quiet)


def test_stalled_readers_and_pipelining_are_info_per_cause(tmp_path):
    series = [_series("stalled_reader", "0+1x40"), _series("pipelined", "0 3 3x40"),  # 30 vs 3 in 30 minutes
              _series("evicted", "0+50x40")]
    info = _fired(MISBEHAVING, f"The webhook receiver {INSTANCE} closed 30 connections in 30 minutes as "
                               "stalled_reader", instance=INSTANCE, cause="stalled_reader")
    _promtool_test(tmp_path, series, [
        {"eval_time": "35m", "alertname": MISBEHAVING, "exp_alerts": [info]},
        {"eval_time": "35m", "alertname": PER_ADDRESS, "exp_alerts": []},
    ])
