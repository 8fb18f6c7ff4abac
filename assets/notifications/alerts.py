"""Operational alerts through the notification outbox: red health checks and reconciliation drift.

Sources: ``ops.health_alerts`` (one row per check that turned red, :mod:`assets.health.history`) and
``reconciliation.findings`` with ``unhealed`` > 0 (:mod:`assets.reconciliation.findings`). Each
becomes an outbox row (the columns of ``marts.notification_outbox``) in
``notifications.ops_alert_outbox``, routed by the notification_routing seed as a
``<connector>_sync_anomaly`` (a red check is ``critical``, drift ``high``) to the environment's
channel, with the connector's runbook id, and delivered by the outbox's ``Deliverer`` and ledger.
Kept out of dbt on purpose: a connector whose syncs stopped runs no dbt build, yet must alert.

Idempotency keys (deterministic, so a rerun or a retried run sends nothing twice):

- health: ``health_alert:<alert_key>`` — one notification per transition to red (the alert key is
  the check and the time it turned red); a check that stays red raises nothing more (the history
  raises one alert per red streak), a check that recovers and turns red again notifies again;
- drift: ``reconciliation_drift:<vendor>:<UTC day>`` — at most one per vendor and day, listing its
  unhealed entities; a rerun of the nightly job on the same day adds nothing.
"""


import csv
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from assets.health.measure import RUNBOOKS
from assets.notifications import ledger
from assets.notifications.delivery import Deliverer, DeliveryReport, reinstall_url
from assets.notifications.ledger import SCHEMA
from resources.notifications import NotificationsResource
from resources.warehouse import Connection, WarehouseResource

ROUTING_SEED = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "notification_routing.csv"
COLUMNS = ("notification_key", "event_key", "event_type", "severity", "environment", "channel_type", "target",
           "fallback_email", "group_key", "thread_key", "summary_title", "title", "body", "link_url", "runbook_id",
           "subject_id", "action_kind", "occurred_at")
DDL = (f"create table if not exists {SCHEMA}.ops_alert_outbox (notification_key varchar primary key, "
       + ", ".join(f"{c} {'timestamp' if c == 'occurred_at' else 'varchar'}" for c in COLUMNS[1:]) + ")")


def routes(environment: str) -> list[dict[str, str]]:
    """The seed's rows for this environment (read from the file: no dbt build needed)."""
    with ROUTING_SEED.open(newline="") as f:
        return [r for r in csv.DictReader(f) if r["environment"] == environment]


def route(rows: list[dict[str, str]], event_type: str, severity: str) -> dict[str, str] | None:
    """An exact severity row wins over ``*``, as in marts.notification_outbox."""
    found = [r for r in rows if r["event_type"] == event_type and r["severity"] in (severity, "*")]
    return min(found, key=lambda r: r["severity"] == "*") if found else None


def outbox_row(event: dict[str, Any], routing: list[dict[str, str]], environment: str) -> dict[str, Any] | None:
    """One routed outbox row for an event (event_key, event_type, severity, title, body, ...)."""
    hit = route(routing, event["event_type"], event["severity"])
    if hit is None:
        return None
    slack, email = hit["slack_target"].strip(), hit["email"].strip()
    channel_type = "email" if not slack else "slack_channel" if slack.startswith("#") else "slack_dm"
    target = slack or email
    row = {c: None for c in COLUMNS} | event
    row.update(notification_key=f"{event['event_key']}@{channel_type}:{target}", environment=environment,
               channel_type=channel_type, target=target, fallback_email=email or None,
               group_key=event["event_type"] if target == "developer" else None)
    return row


def health_events(conn: Connection, environment: str) -> list[dict[str, Any]]:
    if not conn.table_exists("ops", "health_alerts"):
        return []
    alerts = conn.query("select * from ops.health_alerts where environment = %s and status = 'pending' "
                        "order by raised_at, alert_key", (environment,))
    return [{"event_key": f"health_alert:{a['alert_key']}", "event_type": f"{a['connector']}_sync_anomaly",
             "severity": "critical", "subject_id": a["connector"],
             "thread_key": f"{a['connector']}_sync_anomaly:{a['raised_at']:%Y-%m-%d}",
             "summary_title": "Integration health alerts",
             "title": f"{a['connector']} {a['check_name']} is red",
             "body": a["message"], "runbook_id": a["runbook"] or RUNBOOKS.get(a["connector"], "RB-005"),
             "occurred_at": a["raised_at"], "_alert_key": a["alert_key"]} for a in alerts]


def drift_events(conn: Connection) -> list[dict[str, Any]]:
    if not conn.table_exists("reconciliation", "findings"):
        return []
    rows = conn.query("select vendor, entity, kind, unhealed, example_ids, runbook_id, detected_at "
                      "from reconciliation.findings where unhealed > 0 order by detected_at, vendor, entity, kind")
    days: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        days.setdefault((r["vendor"], f"{r['detected_at']:%Y-%m-%d}"), []).append(r)
    events = []
    for (vendor, day), found in days.items():
        lines = [f"{f['entity']} {f['kind']}: {f['unhealed']} unhealed (e.g. {f['example_ids'] or '-'})"
                 for f in found[:20]]
        events.append({
            "event_key": f"reconciliation_drift:{vendor}:{day}", "event_type": f"{vendor}_sync_anomaly",
            "severity": "high", "subject_id": vendor, "thread_key": f"{vendor}_sync_anomaly:{day}",
            "summary_title": "Reconciliation drift", "title": f"{vendor}: drift the nightly run could not heal",
            "body": "; ".join(lines)[:2900], "runbook_id": found[0]["runbook_id"],
            "occurred_at": found[0]["detected_at"]})
    return events


def queue_alerts(conn: Connection, environment: str) -> list[dict[str, Any]]:
    """Put new alerts in the ops outbox (by key: nothing twice); returns every row not yet delivered."""
    ledger.ensure_ledger(conn)
    conn.execute(DDL)
    routing = routes(environment)
    have = {r["notification_key"] for r in conn.query(f"select notification_key from {SCHEMA}.ops_alert_outbox")}
    for event in [*health_events(conn, environment), *drift_events(conn)]:
        alert_key = event.pop("_alert_key", None)
        row = outbox_row(event, routing, environment)
        if row is not None and row["notification_key"] not in have:
            conn.execute(f"insert into {SCHEMA}.ops_alert_outbox values ({', '.join(['%s'] * len(COLUMNS))})",
                         [row[c] for c in COLUMNS])
            have.add(row["notification_key"])
        if alert_key is not None:  # in the outbox (or unroutable): the ledger says what became of it
            conn.execute("update ops.health_alerts set status = %s where alert_key = %s",
                         ("queued" if row is not None else "unrouted", alert_key))
    conn.raw.commit()
    return conn.query(f"select o.* from {SCHEMA}.ops_alert_outbox as o left join {SCHEMA}.delivery_ledger as l "
                      "on o.notification_key = l.notification_key "
                      f"where l.status is null or l.status not in {ledger.DONE!r} order by o.notification_key")


OPS_ALERTS = AssetKey(["notifications", "ops_alerts"])


@asset(key=OPS_ALERTS, deps=[AssetKey(["ops", "integration_health"]), AssetKey(["reconciliation", "findings"])],
       group_name="notifications", pool="warehouse", kinds={"slack", "python"},
       description="Red health checks (ops.health_alerts) and unhealed reconciliation drift as outbox rows "
                   "(notifications.ops_alert_outbox), routed by the notification_routing seed to the environment's "
                   "channel with the runbook id, delivered once each (delivery ledger); runs after the health "
                   "checks (hourly, daily, after each sync) and the nightly reconciliation.")
def ops_alerts(context: AssetExecutionContext, warehouse: WarehouseResource,
               notifications: NotificationsResource) -> MaterializeResult:
    from assets.notifications import admin_emails, email_alerts
    from resources.environment import current_environment

    env = current_environment().name
    with warehouse.connect() as conn:
        rows = queue_alerts(conn, env)
        slack, email = notifications.slack(), notifications.email()
        if slack is None and email is None:
            report = DeliveryReport(errors=["neither SLACK_BOT_TOKEN nor SMTP_HOST is set: alerts stay queued"])
        else:
            report = Deliverer(conn, slack, email, admin_emails=admin_emails(conn, env), reinstall_url=reinstall_url(),
                               run_id=context.run_id).deliver(rows)
        queued = len(queue_alerts(conn, env))
    for error in report.errors[:10]:
        context.log.warning("ops alert delivery: %s", error)
    for line in email_alerts(report):  # as the delivery assets: resent in 10 minutes, or failed for good
        context.log.error(line)
    return MaterializeResult(metadata={**{k: MetadataValue.int(v) for k, v in report.as_metadata().items()},
                                       "backlog": MetadataValue.int(queued)})
