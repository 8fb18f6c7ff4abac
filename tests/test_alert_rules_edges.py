"""The shipped alert rules at their edges, with the real ``promtool test rules``: the lag alerts fire from exactly
2x a table's interval (the health check's red; spec 6.1 wants the last sync < 2x) and never for a connector whose
feature flag is off (it is "disabled, not red": before, OneTrust switched off paged on-call every day); a secret
expiring in exactly 30 days warns, as the health check does; a health input that cannot be read (Dagster storage
down: every connector reads unknown, which integration_status shows as 0) alerts after 15 minutes."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.test_ops_round21_alerts import _promtool_test

RULES = Path(__file__).resolve().parents[1] / "webhooks" / "operations" / "alert_rules.yml"


def _lag(connector: str, table: str, lag: str, interval: str, enabled: int) -> list[dict]:
    return [{"series": f'sync_lag_seconds{{connector="{connector}",table="{table}"}}', "values": lag},
            {"series": f'sync_interval_seconds{{connector="{connector}",table="{table}"}}', "values": interval},
            {"series": f'integration_enabled{{connector="{connector}"}}', "values": f"{enabled}x10"}]


def _description(name: str) -> dict[str, str]:
    rules = {r["alert"]: r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if "alert" in r}
    text = rules[name]["annotations"].get("description")
    return {"description": text} if text else {}


def _alert_names(checks: list[tuple[str, str, list[dict]]]) -> list[dict]:
    return [{"eval_time": t, "alertname": name, "exp_alerts": alerts} for t, name, alerts in checks]


def test_lag_fires_from_exactly_twice_the_interval_for_enabled_connectors_only(tmp_path):
    series = (_lag("servicenow", "incident", "1800x10", "900x10", 1)  # exactly 2x: red on the page
              + _lag("jira", "issues", "1799x10", "900x10", 1)  # a second under: yellow, no alert
              + _lag("onetrust", "vendors", "200000x10", "21600x10", 0))  # switched off on purpose
    fired = {"exp_labels": {"severity": "warning", "connector": "servicenow", "table": "incident",
                            "runbook": "RB-002"},
             "exp_annotations": {"summary": "servicenow/incident last synced 30m 0s ago, more than twice its "
                                            "interval (spec 6.1)"}}
    _promtool_test(tmp_path, series, _alert_names([("5m", "SyncLagOverTwiceInterval", [fired]),
                                                   ("5m", "OneTrustNoSuccessfulSync24h", [])]))


def test_onetrust_24h_pages_while_it_is_enabled(tmp_path):
    series = _lag("onetrust", "vendors", "86401x10", "21600x10", 1)
    page = {"exp_labels": {"severity": "page", "runbook": "RB-004", "connector": "onetrust"},
            "exp_annotations": {"summary": "OneTrust has had no successful sync in 24 hours (spec 2.3): status red"}}
    _promtool_test(tmp_path, series, _alert_names([("2m", "OneTrustNoSuccessfulSync24h", [page])]))


def test_a_secret_expiring_in_exactly_30_days_warns(tmp_path):
    series = [{"series": 'secret_expiry_seconds{connector="jira"}', "values": f"{30 * 86400}x5"},
              {"series": 'secret_expiry_seconds{connector="slack"}', "values": f"{30 * 86400 + 1}x5"}]
    warned = {"exp_labels": {"severity": "warning", "connector": "jira", "runbook": "RB-003"},
              "exp_annotations": {"summary": "A jira secret expires in 30d 0h 0m 0s: rotate it in Vault"}}
    _promtool_test(tmp_path, series, _alert_names([("1m", "SecretExpiresWithin30Days", [warned])]))


def test_a_health_input_down_for_15_minutes_alerts(tmp_path):
    series = [{"series": 'integration_health_input_up{input="dagster"}', "values": "0x30"},
              {"series": 'integration_health_input_up{input="warehouse"}', "values": "1x30"},
              {"series": 'integration_health_input_up{input="inbox"}', "values": "0x5 1x25"}]  # a blip
    down = {"exp_labels": {"severity": "warning", "input": "dagster"},
            "exp_annotations": {"summary": "The health page cannot read dagster: its connectors show unknown, and the "
                                           "alerts that read it are blind",
                                **_description("IntegrationHealthInputDown")}}
    _promtool_test(tmp_path, series, _alert_names([("10m", "IntegrationHealthInputDown", []),
                                                   ("20m", "IntegrationHealthInputDown", [down])]))
