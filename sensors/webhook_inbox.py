"""The ``webhook_inbox`` sensor: vendor changes announced by webhooks become sync runs within seconds.

Every 5 seconds it reads the receiver's inbox past its cursor (``webhooks.processing.process``):
events go to their handlers, syncs are batched into one run per job per tick (run_key from the
event ids, so a re-evaluated tick never launches twice) and events are marked done when their run
succeeds. Failures retry with exponential backoff (``WEBHOOK_RETRY_BASE_SECONDS``, default 30, doubling,
capped at an hour); after 10 attempts an event is dead-lettered. The inbox's state (pending, retrying,
dead letters, quarantined, rejected in 24 h, per source) is reported as observations of the asset
``webhooks/inbox`` whenever it changes: Dagster shows it under *Assets*; dead letters are replayed
with ``python -m cli webhooks replay``. Finished events are written to ``audit.events`` (action
``webhook``) with their run's correlation id.
"""

from __future__ import annotations

import hashlib
import json
import os
import time

from dagster import (
    AssetKey,
    AssetObservation,
    AssetSelection,
    AssetSpec,
    DagsterRunStatus,
    DefaultSensorStatus,
    MetadataValue,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    define_asset_job,
    sensor,
)

from assets.ingestion import LIVE_SYNC_TAG, current_partition_key
from resources.audit import CORRELATION_TAG
from resources.environment import Environment
from sensors.schedules import (
    INCIDENTS,
    NIGHTLY_ONLY,
    jira_job,
    servicenow_changes_job,
    sync_tags,
    unbuilt_dbt_parents,
)
from webhooks.inbox import EventQueue, open_database
from webhooks.inbox.audit import audit_processed
from webhooks.processing import process
from webhooks.settings import WebhookSettings

WEBHOOK_INBOX = AssetKey(["webhooks", "inbox"])
webhook_inbox_asset = AssetSpec(
    WEBHOOK_INBOX, group_name="webhooks", kinds={"sqlite"},
    description="The webhook receiver's durable inbox (SQLite, or PostgreSQL schema webhooks). Grain: one "
                "observation per change of its state; metadata per source: pending, launched, retry, done, dead "
                "(dead letters), quarantined payloads and requests rejected in the last 24 hours.",
)
# The fast path for an incident change: the incidents and what marts.tasks builds from them (staging,
# control evaluations, task sources). The rest downstream of incidents (history, attestations, reverse
# sync) follows on the servicenow_incidents_schedule as before.
servicenow_incidents_to_tasks_job = define_asset_job(
    "servicenow_incidents_to_tasks",
    selection=(AssetSelection.assets(INCIDENTS)
               | (AssetSelection.assets(INCIDENTS).downstream()
                  & AssetSelection.assets(AssetKey(["marts", "tasks"])).upstream())) - NIGHTLY_ONLY,
    tags=sync_tags("servicenow"),  # one live ServiceNow sync at a time, like the scheduled jobs
    description="Webhook fast path: ServiceNow incidents and the models between them and marts.tasks.",
)
SYNC_JOBS = (servicenow_incidents_to_tasks_job, servicenow_changes_job, jira_job)
FAILED = (DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)


def run_status(context: SensorEvaluationContext, run_key: str) -> str | None:
    runs = context.instance.get_runs(filters=RunsFilter(tags={"dagster/run_key": run_key}), limit=1)
    if not runs:
        return None
    status = runs[0].status
    if status == DagsterRunStatus.QUEUED:  # waiting its turn (one live sync per vendor): not stuck, however long
        return "queued"
    return "success" if status == DagsterRunStatus.SUCCESS else "failure" if status in FAILED else "running"


def flagged_off(env_name: str | None = None) -> list:
    """Feature flags that are off for a sync job's integration: its events wait (nothing is lost)."""
    from resources.flags import flag

    return [f for f in (flag(n, env_name) for n in sorted({j.name.split("_")[0] for j in SYNC_JOBS})) if not f.enabled]


def blocked_jobs(context: SensorEvaluationContext) -> frozenset[str]:
    """Jobs that would build on dbt models never built here (a new deployment waits for full_sync), and
    jobs of an integration whose feature flag is off."""
    off = {f.integration for f in flagged_off()}
    paused = frozenset(job.name for job in SYNC_JOBS if job.name.split("_")[0] in off)
    if context.repository_def is None:
        return paused
    return paused | frozenset(job.name for job in SYNC_JOBS if unbuilt_dbt_parents(context, job))


def health_event(queue: EventQueue) -> tuple[str, AssetObservation]:
    health = queue.health()
    dead = queue.dead_letters()
    metadata = {f"{source}": MetadataValue.json(counts) for source, counts in sorted(health.items())}
    metadata["dead_letters"] = len(dead)
    metadata["dead_letter_sample"] = MetadataValue.json([{k: d[k] for k in ("seq", "source", "event_type",
                                                                           "last_error")} for d in dead[:10]])
    digest = hashlib.sha256(json.dumps([health, [d["seq"] for d in dead]], sort_keys=True).encode()).hexdigest()[:16]
    return digest, AssetObservation(WEBHOOK_INBOX, metadata=metadata)


def webhook_inbox_sensor(env: Environment, settings: WebhookSettings | None = None):
    status = DefaultSensorStatus.STOPPED if env.name == "local" else DefaultSensorStatus.RUNNING

    @sensor(name="webhook_inbox", jobs=list(SYNC_JOBS), minimum_interval_seconds=5, default_status=status,
            description=__doc__.split("\n\n")[1].replace("\n", " "))
    def webhook_inbox(context: SensorEvaluationContext) -> SensorResult:
        cursor = json.loads(context.cursor) if context.cursor else {}
        db = open_database(settings or WebhookSettings.from_env())
        try:
            queue = EventQueue(db, base_backoff=float(os.environ.get("WEBHOOK_RETRY_BASE_SECONDS", "30")))
            result = process(queue, lambda key: run_status(context, key), after_seq=int(cursor.get("seq", 0)),
                             now=time.time(), blocked_jobs=blocked_jobs(context))
            audit_processed(queue)
            queue.prune_rejections(keep_days=30)
            digest, observation = health_event(queue)
            new_cursor = json.dumps({"seq": queue.low_water(), "health": digest})
        finally:
            db.close()
        for event in result.dead:
            context.log.warning(f"webhook event {event.seq} ({event.source} {event.event_type}, delivery "
                                f"{event.delivery_id}) dead-lettered after 10 attempts; replay it with "
                                "`python -m cli webhooks replay`")
        partition = current_partition_key()
        requests = [RunRequest(run_key=run.run_key, job_name=run.job_name, partition_key=partition,
                               tags={LIVE_SYNC_TAG: "true", CORRELATION_TAG: run.correlation_id,
                                     "projectx/webhook_events": str(len(run.seqs)),
                                     "projectx/webhook_tables": ",".join(run.tables)})
                    for run in result.runs]
        events = [observation] if digest != cursor.get("health") else []
        if requests:
            return SensorResult(run_requests=requests, cursor=new_cursor, asset_events=events)
        parts = [f"{result.done} done", f"{result.settled} settled by their runs", f"{result.failed} failed"]
        if result.deferred:
            parts.append(f"{result.deferred} left for the next tick (this one spent its time on slow handlers)")
        if result.coalesced:
            parts.append(f"{result.coalesced} waiting for their job's run in flight (the next run takes them)")
        if result.waiting:
            off = flagged_off()
            parts.append(f"{result.waiting} waiting for the first full_sync of a new warehouse" if not off else
                         f"{result.waiting} waiting: " + "; ".join(f.skip_reason() for f in off))
        return SensorResult(skip_reason=f"No webhook event needs a sync now ({', '.join(parts)}).",
                            cursor=new_cursor, asset_events=events)

    return webhook_inbox
