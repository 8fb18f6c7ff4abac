"""Round 29: a big ServiceNow push (120 records) against an instance that caps each user's concurrent requests
(429 with ``Retry-After`` beyond two in flight) while the push writes eight at once, with hostile text in the mart:
each record is created once, none is lost or dead-lettered, and a rerun and the nightly reconciliation write
nothing. Over HTTP against the ServiceNow sandbox."""

from __future__ import annotations

from assets.reverse_sync.servicenow import remediation_table
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import query, run, write_outbound, writes
from tests.test_reverse_sync_round22_reconcile import _reconcile
from tests.test_reverse_sync_servicenow import remediation_rows

servicenow = attacks.servicenow  # the sandbox fixture

HOSTILE = {
    0: {"short_description": "x^ORDERBYDESCnumber^short_description=y^NQcorrelation_idISNOTEMPTY"},
    1: {"short_description": "nul \x00 inside", "description": "a\x00b"},
    2: {"description": "D" * 100_000},  # far over the column's 4,000 characters
    3: {"short_description": "rtl \u202egnp.exe\u202c =ORDERBY", "description": "^^ ^EQ =="},
}


def test_a_big_push_under_a_per_user_concurrency_cap_creates_each_record_once(servicenow, duckdb_warehouse):
    rows = remediation_rows(120)
    for n, fields in HOSTILE.items():
        rows[n].update(fields)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    servicenow.max_concurrent_per_client = 2  # the instance's per-user limit: 429, Retry-After: 1
    servicenow.latency_ms = 10
    report = run("servicenow", concurrency=8)
    assert (report.created, report.dead_lettered, report.deferred_rate_limited) == (120, 0, 0), report.failures[:3]
    assert any(r["status"] == 429 for r in servicenow.request_log), "the cap was met"
    assert attacks._sn_by_task(servicenow) == {r["remediation_task_id"]: 1 for r in rows}
    by_task = {r["correlation_id"]: r for r in servicenow.records(remediation_table())}
    assert by_task[rows[0]["remediation_task_id"]]["short_description"] == HOSTILE[0]["short_description"]
    assert query(duckdb_warehouse, "select count(*) from reverse_sync.external_links where status = 'open'") == [
        (120,)]
    servicenow.max_concurrent_per_client, servicenow.latency_ms = None, 0
    servicenow.clear_request_log()
    again = run("servicenow", run_id="rerun")
    nightly = _reconcile(rows)
    assert again.unchanged == 120 and writes(servicenow) == [], writes(servicenow)[:3]
    assert not any(v for k, v in nightly.counts().items() if k != "checked"), nightly.counts()
