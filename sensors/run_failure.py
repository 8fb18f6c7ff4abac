"""run_failure_sensor: every failed run is announced once, with its correlation id and runbook.

Dagster's run-status cursor hands each failure to the sensor once; the Slack message carries the
run id in its metadata, so a tick that dies after posting finds its message instead of posting it
twice. Route: the ``run_failure`` row of the notification_routing seed for PROJECTX_ENV (read from
the seed file: the sensor never opens the warehouse, which a running job may hold). Slack failing
or revoked: the same message by e-mail. An e-mail the relay refuses for good (a 5xx, no valid address:
:class:`resources.email.EmailRejected` / ``EmailAddressError``) is not retried: the run is tagged
``projectx/failure_alert=failed`` with the reason in ``projectx/failure_alert_error``, unless Slack failed
for now only (a 5xx, a timeout): then it stays pending and the retry sensor tries Slack again, six attempts in
all, after which the run is tagged failed with the last error.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from dagster import (
    DagsterEventType,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunsFilter,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    sensor,
)

from assets.health.measure import RUNBOOKS as CONNECTOR_RUNBOOKS
from assets.notifications.messages import Message, email_bodies, slack_blocks, slack_text
from pipelines.common.log_redaction import mask_log_text
from resources.audit import CORRELATION_TAG
from resources.email import EmailAddressError, EmailDeliveryError, EmailPartlyRefused, EmailRejected, valid_recipients
from resources.environment import current_environment
from resources.notifications import NotificationsResource
from resources.slack import SlackDeliveryError, SlackUnavailable

ROUTING_SEED = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds" / "notification_routing.csv"
RUNBOOKS = tuple(CONNECTOR_RUNBOOKS.items())  # (word in the job or step name, runbook), first match wins


def runbook_for(*names: str) -> str:
    """Spec 6.2: the connector's runbook, from the job name or the failed step (RB-002 by default)."""
    text = " ".join(n.lower() for n in names if n)
    return next((rb for word, rb in RUNBOOKS if word in text), "RB-002")


def route(environment: str) -> tuple[str, list[str]]:
    """(slack target, e-mail list) of the run_failure route for this environment."""
    with ROUTING_SEED.open(newline="") as f:
        for row in csv.DictReader(f):
            if row["event_type"] == "run_failure" and row["environment"] == environment:
                return row["slack_target"], [e.strip() for e in row["email"].split(";") if e.strip()]
    return "", []


def rerun_hint(job_name: str, tags: dict[str, str] | None = None) -> str:
    """How to run the failed work again: from failure in the UI (keeps the run's tags, so a live sync
    stays live), or the CLI command for its partition. A range (a backfill) reruns from the UI only:
    ``dagster job execute --partition-range`` refuses jobs with unpartitioned assets (dbt)."""
    tags = tags or {}
    ui = "Rerun: Runs → this run → Re-execute → From failure"
    partition = tags.get("dagster/partition")
    if tags.get("dagster/asset_partition_range_start"):
        return ui + "."
    # `dagster job execute` has no --partition option: the run's partition is its dagster/partition tag
    cli = f"dagster job execute -m definitions -j {job_name}" + (
        f" --tags '{{\"dagster/partition\": \"{partition}\"}}'" if partition else "")
    return f"{ui}, or `{cli}`."


def failure_message(run_id: str, job_name: str, step_key: str, error: str, correlation_id: str,
                    environment: str, tags: dict[str, str] | None = None) -> Message:
    target, emails = route(environment)
    row = {"notification_key": f"run_failure:{run_id}", "event_type": "run_failure", "severity": "high",
           "title": f"Run of {job_name} failed",
           "body": f"Step {step_key or '-'}: {error[:1500]}\n{rerun_hint(job_name, tags)}",
           "runbook_id": runbook_for(job_name, step_key), "link_url": None, "subject_id": run_id,
           "fallback_email": ";".join(emails), "occurred_at": None}
    kind = "slack_channel" if target.startswith("#") else ("slack_dm" if target else "email")
    return Message([row], kind, target or ";".join(emails), delivery_key=f"run-failure-{run_id}")


def announce(msg: Message, correlation_id: str, notifications: NotificationsResource,
             since: float | None = None) -> str:
    """Post to Slack (unless already posted since ``since``, epoch seconds), else e-mail; returns how it went out."""
    import os

    slack, reason = notifications.slack(), "Slack is not configured"
    slack_may_answer = False  # Slack failed for now only (5xx, timeouts): the retry sensor tries it again
    if slack is not None and msg.channel_type != "email":
        try:
            channel = msg.target if msg.channel_type == "slack_channel" else \
                slack.open_dm(os.environ.get("PROJECTX_DEVELOPER_EMAIL") or "")
            if slack.find_posted(channel, msg.delivery_key, oldest=since):
                return "deduplicated"
            slack.post(channel, slack_text(msg), slack_blocks(msg, correlation_id), msg.delivery_key)
            return "slack"
        except SlackDeliveryError as exc:
            reason, slack_may_answer = str(exc), isinstance(exc, SlackUnavailable)
    email = notifications.email()
    if email is None:  # a setting that may come: retried
        raise EmailDeliveryError(f"run failure not delivered ({reason}) and no SMTP fallback: set SMTP_HOST")
    to, bad = valid_recipients(msg.fallback_email)  # one bad entry of the route never stops the others
    if not to:  # no address at all is as final as none valid: given up on with the fix, not retried every 5 minutes
        env = current_environment().name  # (unless Slack may take it at the next try)
        why = (f"run failure not delivered ({reason}): no valid e-mail in the run_failure route for environment "
               f"{env!r}: fix its `email` in dbt_project/seeds/notification_routing.csv"
               + (f": {'; '.join(bad)}" if bad else " (it has none)"))
        raise (EmailDeliveryError if slack_may_answer else EmailAddressError)(why)
    if bad:  # reported, not only skipped: someone must fix the route
        log.warning("run failure e-mail: route entries left out (fix the run_failure row of the notification_routing "
                    "seed): %s", mask_log_text("; ".join(bad))[:500])
    text, page = email_bodies(msg, correlation_id)
    try:
        email.send(to, msg.subject, text, page, msg.delivery_key)
    except EmailPartlyRefused as exc:  # sent to the others: a resend would reach them twice, every 5 minutes
        log.warning("run failure e-mail sent, but the relay refused %s; not resent (fix the route): %s",
                    ", ".join(exc.refused)[:300], mask_log_text(str(exc))[:300])
        return "email (some recipients refused)"
    except (EmailRejected, EmailAddressError) as exc:  # nobody got it: while Slack failed for now, tried again
        if slack_may_answer:  # (pending, the retry sensor's next tick), not given up on for good
            raise EmailDeliveryError(f"run failure not delivered ({reason}); e-mail refused for good: {exc}") from None
        raise
    return "email"


def root_cause(error) -> str:
    """The step's own exception (Dagster wraps it in DagsterExecutionStepExecutionError, whose message
    names only the op), not anything deeper: a product error raised ``from`` a low-level one says more."""
    while error is not None and error.cls_name == "DagsterExecutionStepExecutionError" and error.cause:
        error = error.cause
    return (error.message or "").strip() if error is not None else ""


log = logging.getLogger(__name__)

# On a failed run whose announcement could not be delivered (Slack and e-mail both failing): Dagster's
# run-status cursor has moved past it, so ``run_failure_retry`` delivers it later.
ALERT_TAG = "projectx/failure_alert"
PENDING, SENT, FAILED = "pending", "sent", "failed"
ALERT_ERROR_TAG = "projectx/failure_alert_error"  # why a FAILED announcement was given up on
PERMANENT = (EmailRejected, EmailAddressError)  # the relay's final word or no address: retrying changes nothing
ATTEMPTS_TAG = "projectx/failure_alert_attempts"  # announcements tried so far (the notifier's first included)
MAX_ATTEMPTS = 6  # spec 2.5: delivery retried at most 6 times; then dead-lettered on the run with its reason


def give_up_tags(exc: Exception) -> dict[str, str]:
    """The tags of a run whose announcement was refused for good: never retried, the reason kept (masked, short;
    the e-mail errors never hold the SMTP password)."""
    return {ALERT_TAG: FAILED, ALERT_ERROR_TAG: mask_log_text(f"{type(exc).__name__}: {exc}")[:500]}
RETRY_BATCH = 20


def announce_run(instance, run, notifications: NotificationsResource, env_name: str,
                 run_error: str | None = None) -> str:
    """Announce ``run``'s failure: the failed steps and the first one's own error (the run's failure
    event names no step: the failed steps are their own events). Returns how it went out."""
    records = instance.get_records_for_run(run_id=run.run_id, of_type=DagsterEventType.STEP_FAILURE).records
    steps = [r.event_log_entry.dagster_event for r in records if r.event_log_entry.dagster_event.step_key]
    step = ", ".join(dict.fromkeys(e.step_key for e in steps))
    error = next(filter(None, (root_cause(e.step_failure_data.error) for e in steps)), None) \
        or run_error or "the run failed"
    error = mask_log_text(error)  # Slack and e-mail reach further than the run's own log
    correlation_id = run.tags.get(CORRELATION_TAG) or run.run_id
    msg = failure_message(run.run_id, run.job_name, step, error, correlation_id, env_name, dict(run.tags))
    record = instance.get_run_record_by_id(run.run_id)  # its failure is announced after it began
    return announce(msg, correlation_id, notifications, record.create_timestamp.timestamp() if record else None)


def build_run_failure_sensor(notifications: NotificationsResource | None = None):
    """The sensor (running by default outside local, where the developer starts it)."""
    env = current_environment()
    status = DefaultSensorStatus.STOPPED if env.name == "local" else DefaultSensorStatus.RUNNING

    @run_failure_sensor(name="run_failure_notifier", default_status=status, monitor_all_code_locations=False,
                        description="Announces each failed run once (Slack, else e-mail) with its correlation id "
                                    "and runbook link (RB-002..RB-005).")
    def run_failure_notifier(context: RunFailureSensorContext):
        run = context.dagster_run
        resource = notifications or NotificationsResource(vault_prefix=env.vault_prefix)
        try:
            how = announce_run(context.instance, run, resource, env.name, context.failure_event.message)
        except PERMANENT as exc:  # refused for good: recorded with the reason, not left to the retry sensor
            context.instance.add_run_tags(run.run_id, give_up_tags(exc))
            raise
        except Exception:
            # Dagster moves its cursor past this run whatever happens: leave a mark for the retry sensor.
            context.instance.add_run_tags(run.run_id, {ALERT_TAG: PENDING, ATTEMPTS_TAG: "1"})
            raise
        context.log.info(f"run {run.run_id} failure announced by {how}")
        if how == "deduplicated":
            return SkipReason(f"The failure of run {run.run_id} was already announced in Slack.")
        return None

    return run_failure_notifier


def _attempts(run) -> int:
    """Announcements tried for ``run`` (a run tagged pending before the count existed: one)."""
    try:
        return max(1, int(run.tags.get(ATTEMPTS_TAG, "1")))
    except ValueError:
        return 1


def build_run_failure_retry_sensor(notifications: NotificationsResource | None = None):
    """Every 5 minutes: failed runs whose announcement failed (tag ``projectx/failure_alert=pending``) are
    announced again until one gets through (Slack, else e-mail; never twice in Slack), at most
    :data:`MAX_ATTEMPTS` tries in all: then the run is tagged failed with the last error (a dead letter kept
    on the run, not retried every 5 minutes for ever while newer failures wait behind it)."""
    env = current_environment()
    status = DefaultSensorStatus.STOPPED if env.name == "local" else DefaultSensorStatus.RUNNING

    @sensor(name="run_failure_retry", default_status=status, minimum_interval_seconds=300,
            description="Delivers the run failure announcements run_failure_notifier could not (Slack and "
                        "e-mail both failing), every 5 minutes until they get through.")
    def run_failure_retry(context: SensorEvaluationContext):
        runs = context.instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.FAILURE],
                                                    tags={ALERT_TAG: PENDING}), limit=RETRY_BATCH)
        if not runs:
            return SkipReason("No failed run is waiting for its announcement.")
        resource = notifications or NotificationsResource(vault_prefix=env.vault_prefix)
        sent, failed, refused = [], [], []
        for run in runs:
            try:
                announce_run(context.instance, run, resource, env.name)
            except PERMANENT as exc:  # refused for good: no retry every 5 minutes, the reason on the run
                context.instance.add_run_tags(run.run_id, give_up_tags(exc))
                refused.append(f"{run.run_id} ({type(exc).__name__})")
                continue
            except Exception as exc:  # still undeliverable: pending for the next tick, within the cap
                attempts = _attempts(run) + 1
                if attempts >= MAX_ATTEMPTS:
                    tags = give_up_tags(exc)
                    tags[ALERT_ERROR_TAG] = f"not delivered after {attempts} attempts: {tags[ALERT_ERROR_TAG]}"[:500]
                    context.instance.add_run_tags(run.run_id, {**tags, ATTEMPTS_TAG: str(attempts)})
                    refused.append(f"{run.run_id} ({type(exc).__name__}, {attempts} attempts)")
                else:
                    context.instance.add_run_tags(run.run_id, {ATTEMPTS_TAG: str(attempts)})
                    failed.append(f"{run.run_id} ({type(exc).__name__})")
                continue
            context.instance.add_run_tags(run.run_id, {ALERT_TAG: SENT})
            sent.append(run.run_id)
        return SkipReason(f"Announced {len(sent)} failed run(s) late"
                          + (f"; still undeliverable: {', '.join(failed)}" if failed else "")
                          + (f"; given up, not retried (tag {ALERT_ERROR_TAG} says why): "
                             f"{', '.join(refused)}" if refused else "") + ".")

    return run_failure_retry
