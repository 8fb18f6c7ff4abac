"""The reverse-sync assets in Dagster: dry-run config and its plan metadata table, the guard as a
step failure that names the config flag, and the dead-letter check showing the breaker."""

from __future__ import annotations

import pytest
from dagster import AssetKey, materialize

from assets.reverse_sync.jira import jira_remediation_no_dead_letters, jira_remediation_push
from resources.jira import JiraResource
from resources.warehouse import WarehouseResource
from tests.conftest import jira_env
from tests.reverse_sync_helpers import jira_rows, query, write_outbound, writes

OP = "reverse_sync__jira_remediation_issues"


@pytest.fixture
def jira(make_jira_sandbox, duckdb_warehouse, monkeypatch):
    sb = make_jira_sandbox(size=60)
    jira_env(monkeypatch, sb)
    return sb


def _materialize(**config):
    return materialize([jira_remediation_push, jira_remediation_no_dead_letters], raise_on_error=False,
                       resources={"jira": JiraResource(backoff_base_seconds=0.0),
                                  "warehouse": WarehouseResource.from_env()},
                       run_config={"ops": {OP: {"config": config}}})


def _meta(result):
    mats = result.asset_materializations_for_node(OP)
    assert mats and mats[-1].asset_key == AssetKey(["reverse_sync", "jira_remediation_issues"])
    return mats[-1].metadata


def test_dry_run_asset_records_a_plan_table_and_writes_nothing(jira, duckdb_warehouse):
    write_outbound(duckdb_warehouse, "jira", jira_rows(4))
    result = _materialize(dry_run=True)
    assert result.success
    meta = _meta(result)
    assert meta["dry_run"].value is True and meta["writes"].value == 0 and writes(jira) == []
    records = meta["plan"].value.records
    assert len(records) == 4 * 8 and {r.data["operation"] for r in records} == {"create"}
    due = [r.data for r in records if r.data["field"] == "duedate"]
    assert {(d["before"], d["after"]) for d in due} == {("", "2026-12-01"), ("", "2026-12-02"), ("", "2026-12-03")}
    plans = query(duckdb_warehouse, f"select count(*), bool_and(dry_run) from reverse_sync.plans "
                                    f"where run_id = '{result.run_id}'")
    assert plans == [(32, True)]
    real = _materialize()
    assert real.success and _meta(real)["created"].value == 4 and len(writes(jira)) == 4
    check = real.get_asset_check_evaluations()[0]
    assert check.passed and check.metadata["breaker"].value["state"] == "closed"


def test_the_guard_fails_the_step_with_the_flag_to_confirm(jira, duckdb_warehouse):
    rows = jira_rows(12)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert _materialize().success
    write_outbound(duckdb_warehouse, "jira", [], like=rows)
    jira.clear_request_log()
    blocked = _materialize()
    assert not blocked.success and writes(jira) == []
    failure = next(e for e in blocked.all_events if e.is_step_failure).step_failure_data.user_failure_data
    assert "confirm_mass_change" in failure.description and "12 of 12" in failure.description
    assert _materialize(confirm_mass_change=True).success
    assert len(writes(jira)) == 12
