"""Round 30, outside checker: a vendor whose sync hangs does not pile up queued runs.

Every 5 minutes a schedule asks for the live sync; one live sync per vendor runs at a time (the
warehouse pool, and the scale-out profile's tag limits). Before round 30, while one sync hung, every tick
queued another run: an hour's stall left a dozen runs waiting, each then reading the same cursor. Now a
tick skips while a run of its job has not started yet (that run will read everything since the cursor).
"""

from __future__ import annotations

from dagster import AssetMaterialization, DagsterRunStatus, instance_for_test
from dagster._core.test_utils import create_run_for_test

from tests import test_round30c_schedules as stale

tick = stale.tick  # servicenow_incidents_schedule evaluated on an instance


def test_a_tick_adds_no_run_while_one_of_its_job_waits_to_start(tick):
    from assets.dbt import projectx_dbt_models

    with instance_for_test() as instance:
        for key in projectx_dbt_models.keys:  # past the first full build
            instance.report_runless_asset_event(AssetMaterialization(key))
        running = create_run_for_test(instance, job_name="servicenow_incidents_sync", status=DagsterRunStatus.STARTED)
        assert len(tick(instance).run_requests) == 1, "a running sync may already be past its cursor: queue one"
        other = create_run_for_test(instance, job_name="jira_sync", status=DagsterRunStatus.NOT_STARTED)
        assert len(tick(instance).run_requests) == 1, "another job's queued run is not this job's"
        queued = create_run_for_test(instance, job_name="servicenow_incidents_sync",
                                     status=DagsterRunStatus.NOT_STARTED)
        for _ in range(3):
            skipped = tick(instance)
            assert not skipped.run_requests and queued.run_id in skipped.skip_message
            assert "waiting to start" in skipped.skip_message
        instance.report_run_failed(running)
        instance.report_run_failed(other)
        instance.report_run_failed(queued)  # it started, and failed
        assert len(tick(instance).run_requests) == 1, "nothing waits any more: the next tick requests a run"
