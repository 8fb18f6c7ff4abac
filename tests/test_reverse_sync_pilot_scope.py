"""Pilot scope for ServiceNow: with ``pilot.assignment_groups`` set on integration.servicenow.enabled,
reverse sync pushes only the remediation tasks of those groups; the others wait (in the plan and the
asset's metadata as skipped, naming the flag; not closed, not dead-lettered) and go once the scope
includes them."""

from __future__ import annotations

import pytest
from dagster import materialize

from assets.reverse_sync.servicenow import remediation_table, servicenow_remediation_push
from resources.servicenow import ServiceNowResource
from resources.warehouse import WarehouseResource
from tests.conftest import sandbox_env
from tests.reverse_sync_helpers import query, run, write_outbound

SCOPE_VAR = "INTEGRATION_SERVICENOW_PILOT_ASSIGNMENT_GROUPS"
FLAG = "integration.servicenow.enabled"


def task_rows(groups: list[str]) -> list[dict]:
    return [{"remediation_task_id": f"rem-sn-{i:03d}", "control_id": "SN-CHG-01", "object_id": f"CHG{i:05d}",
             "cmdb_ci_id": "", "due_at": "2026-12-10 09:00:00", "short_description": f"Task {i}",
             "description": f"Automated control SN-CHG-01 failed for CHG{i:05d}.", "priority": 2,
             "assignment_group": group} for i, group in enumerate(groups)]


@pytest.fixture
def servicenow(make_servicenow_sandbox, duckdb_warehouse, monkeypatch):
    sb = make_servicenow_sandbox(size=20)
    sandbox_env(monkeypatch, sb)
    return sb


def _ours(sb) -> set[str]:
    return {r["correlation_id"] for r in sb.records(remediation_table()) if r.get("correlation_id")}


def test_only_pilot_groups_are_pushed_the_rest_wait_as_skipped(servicenow, duckdb_warehouse, monkeypatch):
    rows = task_rows(["CMDB Stewards", "GRC Remediation", "cmdb stewards", "GRC Remediation", ""])
    write_outbound(duckdb_warehouse, "servicenow", rows)
    monkeypatch.setenv(SCOPE_VAR, "CMDB Stewards")
    first = run("servicenow", run_id="pilot-1")
    assert first.created == 2 and first.skipped_pilot_scope == 3 and first.dead_lettered == 0
    assert _ours(servicenow) == {"rem-sn-000", "rem-sn-002"}
    skipped = query(duckdb_warehouse, "select internal_id, operation, reason from reverse_sync.plans "
                                      "where run_id = 'pilot-1' and outcome = 'skipped' order by internal_id")
    assert [s[0] for s in skipped] == ["rem-sn-001", "rem-sn-003", "rem-sn-004"]
    assert all(s[1] == "create" and FLAG in s[2] and "assignment_group" in s[2] for s in skipped)
    assert query(duckdb_warehouse, "select count(*) from reverse_sync.dead_letters")[0][0] == 0

    # a pushed task outside a narrower scope is neither updated nor closed: it waits too
    rows[0]["description"] = "changed in Project X"
    write_outbound(duckdb_warehouse, "servicenow", rows)
    monkeypatch.setenv(SCOPE_VAR, "Nobody")
    narrowed = run("servicenow", run_id="pilot-2")
    assert narrowed.skipped_pilot_scope == 4 and narrowed.unchanged == 1
    assert narrowed.updated == narrowed.closed == narrowed.writes == 0

    monkeypatch.delenv(SCOPE_VAR)  # no scope: everyone (the file sets none locally)
    result = materialize([servicenow_remediation_push], resources={
        "servicenow": ServiceNowResource(backoff_base_seconds=0.0), "warehouse": WarehouseResource.from_env()})
    meta = result.asset_materializations_for_node(servicenow_remediation_push.op.name)[0].metadata
    assert meta["created"].value == 3 and meta["updated"].value == 1 and meta["skipped_pilot_scope"].value == 0
    assert _ours(servicenow) == {r["remediation_task_id"] for r in rows}


def test_skipped_rows_name_the_flag_in_the_assets_metadata(servicenow, duckdb_warehouse, monkeypatch):
    write_outbound(duckdb_warehouse, "servicenow", task_rows(["GRC Remediation", "CMDB Stewards"]))
    monkeypatch.setenv(SCOPE_VAR, "CMDB Stewards")
    result = materialize([servicenow_remediation_push], resources={
        "servicenow": ServiceNowResource(backoff_base_seconds=0.0), "warehouse": WarehouseResource.from_env()})
    meta = result.asset_materializations_for_node(servicenow_remediation_push.op.name)[0].metadata
    assert meta["created"].value == 1 and meta["skipped_pilot_scope"].value == 1
    assert meta["skipped_by_flag"].value == FLAG
    plan = {r.data["internal_id"]: r.data for r in meta["plan"].value.records}
    assert plan["rem-sn-000"]["outcome"] == "skipped" and FLAG in plan["rem-sn-000"]["reason"]
