"""ServiceNow reverse sync against the ServiceNow sandbox over HTTP: pushed remediation records are
ingested back incrementally, reruns with no change write nothing, and every write carries the
correlation id its audit row records."""

from __future__ import annotations

import json

import pytest

from assets.reverse_sync.servicenow import STATE_CLOSED, remediation_table
from pipelines.servicenow.settings import DEFAULT_REMEDIATION_TABLE
from tests.conftest import sandbox_env
from tests.reverse_sync_helpers import query, run, write_outbound, writes
from tests.test_servicenow_source import _source


@pytest.fixture
def servicenow(make_servicenow_sandbox, duckdb_warehouse, monkeypatch):
    sb = make_servicenow_sandbox(size=40)
    sandbox_env(monkeypatch, sb)
    return sb


def remediation_rows(n: int, *, start: int = 0) -> list[dict]:
    return [{"remediation_task_id": f"rem-sn-{i:05d}", "control_id": "SN-CMDB-01", "object_id": f"ci-{i:05d}",
             "cmdb_ci_id": "", "due_at": "2026-12-01 00:00:00",
             "short_description": f"Project X SN-CMDB-01: CI has an owner (ci-{i:05d})",
             "description": f"Automated control SN-CMDB-01 failed for ci-{i:05d}: no owner.", "priority": 3}
            for i in range(start, start + n)]


def _ingest(settings, sb) -> int:
    """One incremental sync of the remediation table; returns the rows it loaded."""
    pipeline = settings.pipeline("servicenow")
    pipeline.run(_source(sb, tables=[DEFAULT_REMEDIATION_TABLE], attachments=False), loader_file_format="parquet")
    return pipeline.last_trace.last_normalize_info.row_counts.get("remediation_tasks", 0)


def _records(sb) -> dict[str, dict]:
    return {r["correlation_id"]: r for r in sb.records(remediation_table())}


def _pushes(settings, run_id: str) -> list[tuple]:
    return query(settings, f"""select correlation_id, operation, object_id, status from audit.events
        where action = 'push' and system = 'servicenow' and run_id = '{run_id}' order by occurred_at""")


def test_pushed_records_are_ingested_incrementally_and_a_vendor_close_loads_one_row(servicenow, duckdb_warehouse):
    write_outbound(duckdb_warehouse, "servicenow", remediation_rows(8))
    assert run("servicenow").created == 8

    assert _ingest(duckdb_warehouse, servicenow) == 8
    stored = dict(query(duckdb_warehouse, "select correlation_id, sys_id from servicenow.remediation_tasks"))
    assert stored == {k: r["sys_id"] for k, r in _records(servicenow).items()}
    assert _ingest(duckdb_warehouse, servicenow) == 0, "the overlap re-read loads no unchanged row"

    record = _records(servicenow)["rem-sn-00003"]
    servicenow.update(remediation_table(), record["sys_id"], {"state": STATE_CLOSED})  # a person closes it
    assert _ingest(duckdb_warehouse, servicenow) == 1
    assert query(duckdb_warehouse, "select state, active from servicenow.remediation_tasks "
                                   f"where sys_id = '{record['sys_id']}'") == [(STATE_CLOSED, "false")]

    # A malformed record is quarantined with its reason, as for every ServiceNow table.
    other = _records(servicenow)["rem-sn-00005"]
    servicenow.update(remediation_table(), other["sys_id"], {"due_date": "2026-02-30 25:61:00"})
    assert _ingest(duckdb_warehouse, servicenow) == 0
    quarantined = query(duckdb_warehouse, "select entity, reason from servicenow.quarantine")
    assert [(e, "due_date" in r) for e, r in quarantined] == [("remediation_tasks", True)]


def test_a_configured_table_name_is_the_one_ingested(monkeypatch):
    """SERVICENOW_REMEDIATION_TABLE renames the table for the push and the ingestion alike."""
    from pipelines.servicenow.schemas import table_schema
    from pipelines.servicenow.settings import TABLES, resolved

    monkeypatch.setenv("SERVICENOW_REMEDIATION_TABLE", "u_grc_fix")
    spec = resolved(TABLES[DEFAULT_REMEDIATION_TABLE])
    assert (spec.table, spec.resource, remediation_table()) == ("u_grc_fix", "remediation_tasks", "u_grc_fix")
    assert "correlation_id" in table_schema(spec.table).columns, "validated as a remediation table"
    assert resolved(TABLES["incident"]).table == "incident"


def test_ten_reruns_write_nothing_and_every_write_carries_its_audited_correlation_id(servicenow, duckdb_warehouse):
    rows = remediation_rows(6)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    servicenow.clear_request_log()
    assert run("servicenow", run_id="first").created == 6
    sent = writes(servicenow)
    assert [r["method"] for r in sent] == ["POST"] * 6
    audited = _pushes(duckdb_warehouse, "first")
    assert [(op, status) for _, op, _, status in audited] == [("create", "201")] * 6
    assert {r["correlation_id"] for r in sent} == {a[0] for a in audited} and None not in {a[0] for a in audited}

    servicenow.clear_request_log()
    for i in range(10):
        assert run("servicenow", run_id=f"again-{i}").writes == 0, i
    assert writes(servicenow) == [], "ten reruns with no change write nothing to ServiceNow"
    assert query(duckdb_warehouse, "select count(*) from audit.events where action = 'push' "
                                   "and run_id like 'again-%'") == [(0,)]

    # Closed at ServiceNow while the control still fails: the vendor wins the status, nothing is
    # written back (no reopen), run after run.
    closed = _records(servicenow)["rem-sn-00001"]
    servicenow.update(remediation_table(), closed["sys_id"], {"state": STATE_CLOSED})
    servicenow.clear_request_log()
    for i in range(3):
        assert run("servicenow", run_id=f"closed-{i}").writes == 0, i
    assert writes(servicenow) == [] and _records(servicenow)["rem-sn-00001"]["state"] == STATE_CLOSED

    # A Project X-side change is one PATCH with the run's correlation id, audited under the same id,
    # and leaves the vendor's closed state alone.
    rows[1]["description"] = rows[1]["description"] + " Owner team: platform."
    write_outbound(duckdb_warehouse, "servicenow", rows)
    servicenow.clear_request_log()
    assert run("servicenow", run_id="edit").updated == 1
    sent = writes(servicenow)
    assert [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in sent] == [("PATCH", closed["sys_id"])]
    audited = _pushes(duckdb_warehouse, "edit")
    assert [(c, o, s) for c, _, o, s in audited] == [(sent[0]["correlation_id"], closed["sys_id"], "200")]
    record = _records(servicenow)["rem-sn-00001"]
    assert record["state"] == STATE_CLOSED and record["description"].endswith("platform.")
    detail = query(duckdb_warehouse, "select detail from audit.events where run_id = 'edit'")[0][0]
    assert json.loads(detail)["internal_id"] == "rem-sn-00001"


def test_when_the_control_passes_only_records_still_open_at_servicenow_are_closed(servicenow, duckdb_warehouse):
    """Vendor wins for status: a record a person already closed (even Closed Incomplete) is left as
    it is when its control passes; the one still open is closed by Project X, with the header."""
    rows = remediation_rows(3)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    run("servicenow", run_id="create")
    records = _records(servicenow)
    servicenow.update(remediation_table(), records["rem-sn-00000"]["sys_id"], {"state": "4"})
    servicenow.update(remediation_table(), records["rem-sn-00001"]["sys_id"], {"state": STATE_CLOSED})

    write_outbound(duckdb_warehouse, "servicenow", [], like=rows)  # every control passes again
    servicenow.clear_request_log()
    assert run("servicenow", run_id="dry", dry_run=True).writes == 0 and writes(servicenow) == []
    assert run("servicenow", run_id="pass").closed == 3

    def plan(run_id):
        return sorted(query(duckdb_warehouse, "select internal_id, operation, field, after_value "
                                              f"from reverse_sync.plans where run_id = '{run_id}'"))

    assert plan("dry") == plan("pass") and {r[1] for r in plan("dry")} == {"close"}
    assert {r[0] for r in plan("dry")} == {"rem-sn-00002"}  # the dry run plans only the close that happens
    sent = writes(servicenow)
    assert [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in sent] == \
        [("PATCH", records["rem-sn-00002"]["sys_id"])]
    assert [s["state"] for s in map(_records(servicenow).get, ("rem-sn-00000", "rem-sn-00001", "rem-sn-00002"))] \
        == ["4", STATE_CLOSED, STATE_CLOSED]
    assert [(c, op) for c, op, _, _ in _pushes(duckdb_warehouse, "pass")] == [(sent[0]["correlation_id"], "close")]
    servicenow.clear_request_log()
    assert run("servicenow", run_id="pass-again").writes == 0 and writes(servicenow) == []
