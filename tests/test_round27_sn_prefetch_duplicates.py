"""Round 27: when a person made a second ServiceNow record for one remediation task (same correlation_id), the
push adopts the open one, not whichever the page happened to list first (a closed duplicate adopted was
reopened while the open record stayed unlinked)."""

from __future__ import annotations

from assets.reverse_sync.engine import DONE
from assets.reverse_sync.servicenow import STATE_CLOSED, ServiceNowTaskWriter, remediation_table
from resources.servicenow import ServiceNowResource
from tests.conftest import sandbox_env
from tests.test_reverse_sync_servicenow import remediation_rows


def test_prefetch_prefers_the_open_duplicate_in_either_order(make_servicenow_sandbox, monkeypatch):
    sb = make_servicenow_sandbox(size=30)
    sandbox_env(monkeypatch, sb)
    first, second = remediation_rows(2)
    client = ServiceNowResource().client()
    try:
        writer = ServiceNowTaskWriter(client, remediation_table())
        # task 1: the older record closed, the newer open; task 2: the older open, the newer closed
        old_closed = client.create(remediation_table(), writer.payload(first))
        client.update(remediation_table(), old_closed["sys_id"], {"state": STATE_CLOSED})
        new_open = client.create(remediation_table(), writer.payload(first))
        old_open = client.create(remediation_table(), writer.payload(second))
        new_closed = client.create(remediation_table(), writer.payload(second))
        client.update(remediation_table(), new_closed["sys_id"], {"state": STATE_CLOSED})
        found = writer.prefetch([first["remediation_task_id"], second["remediation_task_id"]])
        assert found[first["remediation_task_id"]].vendor_id == new_open["sys_id"]
        assert found[second["remediation_task_id"]].vendor_id == old_open["sys_id"]
        assert {s.fields["status"] for s in found.values()} == {"open"} and DONE != "open"
    finally:
        client.close()
