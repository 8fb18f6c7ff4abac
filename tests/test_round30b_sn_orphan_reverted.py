"""Round 30b: the nightly reconciliation's orphan close undone by a business rule (``close_orphan_reverted``).

An open record of ours that no task links (an orphan: a crashed run's, a duplicate) is closed by the nightly
reconciliation. A before rule that refuses closing a task with open child tasks sets the state back and the
Table API answers 200 with the record still open: the reconciliation must not count it closed, audits
``close_orphan_reverted``, and closes it on a later night once the children are closed. End to end against the
ServiceNow sandbox over HTTP.
"""

from __future__ import annotations

from assets.reverse_sync.servicenow import STATE_OPEN, VENDOR_CLOSED_STATES, remediation_table
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import query, run, write_outbound
from tests.test_reverse_sync_round22_reconcile import _reconcile
from tests.test_reverse_sync_servicenow import remediation_rows
from tests.test_round30_sn_close_reverted import RULE

servicenow = attacks.servicenow  # the sandbox fixture


def _audited(settings, operation: str, sys_id: str) -> list[tuple]:
    return query(settings, "select object_id, detail from audit.events where action = 'reconciliation' and system "
                           f"= 'servicenow' and operation = '{operation}' and detail like '%{sys_id}%'")


def test_an_orphan_close_set_back_is_audited_not_counted_and_closed_once_the_children_are(
        servicenow, duckdb_warehouse):
    rows = remediation_rows(2)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    assert run("servicenow").created == 2
    table = remediation_table()
    orphan = servicenow.insert(table, {"short_description": "left by a crashed run", "correlation_id":
                                       "rem-gone-since", "correlation_display": "Project X"})
    child = servicenow.insert(table, {"short_description": "child", "parent": orphan["sys_id"]})
    servicenow.insert("sys_script", RULE)

    night = _reconcile(rows)
    assert night.closed_orphans == [], "set back by the rule: not closed"
    assert servicenow.get(table, orphan["sys_id"])["state"] == STATE_OPEN
    [(object_id, _detail)] = _audited(duckdb_warehouse, "close_orphan_reverted", orphan["sys_id"])
    assert object_id == "rem-gone-since"
    assert _audited(duckdb_warehouse, "close_orphan", orphan["sys_id"]) == []
    links = query(duckdb_warehouse, "select count(*) from reverse_sync.external_links where vendor = 'servicenow'")
    assert links == [(2,)], "the orphan is not linked"

    servicenow.update(table, child["sys_id"], {"state": "3"})  # a person closes the child task
    next_night = _reconcile(rows)
    assert next_night.closed_orphans == [orphan["sys_id"]]
    assert servicenow.get(table, orphan["sys_id"])["state"] in VENDOR_CLOSED_STATES
    assert len(_audited(duckdb_warehouse, "close_orphan", orphan["sys_id"])) == 1
    assert len(_audited(duckdb_warehouse, "close_orphan_reverted", orphan["sys_id"])) == 1
