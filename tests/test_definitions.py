"""The Dagster definitions load and declare the lineage, cadence and freshness the spec asks for."""

from __future__ import annotations

import json

import pytest
from dagster import AssetKey, AssetMaterialization, instance_for_test

from assets.dbt import MANIFEST


def test_definitions_validate_as_dagster_loads_them():
    """What `dagster dev` does: names unique across ops and jobs, resources bound, schedules valid."""
    from dagster import Definitions

    import definitions

    Definitions.validate_loadable(definitions.build_definitions())


def test_definitions_load_with_one_connected_graph():
    import definitions

    graph = definitions.build_definitions().resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"servicenow/incidents", "staging/stg_servicenow__incidents", "marts/tasks",
            "marts/control_results", "outbound/servicenow_remediation_tasks",
            "reverse_sync/servicenow_remediation_tasks"} <= keys
    # ingestion -> staging -> ... -> reverse sync is one chain
    upstream = graph.get(AssetKey(["reverse_sync", "servicenow_remediation_tasks"]))
    seen, todo = set(), [upstream.key]
    while todo:
        key = todo.pop()
        seen.add(key)
        todo.extend(graph.get(key).parent_keys - seen)
    assert AssetKey(["servicenow", "incidents"]) in seen


def test_every_dbt_source_has_a_producing_asset():
    import definitions

    graph = definitions.build_definitions().resolve_asset_graph()
    manifest = json.loads(MANIFEST.read_text())
    for source in manifest["sources"].values():
        key = AssetKey(source["config"]["meta"]["dagster"]["asset_key"])
        node = graph.get(key)
        assert node.is_materializable, f"dbt source {source['unique_id']} has no producing asset ({key})"


def test_ingested_table_has_freshness_and_schedule_at_spec_cadence():
    import definitions
    from resources.environment import current_environment

    env = current_environment()
    node = definitions.build_definitions().resolve_asset_graph().get(AssetKey(["servicenow", "incidents"]))
    policy = node.freshness_policy
    assert policy is not None
    assert policy.fail_window.to_timedelta().total_seconds() == 2 * 60 * env.servicenow_incident_minutes
    schedule = definitions.build_definitions().resolve_schedule_def("servicenow_incidents_schedule")
    assert schedule.cron_schedule == env.cron_every(env.servicenow_incident_minutes, "servicenow_incidents_sync")


def test_dbt_tests_are_asset_checks():
    import definitions

    checks = {k.name for k in definitions.build_definitions().resolve_asset_graph().asset_check_keys}
    assert any(name.startswith("unique_") for name in checks)
    assert "servicenow_remediation_no_dead_letters" in checks


def test_every_vendor_has_schedule_and_freshness_at_its_cadence():
    import definitions
    from resources.environment import ENVIRONMENTS

    for name, env in ENVIRONMENTS.items():
        import os

        os.environ["PROJECTX_ENV"] = name
        try:
            defs = definitions.build_definitions()
        finally:
            os.environ.pop("PROJECTX_ENV")
        graph = defs.resolve_asset_graph()
        expected = {("jira", "issues"): env.jira_minutes, ("onetrust", "risks"): env.onetrust_hours * 60,
                    ("servicenow", "change_requests"): env.servicenow_change_minutes}
        for key, minutes in expected.items():
            policy = graph.get(AssetKey(list(key))).freshness_policy
            assert policy.fail_window.to_timedelta().total_seconds() == 2 * 60 * minutes, (name, key)
        assert defs.resolve_schedule_def("jira_schedule").cron_schedule == env.cron_every(env.jira_minutes, "jira_sync")


def _materialize_every_dbt_asset(instance) -> None:
    from assets.dbt import projectx_dbt_models

    for key in projectx_dbt_models.keys:
        instance.report_runless_asset_event(AssetMaterialization(key))


def test_a_new_deployment_builds_everything_once_before_vendor_jobs_run():
    """Vendor jobs build on a full build: their schedules skip (naming the fix) while dbt models they
    read were never built, and the bootstrap sensor launches full_sync unless one is in flight."""
    from datetime import UTC, datetime

    from dagster import DagsterRunStatus, build_schedule_context, build_sensor_context
    from dagster._core.test_utils import create_run_for_test

    import definitions

    defs = definitions.build_definitions()
    repo = defs.get_repository_def()
    schedule = defs.resolve_schedule_def("servicenow_incidents_schedule")
    sensor = defs.resolve_sensor_def("warehouse_bootstrap")
    assert sensor.job_name == "full_sync"

    def tick(definition, instance):
        if definition is schedule:
            with build_schedule_context(instance=instance, repository_def=repo,
                                        scheduled_execution_time=datetime.now(UTC)) as context:
                return schedule.evaluate_tick(context)
        with build_sensor_context(instance=instance, repository_def=repo) as context:
            return sensor.evaluate_tick(context)

    with instance_for_test() as instance:
        skipped = tick(schedule, instance)
        assert not skipped.run_requests
        assert "full_sync" in skipped.skip_message and "catalog/control_catalog" in skipped.skip_message
        [request] = tick(sensor, instance).run_requests
        assert request.run_key.startswith("warehouse-bootstrap:") and request.partition_key

        run = create_run_for_test(instance, job_name="full_sync", status=DagsterRunStatus.STARTED)
        waiting = tick(sensor, instance)
        assert not waiting.run_requests and run.run_id in waiting.skip_message
        instance.report_run_failed(run)

        _materialize_every_dbt_asset(instance)
        assert len(tick(schedule, instance).run_requests) == 1
        assert not tick(sensor, instance).run_requests, "nothing left to build"


def test_bootstrap_run_key_names_the_day_of_its_partition_at_midnight(monkeypatch):
    """A tick that reads the clock at 23:59:59.9 and again just after midnight: the run key's day and
    the partition it launches are the same day (one reading of the clock, not two)."""
    from datetime import UTC, datetime, timedelta

    from dagster import build_sensor_context

    import assets.ingestion
    import definitions
    import sensors.bootstrap

    # last midnight (Dagster itself checks the partition against the real clock, so no later day)
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)

    class Midnight(datetime):  # the first reading is before midnight, every later one after it
        readings = 0

        @classmethod
        def now(cls, tz=None):
            cls.readings += 1
            return midnight + timedelta(seconds=-0.1 if cls.readings == 1 else 0.1)

    monkeypatch.setattr(assets.ingestion, "datetime", Midnight)
    monkeypatch.setattr(sensors.bootstrap, "datetime", Midnight)
    defs = definitions.build_definitions()
    sensor = defs.resolve_sensor_def("warehouse_bootstrap")
    with instance_for_test() as instance, build_sensor_context(instance=instance,
                                                               repository_def=defs.get_repository_def()) as ctx:
        Midnight.readings = 0
        [request] = sensor.evaluate_tick(ctx).run_requests
    assert request.run_key.split(":")[1] == request.partition_key == (midnight - timedelta(days=1)).strftime("%Y-%m-%d")


def test_ingestion_is_partitioned_by_day_and_schedules_target_the_live_partition():
    from datetime import UTC, datetime

    from dagster import build_schedule_context

    import definitions
    from assets.ingestion import LIVE_SYNC_TAG, sync_window

    defs = definitions.build_definitions()
    graph = defs.resolve_asset_graph()
    for key in (("servicenow", "incidents"), ("jira", "issues"), ("onetrust", "risks")):
        node = graph.get(AssetKey(list(key)))
        assert node.partitions_def is not None and node.partitions_def.get_first_partition_key() == "2025-01-01"
        assert node.backfill_policy.max_partitions_per_run is None, "a backfill of any range is one sync"
    assert graph.get(AssetKey(["marts", "tasks"])).partitions_def is None, "marts are whole tables"
    assert defs.resolve_job_def("full_sync").partitions_def is not None

    when = datetime(2026, 3, 4, 10, 15, tzinfo=UTC)
    schedule = defs.resolve_schedule_def("servicenow_incidents_schedule")
    with instance_for_test() as instance, build_schedule_context(
            instance=instance, scheduled_execution_time=when, repository_def=defs.get_repository_def()) as context:
        _materialize_every_dbt_asset(instance)
        requests = schedule.evaluate_tick(context).run_requests
    assert [r.partition_key for r in requests] == ["2026-03-04"]
    assert requests[0].tags[LIVE_SYNC_TAG] == "true", "a queued run that starts after midnight stays live"

    class Ctx:  # what sync_window reads from an AssetExecutionContext
        has_partition_key = has_partition_key_range = True
        run = type("Run", (), {"tags": {}})

        def __init__(self, first, last):
            pd = node.partitions_def
            self.partition_time_window = type(pd.time_window_for_partition_key(first))(
                pd.time_window_for_partition_key(first).start, pd.time_window_for_partition_key(last).end)
            self.partition_key_range = type("R", (), {"start": first, "end": last})

    assert sync_window(Ctx("2026-03-04", "2026-03-04"), now=when) is None, "today's partition = live sync"
    scheduled_yesterday = Ctx("2026-03-03", "2026-03-03")
    scheduled_yesterday.run = type("Run", (), {"tags": {LIVE_SYNC_TAG: "true"}})
    assert sync_window(scheduled_yesterday, now=when) is None, "the schedule's tag wins over the clock"
    assert sync_window(Ctx("2026-03-03", "2026-03-03"), now=when) is not None
    start, end = sync_window(Ctx("2026-03-01", "2026-03-04"), now=when)
    assert (start.isoformat(), end) == ("2026-03-01T00:00:00+00:00", when), "a range reaching today ends now"
    start, end = sync_window(Ctx("2025-01-01", "2025-01-02"), now=when)
    assert start.year == 1970 and end.isoformat() == "2025-01-03T00:00:00+00:00", "first partition is open-ended"


def test_a_vendor_jobs_dbt_step_knows_every_relation_its_build_reads():
    """What a subset build reads but does not build: parents of its models and of their data tests."""
    from assets.dbt import unbuilt_parents

    results = AssetKey(["marts", "control_results"])
    evaluations = AssetKey(["intermediate", "int_control_evaluations"])
    present = {("intermediate", "int_control_evaluations")}
    # control_results reads only the evaluations; its relationships test reads the control catalog
    assert unbuilt_parents([results], lambda schema, name: False) == [
        "catalog.control_catalog", "intermediate.int_control_evaluations"]
    assert unbuilt_parents([results], lambda schema, name: (schema, name) in present) == ["catalog.control_catalog"]
    assert "intermediate.int_control_evaluations" not in unbuilt_parents([results, evaluations], lambda s, n: False)


def test_scale_out_backfills_split_into_weekly_runs(monkeypatch):
    """Embedded: a backfill is one run over the range. Scale-out (Celery): runs of 7 days (configurable),
    the ingestion sync and its side tables alike, so the run queue spreads a long backfill over workers."""
    import definitions
    from resources.scale_out import backfill_days_per_run

    def policies() -> set:
        graph = definitions.build_definitions().resolve_asset_graph()
        return {graph.get(AssetKey(list(k))).backfill_policy.max_partitions_per_run
                for k in (("servicenow", "incidents"), ("jira", "issues"), ("onetrust", "risks"),
                          ("servicenow", "quarantine"))}

    monkeypatch.setenv("PROJECTX_WAREHOUSE", "postgres")
    monkeypatch.setenv("PROJECTX_EXECUTOR", "celery")
    assert policies() == {7}
    monkeypatch.setenv("PROJECTX_BACKFILL_DAYS_PER_RUN", "3")
    assert policies() == {3}
    monkeypatch.setenv("PROJECTX_BACKFILL_DAYS_PER_RUN", "0")
    assert policies() == {None}
    monkeypatch.setenv("PROJECTX_BACKFILL_DAYS_PER_RUN", "week")
    with pytest.raises(ValueError, match=r"PROJECTX_BACKFILL_DAYS_PER_RUN='week'.*e\.g\. 7"):
        backfill_days_per_run()


def test_a_builds_parse_is_kept_for_the_next_build(tmp_path):
    """dagster-dbt seeds each build's own target folder from target/partial_parse.msgpack; the build's
    file replaces it (whole, never half-written), so the next build on that profile parses only what
    changed."""
    from assets.dbt import keep_partial_parse

    kept, build = tmp_path / "target", tmp_path / "target" / "projectx_dbt_models-abc"
    build.mkdir(parents=True)
    (kept / "partial_parse.msgpack").write_bytes(b"made by make setup")
    (build / "partial_parse.msgpack").write_bytes(b"made by the build" * 1000)
    keep_partial_parse(build, into=kept)
    assert (kept / "partial_parse.msgpack").read_bytes() == b"made by the build" * 1000
    assert sorted(p.name for p in kept.iterdir()) == ["partial_parse.msgpack", "projectx_dbt_models-abc"]
    keep_partial_parse(tmp_path / "a build that failed before parsing", into=kept)  # nothing to keep
    assert (kept / "partial_parse.msgpack").read_bytes() == b"made by the build" * 1000


def test_a_successful_build_leaves_its_parse_and_no_folder_and_old_failed_ones_are_pruned(tmp_path):
    """Each build's folder (compiled SQL, log) went unpruned: 17 MB a full build, every scheduled run.
    A successful build removes its own; failed ones stay for the operator, the newest ten of them,
    and none touched within the hour (another run's build may be writing it)."""
    import os

    from assets.dbt import finish_build_folder, prune_build_folders

    target = tmp_path / "target"
    build = target / "projectx_dbt_models-ok"
    (build / "compiled").mkdir(parents=True)
    (build / "partial_parse.msgpack").write_bytes(b"parse")
    finish_build_folder(build, into=target)
    assert sorted(p.name for p in target.iterdir()) == ["partial_parse.msgpack"]

    now = 1_000_000.0
    for age_h in range(14):  # failed builds 0..13 hours old; the two newest are inside the grace hour
        folder = target / f"projectx_dbt_models-failed{age_h:02d}"
        folder.mkdir()
        (folder / "dbt.log").write_text("error")
        os.utime(folder, (now - age_h * 3600 + 1800, now - age_h * 3600 + 1800))
    (target / "compiled").mkdir()  # dbt's own folders are not builds
    removed = prune_build_folders(target, keep=10, grace_s=3600, now=now)
    assert sorted(p.name for p in removed) == [f"projectx_dbt_models-failed{h}" for h in (10, 11, 12, 13)]
    left = sorted(p.name for p in target.iterdir())
    assert left == ["compiled", "partial_parse.msgpack"] + [f"projectx_dbt_models-failed{h:02d}" for h in range(10)]
    recent = prune_build_folders(target, keep=0, grace_s=3600, now=now)  # only the grace hour survives
    assert len(recent) == 8 and sorted(p.name for p in target.glob("projectx_dbt_models-*")) == [
        "projectx_dbt_models-failed00", "projectx_dbt_models-failed01"]


def test_scheduled_builds_skip_the_debug_log_and_json_artifacts_unless_the_operator_asks():
    """dbt's debug log file and JSON artifacts cost ~4 s of a 21 s build; an operator's variable wins."""
    from assets.dbt import build_global_flags

    assert build_global_flags({}) == ["--log-level-file", "warn", "--no-write-json"]
    assert build_global_flags({"DBT_LOG_LEVEL_FILE": "debug"}) == ["--no-write-json"]
    assert build_global_flags({"DBT_LOG_LEVEL_FILE": "debug", "DBT_WRITE_JSON": "true"}) == []


def test_the_dbt_resource_knows_its_version_without_running_dbt(monkeypatch):
    """The dbt beside this interpreter is the imported one: no `dbt --version` subprocess per build."""
    import dagster_dbt.core.resource as dbt_core_resource
    from dbt.version import __version__

    from assets.dbt import dbt_resource

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"ran {args[0]}")

    monkeypatch.setattr(dbt_core_resource, "check_output", no_subprocess)
    assert str(dbt_resource()._cli_version) == __version__


def test_the_dbt_resource_builds_no_adapter_in_the_step_process(monkeypatch):
    """The build streams dbt's events; the in-process adapter (1.4 s per build) is built only on request,
    for an asset that fetches row counts or column metadata through it."""
    from dagster_dbt import DbtCliResource

    from assets.dbt import dbt_resource

    built = []
    monkeypatch.setattr(DbtCliResource, "_initialize_dbt_core_adapter",
                        lambda self, args: built.append(args) or "adapter")
    assert dbt_resource()._initialize_dbt_core_adapter(["build"]) is None and built == []
    wanted = dbt_resource().model_copy(update={"in_process_adapter": True})
    assert wanted._initialize_dbt_core_adapter(["build"]) == "adapter" and built == [["build"]]
