"""Round 30, outside checker: README "Nightly reconciliation": what healing cannot fix becomes a
``reconciliation_drift`` task in ``marts.tasks`` for the connector's owner, and (spec §3.2) the task goes
when the drift does. Findings are written by the product's own ``record`` (as the nightly job writes them)
and dbt's drift model is run on them.
"""

from __future__ import annotations

import duckdb
import pytest

from assets.reconciliation.findings import Finding, record
from resources.warehouse import WarehouseResource
from tests.dbt_helpers import dbt

pytestmark = pytest.mark.slow  # two dbt runs

MODELS = ("--select", "stg_reconciliation__findings", "int_tasks__reconciliation_drift")


def _drift_tasks(settings, tmp_path) -> dict[str, tuple]:
    result = dbt(settings, tmp_path / "target", "run", *MODELS)
    assert result.returncode == 0, result.stdout[-3000:]
    with duckdb.connect(settings.duckdb_path, read_only=True) as con:
        rows = con.execute("select task_id, queue, labels, title from intermediate.int_tasks__reconciliation_drift"
                           ).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_a_drift_task_survives_reverse_sync_findings_and_closes_on_a_night_in_parity(duckdb_warehouse, tmp_path):
    warehouse = WarehouseResource.from_env()
    with warehouse.connect() as conn:
        # night 1: the ServiceNow census leaves a count mismatch unhealed; later in the same nightly run
        # the reverse-sync reconciliation relinks two remediation tasks (healed: no task of its own)
        record(conn, "night-1", [Finding("servicenow", "incidents", "count_mismatch", 1, 0, [], 120, 119)],
               in_parity_vendor="servicenow")
        record(conn, "night-1", [Finding("servicenow", "remediation_tasks", "link_relinked", 2, 2, ["a", "b"])])
        record(conn, "night-1", [Finding("jira", "issues", "missing_in_warehouse", 3, 1, ["10001", "10002"])],
               in_parity_vendor="jira")
    tasks = _drift_tasks(duckdb_warehouse, tmp_path)
    assert set(tasks) == {"reconciliation-servicenow-incidents-count_mismatch",
                          "reconciliation-jira-issues-missing_in_warehouse"}, \
        "a healed reverse-sync finding written later in the run hid the census's unhealed drift"
    queue, labels, title = tasks["reconciliation-jira-issues-missing_in_warehouse"]
    assert (queue, labels) == ("integrations-jira", "runbook:RB-003") and title.startswith("Follow RB-003: 2 of 3")

    with warehouse.connect() as conn:  # night 2: ServiceNow in parity (fixed by hand per RB-002); Jira still off
        record(conn, "night-2", [], in_parity_vendor="servicenow")
        record(conn, "night-2", [Finding("jira", "issues", "missing_in_warehouse", 2, 0, ["10001", "10002"])],
               in_parity_vendor="jira")
    tasks = _drift_tasks(duckdb_warehouse, tmp_path)
    assert set(tasks) == {"reconciliation-jira-issues-missing_in_warehouse"}, \
        "a night in parity closes the vendor's drift tasks"
    assert tasks["reconciliation-jira-issues-missing_in_warehouse"][2].startswith("Follow RB-003: 2 of 2")
    with warehouse.connect() as conn:
        kinds = conn.query("select vendor, kind, found, unhealed from reconciliation.findings where run_id = 'night-2' "
                           "order by vendor")
    assert [(r["vendor"], r["kind"], r["found"], r["unhealed"]) for r in kinds] == [
        ("jira", "missing_in_warehouse", 2, 2), ("servicenow", "in_parity", 0, 0)]
