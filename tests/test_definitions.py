"""The Dagster definitions load and declare the lineage, cadence and freshness the spec asks for."""

from __future__ import annotations

import json

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
    assert schedule.cron_schedule == f"*/{env.servicenow_incident_minutes} * * * *"


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
        assert defs.resolve_schedule_def("jira_schedule").cron_schedule == env.cron_every(env.jira_minutes)


def _materialize_every_dbt_asset(instance) -> None:
    from assets.dbt import projectx_dbt_models

    for key in projectx_dbt_models.keys:
        instance.report_runless_asset_event(AssetMaterialization(key))


def test_a_new_deployment_builds_everything_once_before_vendor_jobs_run():
    """Vendor jobs build on a first full build: their schedules skip (naming the fix) until the dbt
    models they read exist, and the bootstrap sensor launches that full_sync once, by itself."""
    from datetime import UTC, datetime

    from dagster import build_schedule_context, build_sensor_context

    import definitions
    from sensors.bootstrap import BOOTSTRAP_RUN_KEY

    defs = definitions.build_definitions()
    repo = defs.get_repository_def()
    schedule = defs.resolve_schedule_def("servicenow_incidents_schedule")
    sensor = defs.resolve_sensor_def("warehouse_bootstrap")
    with instance_for_test() as instance:
        with build_schedule_context(instance=instance, repository_def=repo,
                                    scheduled_execution_time=datetime.now(UTC)) as context:
            tick = schedule.evaluate_tick(context)
        assert not tick.run_requests
        assert "full_sync" in tick.skip_message and "catalog/control_catalog" in tick.skip_message
        with build_sensor_context(instance=instance, repository_def=repo) as context:
            requests = sensor.evaluate_tick(context).run_requests
        assert [(r.run_key, r.job_name or "full_sync") for r in requests] == [(BOOTSTRAP_RUN_KEY, "full_sync")]

        _materialize_every_dbt_asset(instance)
        with build_schedule_context(instance=instance, repository_def=repo,
                                    scheduled_execution_time=datetime.now(UTC)) as context:
            assert len(schedule.evaluate_tick(context).run_requests) == 1
        with build_sensor_context(instance=instance, repository_def=repo) as context:
            assert not sensor.evaluate_tick(context).run_requests, "the first build happens once"


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
