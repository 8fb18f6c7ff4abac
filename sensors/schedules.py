"""Jobs and their schedules, at the cadences of spec §4 for the current environment.

Ingestion assets are partitioned by UTC day (see :mod:`assets.ingestion`): every scheduled run targets
the open partition, today's, which is the live incremental sync. Reruns of other days are launched by
operators (a partition or a backfill in the UI, or ``dagster job backfill``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dagster import (
    AssetKey,
    AssetSelection,
    DagsterRun,
    DagsterRunStatus,
    DefaultScheduleStatus,
    RunRequest,
    RunsFilter,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
)

from assets.dbt import NEEDS_FULL_SYNC, first_few, projectx_dbt_models
from assets.ingestion import LIVE_SYNC_TAG, current_partition_key
from assets.reconciliation.checks import PARITY_CHECKS
from resources.audit import CORRELATION_TAG, new_correlation_id
from resources.environment import Environment
from resources.flags import flag

INCIDENTS = AssetKey(["servicenow", "incidents"])
# One live sync per vendor at a time (the scale-out instance limits each of these tags to one run):
# a vendor's dlt pipeline and cursor are shared by every job that ingests it.
def sync_tags(*vendors: str) -> dict[str, str]:
    return {f"projectx/sync/{vendor}": "true" for vendor in vendors}


SERVICENOW_OTHERS = [AssetKey(["servicenow", t]) for t in ("change_requests", "requests", "catalog_tasks",
                                                             "cmdb_cis", "attachments", "remediation_tasks")]
# The nightly reconciliation's assets and parity checks run in its own job (sensors/nightly.py) only.
NIGHTLY_ONLY = (AssetSelection.groups("reconciliation") | AssetSelection.assets(AssetKey(["jira", "issue_deletions"]))
                | AssetSelection.checks(*PARITY_CHECKS))

full_sync_job = define_asset_job(
    "full_sync",
    selection=AssetSelection.all() - NIGHTLY_ONLY,
    tags=sync_tags("servicenow", "jira", "onetrust"),
    description="One whole cycle: ingest every vendor, build dbt, push results back to vendors.",
)

servicenow_incidents_job = define_asset_job(
    "servicenow_incidents_sync",
    selection=AssetSelection.assets(INCIDENTS).downstream() - NIGHTLY_ONLY,
    tags=sync_tags("servicenow"),
    description="ServiceNow incidents and everything downstream of them (marts, reverse sync).",
)

servicenow_changes_job = define_asset_job(
    "servicenow_changes_sync",
    selection=AssetSelection.assets(*SERVICENOW_OTHERS).downstream() - NIGHTLY_ONLY,
    tags=sync_tags("servicenow"),
    description="ServiceNow change requests, requests, catalog tasks, CIs, attachments and remediation tasks, "
                "and downstream.",
)

jira_job = define_asset_job(
    "jira_sync",
    selection=AssetSelection.groups("jira").downstream() - NIGHTLY_ONLY,
    tags=sync_tags("jira"),
    description="Jira issues, projects, boards and sprints, and everything downstream.",
)

onetrust_job = define_asset_job(
    "onetrust_sync",
    selection=AssetSelection.groups("onetrust").downstream() - NIGHTLY_ONLY,
    tags=sync_tags("onetrust"),
    description="OneTrust assessments, risks and vendors, and everything downstream.",
)

# The integration (feature flag integration.<name>.enabled) each vendor job belongs to.
JOB_INTEGRATION = {"servicenow_incidents_sync": "servicenow", "servicenow_changes_sync": "servicenow",
                   "jira_sync": "jira", "onetrust_sync": "onetrust"}

JOBS = [full_sync_job, servicenow_incidents_job, servicenow_changes_job, jira_job, onetrust_job]
VENDOR_JOBS = [servicenow_incidents_job, servicenow_changes_job, jira_job, onetrust_job]


def unbuilt_dbt_parents(context: ScheduleEvaluationContext | SensorEvaluationContext, job) -> list[AssetKey]:
    """dbt models and seeds the job's models read but the job does not build, never materialized here.

    A vendor job builds only what is downstream of its vendor; it stands on a first full build."""
    graph = context.repository_def.asset_graph
    selection = job.selection
    parents = (selection.upstream(depth=1).resolve(graph) - selection.resolve(graph)) & set(projectx_dbt_models.keys)
    records = context.instance.get_asset_records(list(parents))
    built = {r.asset_entry.asset_key for r in records if r.asset_entry.last_materialization_record is not None}
    return sorted(parents - built, key=lambda k: k.to_user_string())


# A run of the job in one of these states has not read its vendor yet (queued behind the vendor's
# running sync, the warehouse pool or the run queue): a tick adds no other while one waits.
WAITING = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED]
# ... but not for ever. A run leaves NOT_STARTED as soon as it is submitted (to QUEUED, or straight to
# STARTING): one still there after STALE_NOT_STARTED is a launch that crashed and will never start. A QUEUED
# run waits behind the vendor's running sync, which run monitoring fails after its max_runtime_seconds (6 h,
# resources/dagster_scale_out.yaml): one queued longer than that plus STALE_NOT_STARTED is stuck too. Either is
# ignored (a warning on the first tick that finds it), or the live sync would skip every tick for good.
STALE_NOT_STARTED = timedelta(minutes=30)
STALE_QUEUED = timedelta(hours=6) + STALE_NOT_STARTED


def _now() -> datetime:
    return datetime.now(UTC)


def waiting_run(context: ScheduleEvaluationContext, job_name: str) -> DagsterRun | None:
    """The job's run still waiting to start (a reason to skip this tick), or None; stale ones are ignored."""
    now = _now()
    for record in context.instance.get_run_records(RunsFilter(job_name=job_name, statuses=WAITING), limit=20):
        run = record.dagster_run
        bound = STALE_NOT_STARTED if run.status == DagsterRunStatus.NOT_STARTED else STALE_QUEUED
        if now - record.create_timestamp < bound:
            return run
        later = context.instance.get_runs(RunsFilter(job_name=job_name, created_after=record.create_timestamp),
                                          limit=1)
        if not later:  # the first tick to find it stale: said once, not on every tick after
            context.log.warning(f"{job_name}: run {run.run_id} has been {run.status.value} since "
                                f"{record.create_timestamp:%Y-%m-%d %H:%M} UTC, longer than a run waits "
                                f"({bound}); ignored, so the live sync goes on. Delete or terminate it in the UI.")
    return None


def schedules_for(env: Environment) -> list[ScheduleDefinition]:
    status = DefaultScheduleStatus.STOPPED if env.name == "local" else DefaultScheduleStatus.RUNNING

    def every(name: str, job, minutes: int) -> ScheduleDefinition:
        def live_partition(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
            switch = flag(JOB_INTEGRATION[job.name], env.name)
            if not switch.enabled:
                return SkipReason(f"{job.name}: {switch.skip_reason()}")
            waiting = waiting_run(context, job.name)
            if waiting:  # it will read everything since the cursor: a second waiting run adds only a pile-up
                return SkipReason(f"{job.name}: run {waiting.run_id} is still waiting to start "
                                  f"({waiting.status.value}); it will sync everything since the cursor.")
            unbuilt = unbuilt_dbt_parents(context, job)
            if unbuilt:
                names = first_few([k.to_user_string() for k in unbuilt])
                return SkipReason(f"{job.name} would build on dbt models never built here ({names}). "
                                  f"{NEEDS_FULL_SYNC}")
            return RunRequest(partition_key=current_partition_key(context.scheduled_execution_time),
                              tags={LIVE_SYNC_TAG: "true", CORRELATION_TAG: new_correlation_id()})

        return ScheduleDefinition(
            name=name, job=job, cron_schedule=env.cron_every(minutes, job.name), execution_timezone="UTC",
            default_status=status, execution_fn=live_partition,
            description=f"Every {minutes} min in {env.name} (spec §4), at a fixed per-job offset (jitter): the "
                        f"live sync of today's partition. Skips while integration.{JOB_INTEGRATION[job.name]}"
                        ".enabled is false, or while a run of the job is still waiting to start (not one left "
                        "waiting past STALE_NOT_STARTED / STALE_QUEUED).",
        )

    return [
        every("servicenow_incidents_schedule", servicenow_incidents_job, env.servicenow_incident_minutes),
        every("servicenow_changes_schedule", servicenow_changes_job, env.servicenow_change_minutes),
        every("jira_schedule", jira_job, env.jira_minutes),
        every("onetrust_schedule", onetrust_job, env.onetrust_hours * 60),
    ]
