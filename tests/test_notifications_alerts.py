"""Alert routing through the outbox: a connector turning red and unhealed reconciliation drift each
reach the environment's Slack channel (the Slack sandbox) once, with the runbook id; an unchanged
re-check sends nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from dagster import instance_for_test, materialize

from assets.health.checks import integration_health
from assets.notifications.alerts import ops_alerts, outbox_row, routes
from assets.reconciliation.findings import Finding, record
from resources.environment import ENVIRONMENTS
from resources.notifications import NotificationsResource
from resources.warehouse import WarehouseResource
from tests.notify_helpers import delivery_env
from tests.ops_helpers import record_sync

STG = ENVIRONMENTS["stg"]  # servicenow and jira every 5 min, onetrust 12 h; channel #stg-integrations


@pytest.fixture
def instance(duckdb_warehouse, monkeypatch, make_slack_sandbox, make_smtp_sandbox):
    slack = make_slack_sandbox()
    delivery_env(monkeypatch, slack, make_smtp_sandbox(username="mailer", password="pw", starttls=True))
    monkeypatch.setenv("PROJECTX_ENV", "stg")
    monkeypatch.setattr("resources.secrets._strict_default", lambda: False)  # sandbox secrets from the env
    with instance_for_test() as inst:
        yield inst, slack


def _run(inst, *assets):
    resources = {"warehouse": WarehouseResource.from_env(),
                 "notifications": NotificationsResource(vault_prefix=STG.vault_prefix)}
    result = materialize(list(assets), instance=inst, resources=resources)
    assert result.success
    return result


def test_a_connector_going_red_posts_once_with_its_runbook(instance):
    inst, slack = instance
    now = datetime.now(UTC)
    record_sync(inst, STG, "servicenow", now - timedelta(minutes=40))  # > 2 x 5 min: red
    record_sync(inst, STG, "jira", now - timedelta(minutes=1))
    record_sync(inst, STG, "onetrust", now - timedelta(minutes=1))
    _run(inst, integration_health, ops_alerts)
    posted = slack.messages("stg-integrations")
    assert len(posted) == 1
    text = posted[0]["text"] + str(posted[0]["blocks"])
    assert "servicenow sync_lag is red" in text and "RB-002" in text
    _run(inst, integration_health, ops_alerts)  # an hour later, still red: the streak alerted already
    _run(inst, ops_alerts)  # a retried delivery run: the ledger has it
    assert len(slack.messages("stg-integrations")) == 1
    with WarehouseResource.from_env().connect() as conn:
        (alert,) = conn.query("select alert_key, status from ops.health_alerts")
        (row,) = conn.query("select * from notifications.ops_alert_outbox")
        status = conn.scalar("select status from notifications.delivery_ledger where notification_key = %s",
                             (row["notification_key"],))
    assert alert["status"] == "queued" and status == "sent"
    assert row["notification_key"] == f"health_alert:{alert['alert_key']}@slack_channel:#stg-integrations"
    assert (row["event_type"], row["severity"], row["runbook_id"]) == ("servicenow_sync_anomaly", "critical", "RB-002")


def test_unhealed_drift_posts_once_per_vendor_and_day(instance):
    inst, slack = instance
    with WarehouseResource.from_env().connect() as conn:
        record(conn, "night-1", [Finding("jira", "issues", "deleted_at_vendor", 3, 1, ["10001", "10002"]),
                                 Finding("jira", "sprints", "missing_in_warehouse", 2, 2, []),  # healed: no alert
                                 Finding("onetrust", "vendors", "stale_version", 1, 1, [])])
    _run(inst, ops_alerts)
    posted = slack.messages("stg-integrations")
    assert len(posted) == 1
    text = posted[0]["text"] + str(posted[0]["blocks"])
    assert "jira" in text and "RB-003" in text and "issues deleted_at_vendor: 2 unhealed" in text
    assert "sprints" not in text and "onetrust" not in text
    with WarehouseResource.from_env().connect() as conn:  # the same night rerun finds the same drift
        record(conn, "night-1-retry", [Finding("jira", "issues", "deleted_at_vendor", 3, 1, ["10001", "10002"])])
    _run(inst, ops_alerts)
    assert len(slack.messages("stg-integrations")) == 1


def test_routing_follows_the_seed_per_environment():
    event = {"event_key": "health_alert:k", "event_type": "servicenow_sync_anomaly", "severity": "critical"}
    prod = outbox_row(dict(event), routes("prod"), "prod")
    assert (prod["channel_type"], prod["target"]) == ("slack_channel", "#alerts-servicenow")
    assert "pagerduty-primary@projectx.io" in prod["fallback_email"]  # the critical row wins over `*`
    local = outbox_row(dict(event), routes("local"), "local")
    assert (local["channel_type"], local["target"], local["group_key"]) == ("slack_dm", "developer",
                                                                             "servicenow_sync_anomaly")
    backlog = outbox_row({**event, "event_type": "notifications_sync_anomaly"}, routes("prod"), "prod")
    assert backlog["target"] == "#prod-integrations"
    assert outbox_row({**event, "event_type": "nothing_routes_this"}, routes("prod"), "prod") is None


def test_undelivered_alerts_count_in_the_notification_backlog(duckdb_warehouse, monkeypatch):
    """Neither Slack nor SMTP reachable: the alert waits in the ops outbox and the health backlog sees it."""
    from assets.health.inputs import warehouse_figures
    from assets.notifications.alerts import queue_alerts

    monkeypatch.setenv("PROJECTX_ENV", "stg")
    with WarehouseResource.from_env().connect() as conn:
        record(conn, "night-1", [Finding("servicenow", "incidents", "missing_in_warehouse", 4, 0, ["a", "b"])])
        (row,) = queue_alerts(conn, "stg")
        assert row["notification_key"].startswith("reconciliation_drift:servicenow:")
        assert row["runbook_id"] == "RB-002" and row["target"] == "#stg-integrations"
        assert queue_alerts(conn, "stg") == [row]  # queued once, by key
        assert warehouse_figures(conn)["_notifications"]["backlog"] == 1
