"""Feature flags integration.<name>.enabled: a disabled integration stops without errors (schedules
skip naming the flag, the first full build leaves it out, reverse writes pause, health shows it
disabled, not red), and re-enabling resumes from the stored cursor with nothing lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from dagster import AssetKey, AssetMaterialization, build_schedule_context, build_sensor_context, instance_for_test
from starlette.testclient import TestClient

from resources import flags
from resources.environment import ENVIRONMENTS


def test_file_then_vault_then_environment_variable(vault, monkeypatch, tmp_path):
    addr, root, client = vault
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    monkeypatch.delenv("INTEGRATION_JIRA_ENABLED", raising=False)
    assert flags.flag("jira", "prod").enabled and flags.flag("jira", "prod").source == "feature_flags.yml"
    client.secrets.kv.v2.create_or_update_secret(path="integrations/prod/flags", mount_point="secret",
                                                 secret={"integration.jira.enabled": "false"})
    monkeypatch.setenv("VAULT_ADDR", addr)
    monkeypatch.setenv("VAULT_TOKEN", root)
    flags._VAULT_CACHE.clear()
    off = flags.flag("jira", "prod")
    assert not off.enabled and off.source == "Vault" and "integration.jira.enabled" in off.skip_reason()
    monkeypatch.setenv("INTEGRATION_JIRA_ENABLED", "true")
    assert flags.flag("jira", "prod").enabled
    monkeypatch.setenv("INTEGRATION_JIRA_ENABLED", "maybe")
    with pytest.raises(ValueError, match="INTEGRATION_JIRA_ENABLED"):
        flags.flag("jira", "prod")
    flags._VAULT_CACHE.clear()


def _materialize_every_dbt_asset(instance) -> None:
    from assets.dbt import projectx_dbt_models

    for key in projectx_dbt_models.keys:
        instance.report_runless_asset_event(AssetMaterialization(key))


@pytest.mark.slow
def test_disabled_stops_without_errors_and_reenabling_resumes_from_the_cursor(
        make_servicenow_sandbox, duckdb_warehouse, monkeypatch):
    from dagster import materialize

    import definitions
    from assets.ingestion import LIVE_SYNC_TAG, current_partition_key
    from assets.reverse_sync.servicenow import remediation_table, servicenow_remediation_push
    from assets.servicenow import build_servicenow_assets
    from resources.servicenow import ServiceNowResource
    from resources.warehouse import WarehouseResource
    from tests.conftest import sandbox_env
    from webhooks.app import create_app
    from webhooks.operations.state import HealthReader

    monkeypatch.setenv("PROJECTX_ENV", "local")
    sandbox = make_servicenow_sandbox(size=80)
    sandbox_env(monkeypatch, sandbox)
    resources = {"dlt": __import__("dagster_dlt").DagsterDltResource(), "servicenow": ServiceNowResource(),
                 "warehouse": WarehouseResource.from_env()}

    def sync(instance):
        result = materialize(build_servicenow_assets(), instance=instance, resources=resources,
                             partition_key=current_partition_key(), selection=[AssetKey(["servicenow", "incidents"])],
                             tags={LIVE_SYNC_TAG: "true"})  # as the schedule: live even if it starts past midnight
        assert result.success
        [mat] = [m for m in result.asset_materializations_for_node("servicenow_ingest")
                 if m.asset_key == AssetKey(["servicenow", "incidents"])]
        return mat.metadata["rows_loaded"].value

    defs = definitions.build_definitions()
    repo = defs.get_repository_def()
    schedule = defs.resolve_schedule_def("servicenow_incidents_schedule")
    sensor = defs.resolve_sensor_def("warehouse_bootstrap")
    with instance_for_test() as instance:
        assert sync(instance) == 80
        monkeypatch.setenv("INTEGRATION_SERVICENOW_ENABLED", "false")
        touched = set(sandbox.touch("incident", n=7))  # the vendor moves on while the integration is off
        with build_schedule_context(instance=instance, repository_def=repo,
                                    scheduled_execution_time=datetime.now(UTC)) as context:
            tick = schedule.evaluate_tick(context)
        assert not tick.run_requests and "integration.servicenow.enabled is false" in tick.skip_message
        with build_sensor_context(instance=instance, repository_def=repo) as context:
            [request] = sensor.evaluate_tick(context).run_requests
        assert request.asset_selection and not any(k.path[0] == "servicenow" for k in request.asset_selection)
        assert AssetKey(["jira", "issues"]) in request.asset_selection
        pushed = materialize([servicenow_remediation_push], instance=instance, resources=resources)
        assert pushed.success  # paused, not failed: no outbound read, no vendor write
        [mat] = pushed.asset_materializations_for_node("reverse_sync__servicenow_remediation_tasks")
        assert mat.metadata["paused_by_flag"].value == "integration.servicenow.enabled"
        assert sandbox.records(remediation_table()) == []
        later = datetime.now(UTC) + timedelta(hours=5)  # long past 2x the interval: disabled, not red
        reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=ENVIRONMENTS["local"],
                              clock=lambda: later)
        app = TestClient(create_app(operations=reader))
        assert app.get("/integration-health.json").json()["connectors"]["servicenow"]["light"] == "disabled"
        metrics = app.get("/metrics").text
        assert 'integration_status{connector="servicenow"} 0.0' in metrics
        assert 'integration_enabled{connector="servicenow"} 0.0' in metrics
        assert "integration.servicenow.enabled = false" in app.get("/integration-health").text

        monkeypatch.setenv("INTEGRATION_SERVICENOW_ENABLED", "true")
        _materialize_every_dbt_asset(instance)
        with build_schedule_context(instance=instance, repository_def=repo,
                                    scheduled_execution_time=datetime.now(UTC)) as context:
            assert len(schedule.evaluate_tick(context).run_requests) == 1
        assert sync(instance) == len(touched)  # from the stored cursor: only what changed meanwhile
    vendor = {r["sys_id"]: r["sys_updated_on"] for r in sandbox.records("incident")}
    with duckdb.connect(duckdb_warehouse.duckdb_path, read_only=True) as con:
        stored = dict(con.execute("select sys_id, sys_updated_on from servicenow.incidents").fetchall())
    assert set(stored) == set(vendor)  # nothing lost
    assert all(str(stored[s])[:19].replace("T", " ") == vendor[s][:19] for s in touched)
