"""A deployment builds every dbt model once, by itself, before its vendor jobs build on them.

Vendor jobs build only the dbt models downstream of their vendor, and their schedules skip while a
model they read was never built here (:func:`sensors.schedules.unbuilt_dbt_parents`): on a new
deployment, or after a release adds such a model. This sensor then launches a ``full_sync``, unless
one is already queued or running. Its run key names the missing models and the day, so a failing
full build is retried once a day rather than in a loop (operators rerun it from the UI sooner).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from assets.dbt import first_few
from assets.ingestion import LIVE_SYNC_TAG, current_partition_key
from resources.environment import Environment
from resources.flags import flag
from sensors.schedules import VENDOR_JOBS, full_sync_job, unbuilt_dbt_parents

IN_FLIGHT = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
             DagsterRunStatus.STARTED]


def bootstrap_sensor(env: Environment):
    status = DefaultSensorStatus.STOPPED if env.name == "local" else DefaultSensorStatus.RUNNING

    @sensor(name="warehouse_bootstrap", job=full_sync_job, minimum_interval_seconds=60, default_status=status,
            description="Launches full_sync when a vendor job reads dbt models never built here.")
    def warehouse_bootstrap(context: SensorEvaluationContext) -> RunRequest | SkipReason:
        missing = sorted({k.to_user_string() for job in VENDOR_JOBS for k in unbuilt_dbt_parents(context, job)})
        if not missing:
            return SkipReason("every dbt model the vendor jobs read has been built here")
        in_flight = context.instance.get_runs(
            filters=RunsFilter(job_name=full_sync_job.name, statuses=IN_FLIGHT), limit=1)
        if in_flight:
            return SkipReason(f"waiting for full_sync run {in_flight[0].run_id} to build {len(missing)} dbt models")
        off = [f for f in (flag(n, env.name) for n in ("servicenow", "jira", "onetrust")) if not f.enabled]
        selection = None
        if off:  # a disabled integration is not synced, even by the first full build
            if len(off) == 3:
                return SkipReason("; ".join(f.skip_reason() for f in off))
            graph = context.repository_def.asset_graph
            names = {f.integration for f in off}
            selection = [k for k in graph.get_all_asset_keys()
                         if graph.get(k).is_materializable and k.path[0] not in names]
            context.log.info("full_sync without %s: %s", ", ".join(sorted(names)),
                             "; ".join(f.skip_reason() for f in off))
        today = current_partition_key(datetime.now(UTC))  # one reading: the run key's day is its partition
        digest = hashlib.sha256(",".join(missing).encode()).hexdigest()[:12]
        context.log.info("vendor jobs read %d dbt models never built here (%s): launching full_sync",
                         len(missing), first_few(missing, 3))
        return RunRequest(run_key=f"warehouse-bootstrap:{today}:{digest}", partition_key=today,
                          tags={LIVE_SYNC_TAG: "true", "projectx/trigger": "warehouse_bootstrap"},
                          asset_selection=selection)

    return warehouse_bootstrap
