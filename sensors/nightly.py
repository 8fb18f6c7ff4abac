"""The ``nightly_reconciliation`` job and its schedule.

The job: every vendor's census and repair (group ``reconciliation``, Jira's ``jira/issue_deletions``
included), the whole dbt project after it (so marts and tasks see the repaired tables and the new
findings), the reverse-sync reconciliation, and the data-parity checks of the ingested tables.

The schedule: once a night, off-peak, at a time fixed per environment with a deterministic jitter
(a hash of the environment's name picks the minute and an hour in the window), so environments
sharing a vendor do not reconcile in the same minute and a restart never moves the time.
"""

from __future__ import annotations

import hashlib

from dagster import (
    AssetKey,
    AssetSelection,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    define_asset_job,
)

from assets.dbt import NEEDS_FULL_SYNC, first_few, projectx_dbt_models
from assets.reconciliation.checks import PARITY_CHECKS
from resources.environment import Environment
from sensors.schedules import NIGHTLY_ONLY, sync_tags

OFF_PEAK_START_HOUR = {"local": 3, "stg": 1, "prod": 2}  # UTC; the window lasts OFF_PEAK_HOURS
OFF_PEAK_HOURS = 2
NIGHTLY_TAG = "projectx/nightly_reconciliation"

nightly_reconciliation_job = define_asset_job(
    "nightly_reconciliation",
    selection=NIGHTLY_ONLY | AssetSelection.assets(projectx_dbt_models)
    | AssetSelection.assets(AssetKey(["notifications", "ops_alerts"])),  # drift alerts
    description="Vendor id censuses and parity repair, dbt, reverse-sync reconciliation, parity checks.",
    # it writes through every vendor's dlt pipeline: it takes turns with their syncs (scale-out limits)
    tags={NIGHTLY_TAG: "true", **sync_tags("servicenow", "jira", "onetrust")},
)


def nightly_cron(env: Environment) -> str:
    """``M H * * *`` inside the environment's off-peak window, jittered by a hash of its name."""
    digest = int(hashlib.sha256(f"nightly_reconciliation:{env.name}".encode()).hexdigest(), 16)
    minute = digest % 60
    hour = (OFF_PEAK_START_HOUR.get(env.name, 2) + (digest // 60) % OFF_PEAK_HOURS) % 24
    return f"{minute} {hour} * * *"


def never_synced(context: ScheduleEvaluationContext) -> list[AssetKey]:
    """Ingested tables the parity checks compare that no sync has materialized yet (a new deployment:
    a census would find every vendor record missing, and its repair would be a full sync)."""
    keys = sorted({k.asset_key for c in PARITY_CHECKS for k in c.check_keys}, key=lambda k: k.to_user_string())
    records = context.instance.get_asset_records(keys)
    synced = {r.asset_entry.asset_key for r in records if r.asset_entry.last_materialization_record is not None}
    return [k for k in keys if k not in synced]


def nightly_schedule(env: Environment) -> ScheduleDefinition:
    def request(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        unsynced = never_synced(context)
        if unsynced:
            names = first_few([k.to_user_string() for k in unsynced])
            return SkipReason(f"nightly_reconciliation would compare vendors with tables never synced here "
                              f"({names}). {NEEDS_FULL_SYNC}")
        night = context.scheduled_execution_time.strftime("%Y-%m-%d")
        return RunRequest(run_key=f"nightly-{night}", tags={NIGHTLY_TAG: night})

    return ScheduleDefinition(
        name="nightly_reconciliation_schedule", job=nightly_reconciliation_job, cron_schedule=nightly_cron(env),
        execution_timezone="UTC", execution_fn=request,
        default_status=DefaultScheduleStatus.STOPPED if env.name == "local" else DefaultScheduleStatus.RUNNING,
        description=f"Once a night off-peak in {env.name} ({nightly_cron(env)} UTC): reconcile every vendor.",
    )
