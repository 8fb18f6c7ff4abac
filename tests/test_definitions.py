"""The Dagster definitions load and declare the lineage, cadence and freshness the spec asks for."""

from __future__ import annotations

import json

from dagster import AssetKey

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
