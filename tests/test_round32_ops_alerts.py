"""Round 32: `promtool test rules` cases for the shipped alerts no test exercised yet
(tests/test_round32_ops_alerts.py): IntegrationStatusYellow, SyncLatencyHigh, WebhookSenderRateLimited and
jira_sync_backlog, each at its edge and with its runbook label."""

from __future__ import annotations

from tests.test_ops_round21_alerts import _promtool_test


def _checks(*checks: tuple[str, str, list[dict]]) -> list[dict]:
    return [{"eval_time": t, "alertname": name, "exp_alerts": alerts} for t, name, alerts in checks]


def test_yellow_for_30_minutes_warns_and_red_or_a_blip_does_not(tmp_path):
    series = [{"series": 'integration_status{connector="jira"}', "values": "1x45"},
              {"series": 'integration_status{connector="servicenow"}', "values": "2x45"},  # red: its own alert
              {"series": 'integration_status{connector="onetrust"}', "values": "1x20 0 1x24"}]  # a green scrape
    yellow = {"exp_labels": {"severity": "warning", "connector": "jira", "runbook": "RB-003"},
              "exp_annotations": {"summary": "jira has been yellow for 30 minutes"}}
    _promtool_test(tmp_path, series, _checks(("29m", "IntegrationStatusYellow", []),
                                             ("31m", "IntegrationStatusYellow", [yellow]),
                                             ("44m", "IntegrationStatusYellow", [yellow])))


def _latency(connector: str, table: str, slow: bool) -> list[dict]:
    """One sync every 15 minutes for 2 h, each of 900 s (slow) or 20 s, as cumulative bucket series."""
    buckets = ("1", "5", "15", "30", "60", "120", "300", "600", "1200", "1800", "3600", "+Inf")
    limit = 900 if slow else 20
    rows = []
    for le in buckets:
        counts = "0+1x120" if le == "+Inf" or float(le) >= limit else "0x120"
        rows.append({"series": f'sync_latency_seconds_bucket{{connector="{connector}",table="{table}",le="{le}"}}',
                     "values": counts})
    return rows


def test_slow_syncs_for_30_minutes_warn_per_connector(tmp_path):
    series = _latency("servicenow", "incident", slow=True) + _latency("jira", "issues", slow=False)
    slow = {"exp_labels": {"severity": "warning", "connector": "servicenow", "runbook": "RB-002"},
            "exp_annotations": {"summary": "95% of servicenow syncs take over 10 minutes"}}
    _promtool_test(tmp_path, series, _checks(("20m", "SyncLatencyHigh", []),
                                             ("40m", "SyncLatencyHigh", [slow])))


def test_a_sender_held_at_its_rate_limit_warns_with_its_endpoints_runbook(tmp_path):
    series = [{"series": 'webhook_rate_limited_total{endpoint="servicenow",limit="deliveries"}', "values": "0+3x40"},
              {"series": 'webhook_rate_limited_total{endpoint="jira",limit="deliveries"}', "values": "0x40"},
              {"series": 'webhook_rate_limited_total{endpoint="generic",limit="connections"}', "values": "0+3x40"},
              {"series": 'webhook_rate_limited_total{endpoint="jira",limit="bytes"}', "values": "0+3x40"}]
    limited = {"exp_labels": {"severity": "warning", "endpoint": "servicenow", "limit": "deliveries",
                              "runbook": "RB-002"},
               "exp_annotations": {"summary": "Verified deliveries to servicenow are answered 429 (over "
                                              "PROJECTX_WEBHOOK_RATE_PER_SECOND / _BURST): the vendor retries, but "
                                              "raise the limit if this is its normal peak"}}
    # round 35: over the sender's byte budget, the same alert names the byte settings
    by_bytes = {"exp_labels": {"severity": "warning", "endpoint": "jira", "limit": "bytes", "runbook": "RB-003"},
                "exp_annotations": {"summary": "Verified deliveries to jira are answered 429 (over "
                                               "PROJECTX_WEBHOOK_BYTES_PER_SECOND / _BURST): the vendor retries, but "
                                               "raise the limit if this is its normal peak"}}
    _promtool_test(tmp_path, series, _checks(("5m", "WebhookSenderRateLimited", []),
                                             ("15m", "WebhookSenderRateLimited", [limited, by_bytes])))


def test_jira_backlog_over_100_for_10_minutes_warns(tmp_path):
    series = [{"series": "jira_sync_backlog", "values": "101x20"}]
    backlog = {"exp_labels": {"severity": "warning", "runbook": "RB-003"},
               "exp_annotations": {"summary": "Jira sync backlog is 101 (webhook deliveries waiting plus "
                                              "dead-lettered writes)"}}
    _promtool_test(tmp_path, series, _checks(("9m", "jira_sync_backlog", []),
                                             ("11m", "jira_sync_backlog", [backlog])))
    _promtool_test(tmp_path, [{"series": "jira_sync_backlog", "values": "100x20"}],
                   _checks(("15m", "jira_sync_backlog", [])))
