"""A new deployment starts its own first full build.

Vendor jobs build only the dbt models downstream of their vendor, on top of a first full build, and
their schedules skip until it exists (:func:`sensors.schedules.unbuilt_dbt_parents`). This sensor
launches that first ``full_sync`` where no dbt model was ever materialized: once per deployment (its
run key), so a failing first build is not relaunched in a loop; operators rerun it from the UI.
"""

from __future__ import annotations

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SkipReason, sensor

from assets.dbt import projectx_dbt_models
from assets.ingestion import LIVE_SYNC_TAG, current_partition_key
from resources.environment import Environment
from sensors.schedules import full_sync_job

BOOTSTRAP_RUN_KEY = "warehouse-bootstrap"


def bootstrap_sensor(env: Environment):
    status = DefaultSensorStatus.STOPPED if env.name == "local" else DefaultSensorStatus.RUNNING

    @sensor(name="warehouse_bootstrap", job=full_sync_job, minimum_interval_seconds=60, default_status=status,
            description="Launches the first full_sync of a deployment whose dbt models were never built.")
    def warehouse_bootstrap(context: SensorEvaluationContext) -> RunRequest | SkipReason:
        records = context.instance.get_asset_records(list(projectx_dbt_models.keys))
        if any(r.asset_entry.last_materialization_record is not None for r in records):
            return SkipReason("the dbt models have been built here; vendor jobs keep them current")
        return RunRequest(run_key=BOOTSTRAP_RUN_KEY, partition_key=current_partition_key(),
                          tags={LIVE_SYNC_TAG: "true", "projectx/trigger": "bootstrap"})

    return warehouse_bootstrap
