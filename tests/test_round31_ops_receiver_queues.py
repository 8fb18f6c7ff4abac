"""Round 31: the receiver's inbox holds Slack's events and interactions (the approve/deny buttons) and the
partners' generic webhooks beside the vendors' deliveries, and they wait, retry and dead-letter the same way.
Before, the health page and ``/metrics`` counted only the three vendors' rows: a Slack approval dead-lettered
after 10 attempts, or 500 partner deliveries waiting, showed nowhere, and neither ``NotificationBacklog``
(backlog > 100, spec 6.1) nor ``DeadLettersWaiting`` could fire. They are now
``integration_backlog{connector="slack"|"partners",queue="webhooks"}`` and ``integration_dead_letters``, graded
as a vendor's (red above 100 waiting, yellow from 1 dead letter, red from 10) on the page and in its JSON. The
source names stored in the inbox never become label values: only the fixed owners are exported."""

from __future__ import annotations

import re
import time

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from resources.environment import ENVIRONMENTS
from tests.test_health_attacks import HOSTILE, PAGES, _get_all, _input_up, _markup, _promtool_ok
from webhooks.operations import operations_routes
from webhooks.operations.state import HealthReader

LOCAL = ENVIRONMENTS["local"]


@pytest.fixture
def instance(duckdb_warehouse, monkeypatch):
    from tests.ops_helpers import synced_local_instance

    with synced_local_instance(monkeypatch) as inst:
        yield inst


def _inbox(rows: list[tuple[str, str, str]]) -> None:
    """Store (source, event type, status) rows in the receiver's inbox, each under a new delivery id."""
    from webhooks.inbox import open_database
    from webhooks.settings import WebhookSettings

    db = open_database(WebhookSettings.from_env())
    try:
        for source, event_type, status in rows:
            db.execute("insert into webhook_events (source, delivery_id, event_type, received_at, body, status) "
                       "values (?, ?, ?, ?, ?, ?)", (source, f"d-{time.monotonic_ns()}", event_type, time.time(),
                                                      "{}", status))
        db.commit()
    finally:
        db.close()


def _series(text: str, name: str) -> dict[str, float]:
    """``name``'s samples by their connector label."""
    return {m[1]: float(m[2]) for m in re.finditer(rf'^{name}{{connector="([^"]*)"[^}}]*}} (\S+)$', text, re.M)}


def test_slack_and_partner_deliveries_waiting_and_dead_show_and_are_exported(instance, duckdb_warehouse):
    _inbox([("slack", "interaction:block_actions", "pending")] * 120 + [("slack", "interaction:block_actions",
                                                                          "dead")] * 3
           + [("generic", "generic.event", "dead")] * 2 + [("generic", "generic.event", "retry")] * 4
           + [(HOSTILE, HOSTILE, "pending")] * 300)  # a source no endpoint writes: never a label
    from resources.warehouse import WarehouseResource

    with WarehouseResource.from_env().connect():  # a warehouse (empty): every input of the page can be read
        pass
    got = _get_all(HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL))
    metrics = got["/metrics"].text
    _promtool_ok(got["/metrics"].content)
    backlog, dead = _series(metrics, "integration_backlog"), _series(metrics, "integration_dead_letters")
    assert backlog["slack"] == 120 and backlog["partners"] == 4 and backlog["jira"] == 0
    assert dead["slack"] == 3 and dead["partners"] == 2 and dead.get("jira", 0) == 0
    assert "onerror=" not in metrics and "alert(" not in metrics
    assert set(backlog) <= {"servicenow", "jira", "onetrust", "slack", "partners", "notifications"}
    body = got["/integration-health.json"].json()
    slack = body["receiver_queues"]["slack"]
    assert slack["webhook_backlog"]["light"] == "red" and slack["webhook_backlog"]["value"] == 120
    assert slack["dead_letters"]["light"] == "yellow" and slack["dead_letters"]["value"] == 3
    assert body["receiver_queues"]["partners"]["dead_letters"]["value"] == 2
    assert body["status"] == "ok", body["problems"]  # every input read: the lights say what is wrong
    html = got["/integration-health"].text
    assert re.search(r'data-owner="slack" data-check="webhook_backlog" data-light="red"[^>]*>.*?120</span>', html)
    assert 'data-owner="partners" data-check="dead_letters" data-light="yellow"' in html
    tags, attrs = _markup(html)
    assert "script" not in tags and "img" not in tags and not {a for a in attrs if a.startswith("on")}
    assert "onerror" not in html


def test_a_growing_dead_letter_count_turns_red_and_grows_on_metrics(instance, duckdb_warehouse):
    """One Slack approval dead: yellow; ten: red, and the gauge follows each read (it is not a cached copy)."""
    reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL)
    with TestClient(Starlette(routes=operations_routes(reader))) as client:
        _inbox([("slack", "interaction:block_actions", "dead")])
        first = _series(client.get("/metrics").text, "integration_dead_letters")["slack"]
        light = client.get("/integration-health.json").json()["receiver_queues"]["slack"]["dead_letters"]["light"]
        assert (first, light) == (1, "yellow")
        _inbox([("slack", "interaction:block_actions", "dead")] * 9)
        second = _series(client.get("/metrics").text, "integration_dead_letters")["slack"]
        light = client.get("/integration-health.json").json()["receiver_queues"]["slack"]["dead_letters"]["light"]
        assert (second, light) == (10, "red")


def test_an_unreadable_inbox_leaves_the_receiver_queues_unknown_not_zero(instance, duckdb_warehouse, monkeypatch,
                                                                           tmp_path):
    """A damaged inbox is not "nothing waiting": the queues read unknown on the page, and no sample is exported
    (a 0 would resolve a firing backlog alert while nobody can see the queue); input_up{inbox} says why."""
    bad = tmp_path / "inbox.sqlite3"
    bad.write_bytes(b"garbage " * 4096)
    monkeypatch.setenv("PROJECTX_WEBHOOK_INBOX", str(bad))
    reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL)
    with TestClient(Starlette(routes=operations_routes(reader)), raise_server_exceptions=False) as client:
        page, body, metrics = (client.get(p) for p in PAGES)
    queues = body.json()["receiver_queues"]
    assert {f["light"] for q in queues.values() for f in q.values()} == {"unknown"}
    assert "PROJECTX_WEBHOOK_INBOX" in queues["slack"]["webhook_backlog"]["message"]
    assert "slack" not in _series(metrics.text, "integration_backlog")
    assert "slack" not in _series(metrics.text, "integration_dead_letters")
    assert _input_up(metrics.text)["inbox"] == 0 and str(bad) not in page.text


def test_the_health_run_grades_them_and_a_red_slack_queue_raises_one_alert_with_its_runbook(instance,
                                                                                           duckdb_warehouse):
    """The Dagster checks too: ``slack_dead_letters`` is an ERROR at 10 dead approvals and raises one alert in
    ``ops.health_alerts`` (posted to the environment's channel as ``slack_sync_anomaly``) with runbook RB-005;
    a second run in the same red streak raises none."""
    from dagster import AssetCheckSeverity, materialize

    from assets.health.checks import integration_health
    from resources.warehouse import WarehouseResource

    _inbox([("slack", "interaction:block_actions", "dead")] * 10 + [("generic", "generic.event", "pending")] * 60)
    for _ in range(2):
        result = materialize([integration_health], instance=instance,
                             resources={"warehouse": WarehouseResource.from_env()})
        assert result.success
    checks = {e.event_specific_data.asset_check_key.name: e.event_specific_data for e in result.all_events
              if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    dead = checks["slack_dead_letters"]
    assert not dead.passed and dead.severity == AssetCheckSeverity.ERROR and dead.metadata["value"].value == 10
    assert checks["slack_webhook_backlog"].passed and checks["partners_dead_letters"].passed
    backlog = checks["partners_webhook_backlog"]
    assert not backlog.passed and backlog.severity == AssetCheckSeverity.WARN  # 60 waiting: yellow past 50
    with WarehouseResource.from_env().connect() as conn:
        alerts = conn.query("select connector, check_name, runbook from ops.health_alerts "
                            "where connector in ('slack', 'partners')")
    assert [(a["connector"], a["check_name"], a["runbook"]) for a in alerts] == [("slack", "dead_letters", "RB-005")]
