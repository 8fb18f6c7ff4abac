"""Notification delivery assets: one per channel type, downstream of ``marts/notification_outbox``.

Each asset sends the outbox rows of its channel type not yet in ``notifications.delivery_ledger``
and reports sent, deduplicated, retried, failed, fallback and the remaining backlog. They run in the
``warehouse`` pool (the ledger lives in the warehouse) and are part of ``full_sync``.
"""


from datetime import timedelta

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)

from assets.notifications import ledger
from assets.notifications.delivery import Deliverer, DeliveryReport, reinstall_url
from resources.notifications import NotificationsResource, servicenow_directory
from resources.servicenow import ServiceNowResource
from resources.warehouse import Connection, WarehouseResource

OUTBOX = AssetKey(["marts", "notification_outbox"])
OUTBOX_TABLE = "marts.notification_outbox"
CHANNEL_TYPES = {
    "slack_channels": ("slack_channel", "Slack channel posts (#alerts-*, #compliance-delivery, ...)"),
    "slack_dms": ("slack_dm", "Slack direct messages: task owners, or the local Developer DM"),
    "email": ("email", "E-mail-only routes (SMTP)"),
}


def outbox_rows(conn: Connection, channel_type: str) -> list[dict]:
    if not conn.table_exists("marts", "notification_outbox"):
        return []
    return conn.query(f"select * from {OUTBOX_TABLE} where channel_type = %s order by notification_key",
                      (channel_type,))


def admin_emails(conn: Connection, environment: str) -> list[str]:
    """Who hears about a revoked Slack token: the slack_token_revoked route of the routing seed."""
    if not conn.table_exists("catalog", "notification_routing"):
        return []
    value = conn.scalar("select email from catalog.notification_routing where event_type = 'slack_token_revoked' "
                        "and environment = %s", (environment,))
    return [e.strip() for e in str(value or "").split(";") if e.strip()]


def deliver_channel_type(conn: Connection, channel_type: str, notifications: NotificationsResource,
                         servicenow: ServiceNowResource | None, environment: str, run_id: str | None = None):
    """Deliver one channel type's pending outbox rows; returns (report, backlog after).

    With neither Slack nor SMTP configured nothing is attempted: the rows stay queued (the backlog)."""
    slack, email = notifications.slack(), notifications.email()
    if slack is None and email is None:
        return DeliveryReport(errors=["neither SLACK_BOT_TOKEN nor SMTP_HOST is set: notifications stay queued"]), \
            ledger.backlog(conn, OUTBOX_TABLE)
    deliverer = Deliverer(
        conn, slack, email,
        directory=servicenow_directory(servicenow.client) if servicenow is not None else (lambda ref: None),
        admin_emails=admin_emails(conn, environment), reinstall_url=reinstall_url(), run_id=run_id)
    report = deliverer.deliver(outbox_rows(conn, channel_type))
    return report, ledger.backlog(conn, OUTBOX_TABLE)


def email_alerts(report: DeliveryReport) -> list[str]:
    """The run log's errors for the failed e-mails: those resent in 10 minutes and those failed for good (a 5xx
    refusal, no address, out of attempts: never resent by itself), each saying what happens next."""
    lines = []
    if report.counts.get("email_resending"):
        lines.append(f"{report.counts['email_resending']} notification e-mail(s) failed; resent in 10 minutes "
                     "(spec 2.5)")
    if report.counts.get("email_dead_letters"):
        lines.append(f"{report.counts['email_dead_letters']} notification e-mail(s) failed for good (the ledger's "
                     "error says why): fix it, then python -m cli notifications resend --key KEY")
    return lines


def _build(name: str, channel_type: str, description: str):
    @asset(key=AssetKey(["notifications", name]), deps=[OUTBOX], group_name="notifications", pool="warehouse",
           kinds={"slack" if channel_type != "email" else "email", "python"},
           description=f"{description}: outbox rows of channel type `{channel_type}` delivered exactly once "
                       "(notifications.delivery_ledger); Slack failures fall back to e-mail.")
    def _deliver(context: AssetExecutionContext, warehouse: WarehouseResource,
                 notifications: NotificationsResource, servicenow: ServiceNowResource) -> MaterializeResult:
        from resources.environment import current_environment

        with warehouse.connect() as conn:
            report, backlog = deliver_channel_type(conn, channel_type, notifications, servicenow,
                                                   current_environment().name, context.run_id)
        for error in report.errors[:10]:
            context.log.warning("notification delivery: %s", error)
        for line in email_alerts(report):
            context.log.error(line)
        return MaterializeResult(metadata={
            **{k: MetadataValue.int(v) for k, v in report.as_metadata().items()},
            "backlog": MetadataValue.int(backlog)})

    _deliver.__name__ = f"notifications_{name}"
    return _deliver


def build_notification_assets() -> list:
    """The delivery assets, one per channel type."""
    return [_build(name, ct, desc) for name, (ct, desc) in CHANNEL_TYPES.items()]


FAILED_SHOWN_FOR = timedelta(days=7)  # a notification given up on keeps the check red this long


@asset_check(asset=AssetKey(["notifications", "email"]),
             description="No notification is waiting for an e-mail resend (spec 2.5: a bounce or delivery failure "
                         "alerts and is resent after 10 minutes) and none was given up on in the last 7 days "
                         "(after 6 attempts, or with no address to send to); the rows and their errors are in "
                         "metadata.")
def notifications_no_failing_email(warehouse: WarehouseResource) -> AssetCheckResult:
    since = ledger.now() - FAILED_SHOWN_FOR
    where = "where status = 'retrying' or (status = 'failed' and updated_at >= %s)"
    with warehouse.connect() as conn:
        ledger.ensure_ledger(conn)
        rows = conn.query(f"select notification_key, event_type, target, status, attempts, error, next_attempt_at "
                          f"from {ledger.SCHEMA}.delivery_ledger {where} order by updated_at desc limit 20", (since,))
        counts = {r["status"]: int(r["n"]) for r in conn.query(
            f"select status, count(*) as n from {ledger.SCHEMA}.delivery_ledger {where} group by status", (since,))}
    return AssetCheckResult(passed=not rows, severity=AssetCheckSeverity.WARN,
                            metadata={"retrying": MetadataValue.int(counts.get("retrying", 0)),
                                      "failed_last_7_days": MetadataValue.int(counts.get("failed", 0)),
                                      "latest": MetadataValue.json(jsonable(rows))})


def jsonable(rows: list[dict]) -> list[dict]:
    return [{k: (str(v) if v is not None and not isinstance(v, (int, float, str)) else v) for k, v in r.items()}
            for r in rows]
