"""Round 30c: a run left waiting to start for good (a launch that crashed) no longer stops the live sync.

A tick skips while a run of its job waits to start (round 30). A run left NOT_STARTED (the launch crashed
before it was submitted) never leaves that state, so the live sync skipped every tick for ever. A run still
NOT_STARTED after ``STALE_NOT_STARTED`` (30 min), or QUEUED longer than the longest a running sync may hold
the vendor's slot (6 h) plus that, is ignored now, with one warning.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from dagster import AssetMaterialization, DagsterRunStatus, build_schedule_context, instance_for_test
from dagster._core.definitions.instigation_logger import InstigationLogger
from dagster._core.remote_origin import InProcessCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.test_utils import create_run_for_test
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from sensors import schedules


@pytest.fixture(scope="module")
def tick():
    import definitions

    defs = definitions.build_definitions()
    repo = defs.get_repository_def()
    schedule = defs.resolve_schedule_def("servicenow_incidents_schedule")

    def evaluate(instance):
        with build_schedule_context(instance=instance, repository_def=repo,
                                    scheduled_execution_time=datetime.now(UTC)) as context:
            return schedule.evaluate_tick(context)

    return evaluate


@pytest.fixture
def instance():
    from assets.dbt import projectx_dbt_models

    with instance_for_test() as inst:
        for key in projectx_dbt_models.keys:  # past the first full build
            inst.report_runless_asset_event(AssetMaterialization(key))
        yield inst


@pytest.fixture
def warned(monkeypatch) -> list[str]:
    """What the schedule's tick log warned (its logger does not propagate to pytest's)."""
    said: list[str] = []
    original = InstigationLogger.warning

    def warning(self, msg, *args, **kwargs):
        said.append(str(msg))
        return original(self, msg, *args, **kwargs)

    monkeypatch.setattr(InstigationLogger, "warning", warning)
    return said


def _later(monkeypatch, delta: timedelta) -> None:
    start = datetime.now(UTC)
    monkeypatch.setattr(schedules, "_now", lambda: start + delta, raising=False)


def test_a_run_left_not_started_is_ignored_after_the_bound(tick, instance, monkeypatch, warned):
    crashed = create_run_for_test(instance, job_name="servicenow_incidents_sync",
                                  status=DagsterRunStatus.NOT_STARTED)
    skipped = tick(instance)
    assert not skipped.run_requests and crashed.run_id in skipped.skip_message, "a fresh one still waits"
    _later(monkeypatch, timedelta(minutes=29))
    assert not tick(instance).run_requests

    _later(monkeypatch, timedelta(minutes=31))
    first = tick(instance)
    assert len(first.run_requests) == 1, first.skip_message
    assert len(warned) == 1 and crashed.run_id in warned[0] and "ignored" in warned[0], warned
    # the requested run is made (as the daemon would): later ticks say nothing more about the stale one
    create_run_for_test(instance, job_name="servicenow_incidents_sync", status=DagsterRunStatus.STARTED)
    assert len(tick(instance).run_requests) == 1 and len(warned) == 1, warned


def test_a_queued_run_waits_behind_a_long_sync_but_not_for_ever(tick, instance, monkeypatch):
    origin = RemoteJobOrigin(RemoteRepositoryOrigin(InProcessCodeLocationOrigin(
        LoadableTargetOrigin(python_file="definitions.py")), "__repository__"), "servicenow_incidents_sync")
    queued = create_run_for_test(instance, job_name="servicenow_incidents_sync", status=DagsterRunStatus.QUEUED,
                                 remote_job_origin=origin)  # a queued run names its code location
    for hours in (0, 1, 6):  # behind a sync that may run up to 6 h (run monitoring's max_runtime_seconds)
        _later(monkeypatch, timedelta(hours=hours))
        skipped = tick(instance)
        assert not skipped.run_requests and queued.run_id in skipped.skip_message
    _later(monkeypatch, timedelta(hours=6, minutes=31))
    assert len(tick(instance).run_requests) == 1
