"""Round 31: spec 3.3 "each connector references runbook IDs (see Section 6) surfaced in alerts". Before, of the
Prometheus alerts only OneTrust's 24-hour one and ``jira_sync_backlog`` carried a runbook: a red ServiceNow, a
lagging Jira table or a dead-lettered Slack action reached Alertmanager without one. Every alert about one
connector (or one webhook endpoint) now carries the label ``runbook``, the same id as the health checks'
alerts (``assets.health.measure.RUNBOOKS``), checked with the real ``promtool test rules``; the health page
and its JSON show each connector's runbook too."""

from __future__ import annotations

from assets.health.measure import RUNBOOKS
from tests.test_alert_rules_edges import _alert_names
from tests.test_ops_round21_alerts import _promtool_test, _rules

# The notification outbox delivers through Slack: its backlog is Slack's runbook, as assets.notifications.alerts
CONNECTOR_RUNBOOKS = {**RUNBOOKS, "notifications": "RB-005"}
ENDPOINT_RUNBOOKS = {"servicenow": "RB-002", "jira": "RB-003", "slack_events": "RB-005",
                     "slack_interactions": "RB-005", "generic": None}
# Alerts about no one connector: the health page's inputs, the whole scrape, the receiver's connections
NO_CONNECTOR = {"IntegrationHealthInputDown", "IntegrationHealthMetricsAbsent", "WebhookConnectionsRefusedPerAddress",
                "WebhookConnectionsRefusedServerFull", "WebhookConnectionsClosedMisbehavingClients"}


def _labels(rule: str, runbook: str | None, **labels: str) -> dict:
    severity = _rules()[rule]["labels"]["severity"]
    return {"severity": severity, **labels, **({"runbook": runbook} if runbook else {})}


def _got_labels(tmp_path, series: list[dict], rule: str, at: str, expected: list[dict]) -> None:
    """promtool compares labels and annotations exactly: the annotations expected are the rule's, rendered."""
    alerts = [{"exp_labels": labels, "exp_annotations": _render(dict(_rules()[rule]["annotations"]), labels, series)}
              for labels in expected]
    _promtool_test(tmp_path, series, _alert_names([(at, rule, alerts)]))


def _render(annotations: dict[str, str], labels: dict[str, str], series: list[dict]) -> dict[str, str]:
    """The few templates these rules use, for the series given (one value repeated)."""
    out = {}
    for key, text in annotations.items():
        for name, value in labels.items():
            text = text.replace(f"{{{{ $labels.{name} }}}}", value)
        if "{{ $value }}" in text:
            match = next(s for s in series if all(f'{k}="{v}"' in s["series"] for k, v in labels.items()
                                                   if k in ("connector", "endpoint", "queue")))
            text = text.replace("{{ $value }}", match["values"].split("x")[0])
        out[key] = text
    return out


def test_every_alert_about_one_connector_names_a_runbook():
    rules = _rules()
    missing = [name for name, rule in rules.items()
               if name not in NO_CONNECTOR and "runbook" not in rule.get("labels", {})]
    assert not missing, f"alerts without a runbook label: {missing}"


def test_a_backlog_alert_carries_its_connectors_runbook(tmp_path):
    """NotificationBacklog over 100 for 10 minutes, for each connector and the receiver's queues of no vendor:
    the runbook is the connector's (none for the partners, who have no runbook in the spec: no label)."""
    owners = [*CONNECTOR_RUNBOOKS, "partners"]
    series = [{"series": f'integration_backlog{{connector="{c}",queue="webhooks"}}', "values": "150x20"}
              for c in owners]
    expected = [_labels("NotificationBacklog", CONNECTOR_RUNBOOKS.get(c), connector=c, queue="webhooks")
                for c in owners]
    _got_labels(tmp_path, series, "NotificationBacklog", "15m", expected)


def test_a_red_connector_pages_with_its_runbook(tmp_path):
    vendors = ("servicenow", "jira", "onetrust")
    series = [{"series": f'integration_status{{connector="{c}"}}', "values": "2x10"} for c in vendors]
    expected = [_labels("IntegrationStatusRed", RUNBOOKS[c], connector=c) for c in vendors]
    _got_labels(tmp_path, series, "IntegrationStatusRed", "8m", expected)


def test_dead_letters_waiting_an_hour_carry_the_runbook(tmp_path):
    series = [{"series": f'integration_dead_letters{{connector="{c}"}}', "values": "3x80"}
              for c in ("jira", "slack")]
    expected = [_labels("DeadLettersWaiting", CONNECTOR_RUNBOOKS[c], connector=c) for c in ("jira", "slack")]
    _got_labels(tmp_path, series, "DeadLettersWaiting", "65m", expected)


def test_webhook_failures_carry_the_runbook_of_their_endpoint(tmp_path):
    """By endpoint: Slack's two endpoints are Slack's runbook; the partners' generic endpoint has none."""
    series = [{"series": f'webhook_failures_total{{endpoint="{e}",reason="contract"}}', "values": "0+120x30"}
              for e in ENDPOINT_RUNBOOKS]
    checks = [{"eval_time": "25m", "alertname": "WebhookFailures", "exp_alerts": [
        {"exp_labels": _labels("WebhookFailures", rb, endpoint=e),
         "exp_annotations": {"summary": f"Webhook deliveries to {e} are failing at 2 per second"}}
        for e, rb in ENDPOINT_RUNBOOKS.items()]}]
    _promtool_test(tmp_path, series, checks)


def test_the_page_and_its_json_name_each_connectors_runbook(monkeypatch, duckdb_warehouse):
    from starlette.testclient import TestClient

    from resources.environment import ENVIRONMENTS
    from tests.ops_helpers import synced_local_instance
    from webhooks.app import create_app
    from webhooks.operations.state import HealthReader

    with synced_local_instance(monkeypatch) as instance:
        reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=ENVIRONMENTS["local"])
        with TestClient(create_app(operations=reader)) as client:
            page = client.get("/integration-health").text
            body = client.get("/integration-health.json").json()
    for connector in ("servicenow", "jira", "onetrust"):
        assert body["connectors"][connector]["runbook"] == RUNBOOKS[connector]
        row = page.split(f'data-connector="{connector}"', 1)[1].split("</tr>", 1)[0]
        assert f'data-runbook="{RUNBOOKS[connector]}"' in row
