"""Integration health as Dagster asset checks, on their own schedule and after every sync.

``ops/integration_health`` grades every connector (see :mod:`assets.health.measure` for the
thresholds), appends the figures to ``ops.health_checks`` and reports one asset check per connector
and check (``<connector>_<check>``), whose metadata carries the figures so Dagster plots them over
time, plus ``notification_backlog``, and the expiry of the receiver's signing secrets and the inbox queues
that belong to no vendor (``slack_secret_expiry``, ``slack_webhook_backlog``, ``slack_dead_letters``, and
the same for ``partners``). Severity maps to the status light:
passed = green, WARN = yellow, ERROR = red. It depends on every vendor's ``_dlt_loads``, so each vendor
job runs it after its sync; the hourly schedule and the
daily one (spec §6.1 "Daily Checks") run it alone, so a connector whose syncs stopped still turns red.
A red check raises one alert per red streak (``ops.health_alerts``) for the environment's channel.
"""


import dataclasses
import functools
from datetime import UTC, datetime

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    DefaultScheduleStatus,
    MaterializeResult,
    MetadataValue,
    ScheduleDefinition,
    asset,
    define_asset_job,
)

from assets.health import history, measure
from assets.health.inputs import (
    CONNECTORS,
    RECEIVER_QUEUES,
    collect,
    notification_backlog,
    read_inbox,
    receiver_queues,
    warehouse_figures,
)
from resources.environment import Environment, current_environment
from resources.secret_rotation import (
    OTHER_SECRET_OWNERS,
    connector_secret_dates,
    other_secret_dates,
    webhook_secret_dates,
)
from resources.secrets import SecretStore
from resources.warehouse import WarehouseResource

KEY = AssetKey(["ops", "integration_health"])
CHECK_TEXT = {
    "sync_lag": "every table synced within 2x its interval (yellow past 1x)",
    "webhook_backlog": "at most 100 webhook deliveries waiting (yellow past 50)",
    "dead_letters": "the dead-letter tables are empty",
    "circuit_breaker": "the circuit breaker is closed",
    "secret_expiry": "every secret expires more than 30 days from now",
    "set_aside": "no record the vendor fails to serve stays set aside (quarantined, read again every run) longer "
                 "than PROJECTX_SET_ASIDE_WARN_HOURS (default 48 h); a OneTrust one holds its entity's cursor",
}
SPECS = [AssetCheckSpec(f"{c}_{check}", asset=KEY, description=f"{c}: {text}.")
         for c in CONNECTORS for check, text in CHECK_TEXT.items()]
SPECS.append(AssetCheckSpec("notification_backlog", asset=KEY,
                            description="At most 100 notifications queued (spec §6.1; yellow past 50)."))
SPECS += [AssetCheckSpec(f"{owner}_secret_expiry", asset=KEY,
                         description=f"{owner}: the receiver's {', '.join(keys)} expires more than 30 days from now.")
          for owner, keys in OTHER_SECRET_OWNERS.items()]
# The receiver's inbox queues of no vendor (Slack's events and interactions, the partners' webhooks)
SPECS += [AssetCheckSpec(f"{owner}_{check}", asset=KEY, description=f"{owner}: {CHECK_TEXT[check]} in the receiver's "
                         "inbox.") for owner in RECEIVER_QUEUES for check in ("webhook_backlog", "dead_letters")]


def check_result(f: measure.Finding) -> AssetCheckResult:
    name = f.check if f.connector == "notifications" else f"{f.connector}_{f.check}"
    metadata = {"light": MetadataValue.text(f.light), "message": MetadataValue.text(f.message)}
    if f.value is not None:
        metadata["value"] = MetadataValue.float(float(f.value))
    if f.threshold is not None:
        metadata["threshold"] = MetadataValue.float(float(f.threshold))
    if f.detail:
        metadata["detail"] = MetadataValue.json(f.detail)
    return AssetCheckResult(
        check_name=name, passed=f.light not in (measure.YELLOW, measure.RED),
        severity=AssetCheckSeverity.ERROR if f.light == measure.RED else AssetCheckSeverity.WARN,
        metadata=metadata)


def run_health(context, env: Environment, warehouse: WarehouseResource, now: datetime | None = None):
    """Grade, store and alert; returns (connector healths, findings as stored, alert keys)."""
    now = now or datetime.now(UTC)
    store = SecretStore(env.vault_prefix)
    secrets, hooks = None, {}
    if store.vault_addr:
        hooks = webhook_secret_dates(store)  # one read of the receiver's path for every connector
        secrets = functools.partial(connector_secret_dates, store, hooks=hooks)
    trigger = context.run.tags.get("dagster/schedule_name") or f"after {context.job_name}"
    with warehouse.connect() as conn:
        figures = warehouse_figures(conn)
        inbox = read_inbox()  # once: the vendors' queues and the receiver's others
        health = collect(env, context.instance, figures, now, secrets, inbox=inbox)
        findings = []
        for h in health.values():
            disabled = not h.flag.enabled
            findings += [dataclasses.replace(f, light=measure.DISABLED, message=f"{h.flag.skip_reason()} ({f.message})")
                         if disabled else f for f in h.findings]
        findings.append(notification_backlog(figures))
        findings += [f for owned in receiver_queues(inbox).values() for f in owned]
        findings += [measure.secret_expiry(owner, dates, now) for owner, dates in other_secret_dates(hooks).items()]
        history.record(conn, env.name, findings, now, trigger)
        alerts = history.raise_alerts(conn, env.name, env.alert_channel, findings, now)
    return health, findings, alerts


@asset(key=KEY, deps=[AssetKey([c, "_dlt_loads"]) for c in CONNECTORS], group_name="ops", pool="warehouse",
       check_specs=SPECS, kinds={"python"},
       description="Integration health, one row per (connector, check) per run in ops.health_checks: sync lag "
                   "against 2x the interval, webhook and notification backlogs, dead letters, circuit breaker, "
                   "secret expiry, records set aside. Status light per connector: green, yellow, red (or disabled "
                   "by its flag).")
def integration_health(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    env = current_environment()
    health, findings, alerts = run_health(context, env, warehouse)
    for key in alerts:
        context.log.warning("health alert raised for %s: %s", env.alert_channel, key)
    for h in health.values():
        for problem in h.problems:  # e.g. a flag set to neither true nor false: graded as enabled
            context.log.warning("integration health: %s: %s", h.connector, problem)
    lights = {c: h.light for c, h in health.items()}
    context.log.info("integration health: %s", lights)
    return MaterializeResult(
        metadata={**{f"{c}_light": MetadataValue.text(light) for c, light in lights.items()},
                  **{f"{c}_status": MetadataValue.int(measure.STATUS_VALUE[light]) for c, light in lights.items()},
                  "alerts_raised": MetadataValue.int(len(alerts))},
        check_results=[check_result(f) for f in findings])


health_job = define_asset_job(
    "integration_health", selection=AssetSelection.assets(KEY, AssetKey(["notifications", "ops_alerts"])),
    description="Grade every connector's health and store it (ops.health_checks), without syncing anything; "
                "a check that turned red is posted to the environment's channel (notifications/ops_alerts).")


def health_schedules(env: Environment) -> list[ScheduleDefinition]:
    """Hourly, and the spec's daily check at 06:00 UTC; on by default outside local, like the syncs."""
    status = DefaultScheduleStatus.STOPPED if env.name == "local" else DefaultScheduleStatus.RUNNING
    return [
        ScheduleDefinition(name="integration_health_hourly", job=health_job, cron_schedule="7 * * * *",
                           execution_timezone="UTC", default_status=status,
                           description="Hourly health check: noticed even when every sync has stopped."),
        ScheduleDefinition(name="integration_health_daily", job=health_job, cron_schedule="0 6 * * *",
                           execution_timezone="UTC", default_status=status,
                           description="The daily check of spec §6.1, before the working day."),
    ]
