"""Round 30b: what the ServiceNow push says when it did not send everything.

- The account-wide write refusal stop (refusal.py) was in the run's log and the CLI, not in the Dagster
  materialization: a data engineer in the UI saw counts only. Now ``stopped`` (secrets masked) is in its metadata.
- After a push whose look-up of our ids answered 401, the CLI printed "paused_circuit_open 2; circuit closed": the
  creates were paused by the failed look-up (a create could make a second record), not by the breaker, and the
  CLI said nothing of why. Now the count reads "paused" unless the circuit is open, with one line naming why.
End to end against the ServiceNow sandbox over HTTP.
"""

from __future__ import annotations

from dagster import DagsterInstance, materialize

from assets.reverse_sync.servicenow import servicenow_remediation_push
from cli.reverse_sync import run_reverse_sync
from resources.servicenow import ServiceNowResource
from resources.warehouse import WarehouseResource
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import run, write_outbound
from tests.test_reverse_sync_servicenow import remediation_rows

servicenow = attacks.servicenow  # the sandbox fixture
WRITES = ["POST", "PATCH", "PUT", "DELETE"]


def test_the_refusal_stop_is_in_the_materialization_metadata_with_secrets_masked(
        servicenow, duckdb_warehouse, monkeypatch):
    rows = remediation_rows(5)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    assert run("servicenow").created == 5
    write_outbound(duckdb_warehouse, "servicenow", remediation_rows(10))
    servicenow.faults.replace(rate_403=1.0, methods=WRITES)  # the integration user lost its roles
    monkeypatch.setenv("R30B_FAKE_API_TOKEN", "rest_service")  # a secret value that shows up in the text
    resources = {"servicenow": ServiceNowResource(), "warehouse": WarehouseResource.from_env()}
    with DagsterInstance.ephemeral() as instance:
        result = materialize([servicenow_remediation_push], instance=instance, resources=resources)
    assert result.success
    [mat] = result.asset_materializations_for_node("reverse_sync__servicenow_remediation_tasks")
    assert mat.metadata["deferred_refused"].value == 2 and mat.metadata["dead_lettered"].value == 3
    stopped = mat.metadata["stopped"].value
    assert "refused for the whole account" in stopped and "2 records deferred" in stopped and "itil" in stopped
    assert "rest_service" not in stopped and "***" in stopped, "secret values are masked"


def test_no_stopped_entry_when_the_push_sent_everything(servicenow, duckdb_warehouse):
    write_outbound(duckdb_warehouse, "servicenow", remediation_rows(2))
    resources = {"servicenow": ServiceNowResource(), "warehouse": WarehouseResource.from_env()}
    with DagsterInstance.ephemeral() as instance:
        result = materialize([servicenow_remediation_push], instance=instance, resources=resources)
    [mat] = result.asset_materializations_for_node("reverse_sync__servicenow_remediation_tasks")
    assert mat.metadata["created"].value == 2 and "stopped" not in mat.metadata


def test_creates_paused_by_a_failed_look_up_are_not_called_circuit_open(servicenow, duckdb_warehouse, capsys):
    rows = remediation_rows(3)
    write_outbound(duckdb_warehouse, "servicenow", rows[:1])
    run("servicenow")
    rows[0]["description"] += " (changed)"
    write_outbound(duckdb_warehouse, "servicenow", rows)
    servicenow.faults.replace(rate_401=1.0)  # the credentials are refused: look-up and write answer 401
    assert run_reverse_sync("servicenow", run_id="cli-401") == 1
    out = capsys.readouterr().out
    [summary] = [x for x in out.splitlines() if x.startswith("summary:")]
    assert "paused 2" in summary and "circuit_open" not in summary and summary.endswith("circuit closed")
    [paused] = [x for x in out.splitlines() if x.startswith("paused:")]
    assert "2 records not sent" in paused and "could not look for records already carrying our ids" in paused
    assert "401" in paused and "the circuit is closed" in paused
    assert servicenow.credentials["password"] not in out


def test_records_paused_by_an_open_circuit_keep_the_name(servicenow, duckdb_warehouse, capsys):
    rows = remediation_rows(6)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    servicenow.faults.replace(rate_5xx=1.0, status_5xx=503, methods=["POST"])
    report = run("servicenow", run_id="down", circuit_breakers=True, breaker_threshold=2, concurrency=1)
    assert report.breaker_state == "open" and report.paused_circuit_open == 4, report.as_metadata()
    assert "circuit" in report.paused_reason
