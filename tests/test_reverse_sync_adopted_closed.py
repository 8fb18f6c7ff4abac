"""A ServiceNow record the nightly reconciliation adopts after a person closed it stays closed through later Project X
changes (round 28's rule: whether Project X changed a shared field is judged against Project X's own last values,
``projectx_fields``). The adoption saved no such values, so the first later change to any field of the task (its
description here) reopened the record. Against the ServiceNow sandbox over HTTP."""

from __future__ import annotations

from assets.reverse_sync.servicenow import remediation_table
from resources.servicenow import ServiceNowResource
from resources.warehouse import WarehouseResource
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import run, write_outbound
from tests.test_reverse_sync_round22_reconcile import _reconcile
from tests.test_reverse_sync_servicenow import remediation_rows

servicenow = attacks.servicenow  # the sandbox fixture


def test_an_adopted_record_a_person_closed_stays_closed_when_the_task_changes(servicenow, duckdb_warehouse):
    rows = remediation_rows(3)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    assert run("servicenow").created == 3
    task = rows[0]["remediation_task_id"]
    with WarehouseResource.from_env().connect() as conn:  # the link lost (a restore from before the push)
        conn.execute("delete from reverse_sync.external_links where vendor = 'servicenow' and internal_id = %s",
                     (task,))
    client = ServiceNowResource().client()
    try:
        [rec] = client.find(remediation_table(), f"correlation_id={task}", limit=1)
        client.update(remediation_table(), rec["sys_id"], {"state": "3"})  # closed by a person at ServiceNow
    finally:
        client.close()
    assert _reconcile(rows).adopted == [task]

    rows[0]["description"] = "Automated control SN-CMDB-01 failed again: the owner left."
    write_outbound(duckdb_warehouse, "servicenow", rows)
    run("servicenow")
    [stored] = [r for r in servicenow.records(remediation_table()) if r["correlation_id"] == task]
    assert stored["description"] == rows[0]["description"]  # the change went out
    assert str(stored["state"]) == "3"  # and the record stayed closed
