"""Round 29: the shipped alert rules at boundaries the earlier rounds did not reach, with the real
``promtool test rules``.

- ServiceNow's client secret lives 30 days (spec 2.1), so ``secret_expiry_seconds{connector="servicenow"}`` is
  never above 30 days: ``SecretExpiresWithin30Days`` (``<= 30d``) fired for ServiceNow all the time, from the
  day after each rotation, while the health check (a quarter / a tenth of a 30-day life) was green. The rule now
  stands down where the check itself grades the secret green.
- A connector whose flag flips off and on: an alert resolves while it is off and its ``for`` starts over when it
  is on again (never carried over from before the pause).
- The service that serves ``/metrics`` down (or its scrape failing): every series the rules read vanished, so
  every integration alert resolved and nothing said why. ``IntegrationHealthMetricsAbsent`` now fires.
"""

from __future__ import annotations

from assets.health.measure import RUNBOOKS
from tests.test_alert_rules_edges import _alert_names, _lag
from tests.test_ops_round21_alerts import _promtool_test, _rules

DAY = 86400


def _secret(connector: str, seconds: str, status: str | None) -> list[dict]:
    series = [{"series": f'secret_expiry_seconds{{connector="{connector}"}}', "values": seconds}]
    if status is not None:
        series.append({"series": f'integration_check_status{{connector="{connector}",check="secret_expiry"}}',
                       "values": status})
    return series


def _warned(connector: str, left: str) -> dict:
    return {"exp_labels": {"severity": "warning", "connector": connector, "runbook": RUNBOOKS[connector]},
            "exp_annotations": {"summary": f"A {connector} secret expires in {left}: rotate it in Vault"}}


def test_servicenows_30_day_client_secret_warns_when_its_check_does_not_all_month(tmp_path):
    """Rotated a day ago (29 days left, green): no warning. In its last quarter (7 days left, yellow): warned.
    Jira's 90-day token at 30 days (yellow) still warns; Slack's (no check series of its own) at 30 days too."""
    series = (_secret("servicenow", f"{29 * DAY}x5 {7 * DAY}x5", "0x5 1x5")
              + _secret("jira", f"{30 * DAY}x10", "1x10")
              + _secret("slack", f"{30 * DAY}x10", None))
    _promtool_test(tmp_path, series, _alert_names([
        ("3m", "SecretExpiresWithin30Days", [_warned("jira", "30d 0h 0m 0s"), _warned("slack", "30d 0h 0m 0s")]),
        ("8m", "SecretExpiresWithin30Days", [_warned("jira", "30d 0h 0m 0s"), _warned("servicenow", "7d 0h 0m 0s"),
                                             _warned("slack", "30d 0h 0m 0s")]),
    ]))


def test_a_green_check_stands_down_an_expiry_alert_only_for_its_own_connector(tmp_path):
    """Another connector's green check does not hide OneTrust's yellow one (the match is on the connector)."""
    series = (_secret("onetrust", f"{10 * DAY}x5", "1x5") + _secret("servicenow", f"{20 * DAY}x5", "0x5"))
    _promtool_test(tmp_path, series, _alert_names([
        ("2m", "SecretExpiresWithin30Days", [_warned("onetrust", "10d 0h 0m 0s")])]))


def _fired_lag(connector: str, table: str, ago: str) -> dict:
    return {"exp_labels": {"severity": "warning", "connector": connector, "table": table,
                           "runbook": RUNBOOKS[connector]},
            "exp_annotations": {"summary": f"{connector}/{table} last synced {ago} ago, more than twice its "
                                           "interval (spec 6.1)"}}


def test_a_connector_switched_off_and_on_again_resolves_then_waits_its_for_again(tmp_path):
    """Jira 3x late throughout; its flag on 0-4m, off 5-9m, on again from 10m. Off: nothing (disabled, not red).
    On again: pending for a minute, as if new, then firing."""
    series = [*_lag("jira", "issues", "2700x20", "900x20", 1)[:2],
              {"series": 'integration_enabled{connector="jira"}', "values": "1x4 0x5 1x10"}]
    fired = _fired_lag("jira", "issues", "45m 0s")
    _promtool_test(tmp_path, series, _alert_names([
        ("3m", "SyncLagOverTwiceInterval", [fired]),
        ("7m", "SyncLagOverTwiceInterval", []),
        ("10m", "SyncLagOverTwiceInterval", []),  # on again: pending, its 1m counted afresh
        ("12m", "SyncLagOverTwiceInterval", [fired]),
    ]))


def test_integration_status_red_restarts_its_5_minutes_after_a_pause(tmp_path):
    """A red connector switched off (status 0, disabled) at 4m and on at 6m, still red: no page at 9m (its
    5 minutes start again at 6m), a page at 11m."""
    series = [{"series": 'integration_status{connector="onetrust"}', "values": "2x3 0x1 2x15"}]
    page = {"exp_labels": {"severity": "page", "connector": "onetrust", "runbook": "RB-004"},
            "exp_annotations": {"summary": "onetrust is red on the Integration Health page",
                                "description": _rules()["IntegrationStatusRed"]["annotations"]["description"]
                                .replace("{{ $labels.connector }}", "onetrust")}}
    _promtool_test(tmp_path, series, _alert_names([("9m", "IntegrationStatusRed", []),
                                                   ("11m", "IntegrationStatusRed", [page])]))


def test_metrics_gone_for_15_minutes_alert_instead_of_resolving_everything(tmp_path):
    """integration_status scraped for 5 minutes, then no more (the service down, the scrape failing): once it has
    been gone 15 minutes (Prometheus still reads a vanished series for 5: gone from 10m, firing from 25m), one
    warning names the fix; while it is scraped, nothing."""
    series = [{"series": 'integration_status{connector="jira",instance="10.0.0.5:8000",job="projectx"}',
               "values": "2x5"}, {"series": 'up{instance="10.0.0.5:8000",job="projectx"}', "values": "1x5 0x40"}]
    rule = _rules()["IntegrationHealthMetricsAbsent"]
    absent = {"exp_labels": {"severity": "warning"},
              "exp_annotations": {"summary": rule["annotations"]["summary"],
                                  "description": rule["annotations"]["description"]}}
    _promtool_test(tmp_path, series, _alert_names([("4m", "IntegrationHealthMetricsAbsent", []),
                                                   ("23m", "IntegrationHealthMetricsAbsent", []),
                                                   ("26m", "IntegrationHealthMetricsAbsent", [absent])]))
