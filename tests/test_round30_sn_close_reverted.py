"""Round 30: a ServiceNow close undone by a business rule left the link closed.

The instance's before rule refuses closing a task while it has open child tasks by setting the state back (the
sandbox runs it: sys_script with a `template`), and the PATCH answers 200 with the record, still open. The push
took any 200 with the record as done and linked the task as closed: the record stayed open at ServiceNow for
ever. Now the answered state is compared with the close sent: the link stays open, the revert is audited
(`close_reverted`), the record is dead-lettered, and later pushes do not PATCH it on every run
(PROJECTX_SERVICENOW_CLOSE_RETRY_SECONDS, doubled per revert); once the children are closed the close sticks.
End to end against the ServiceNow sandbox over HTTP.
"""

from __future__ import annotations

import pytest

from assets.reverse_sync.servicenow import STATE_OPEN, VENDOR_CLOSED_STATES, remediation_table
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import age_reverts, patches_of, push_audited, query, run, write_outbound, writes
from tests.test_reverse_sync_servicenow import remediation_rows

servicenow = attacks.servicenow  # the sandbox fixture
RULE = {"name": "no close with open child tasks", "collection": "task", "when": "before", "order": "50",
        "action_update": "true", "add_message": "true", "message": "Close the child tasks first",
        "filter_condition": "stateCHANGESTO3^RLQUERYtask.parent,>=1^active=true^ENDRLQUERY", "template": "state=1^EQ"}


def _link(settings, task: str) -> tuple[str, str]:
    [(vendor_id, status)] = query(settings, "select vendor_id, status from reverse_sync.external_links "
                                            f"where vendor = 'servicenow' and internal_id = '{task}'")
    return vendor_id, status


@pytest.fixture
def reverting(servicenow, duckdb_warehouse, monkeypatch):
    """Three pushed tasks, the first with an open child task at ServiceNow and the reverting rule; the control
    then passes for the first one (its row leaves the mart)."""
    monkeypatch.delenv("PROJECTX_SERVICENOW_CLOSE_RETRY_SECONDS", raising=False)
    rows = remediation_rows(3)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    assert run("servicenow").created == 3
    task = rows[0]["remediation_task_id"]
    sys_id = _link(duckdb_warehouse, task)[0]
    servicenow.insert("sys_script", RULE)
    child = servicenow.insert(remediation_table(), {"short_description": "child", "parent": sys_id})
    write_outbound(duckdb_warehouse, "servicenow", rows[1:])
    return servicenow, duckdb_warehouse, task, sys_id, child


def test_a_close_set_back_by_a_business_rule_leaves_the_link_open_and_is_dead_lettered(reverting):
    sb, settings, task, sys_id, _child = reverting
    sb.clear_request_log()
    push = run("servicenow", run_id="passes")
    assert push.closed == 0 and push.dead_lettered == 1, push.as_metadata()
    assert patches_of(sb, sys_id) == 1 and sb.get(remediation_table(), sys_id)["state"] == STATE_OPEN
    assert _link(settings, task) == (sys_id, "open"), "the close did not stick: the link stays open"
    assert attacks._dead(settings, "servicenow")[task].startswith("close_reverted: ServiceNow answered the close")
    [(status, detail)] = push_audited(settings, "close_reverted", sys_id)
    assert status == "200" and "state 1" in detail
    assert push.breaker_state == "closed"


def test_later_pushes_do_not_write_every_run_and_the_close_sticks_once_the_children_are_closed(reverting):
    sb, settings, task, sys_id, child = reverting
    run("servicenow", run_id="passes")
    sb.clear_request_log()
    for i in range(3):  # a push every minute: planned, re-read, not sent
        again = run("servicenow", run_id=f"minute-{i}")
        assert again.dead_lettered == 1 and again.closed == 0
    assert writes(sb) == [], writes(sb)
    dead = attacks._dead(settings, "servicenow")[task]
    assert dead.startswith("deferred: close_reverted:") and "PROJECTX_SERVICENOW_CLOSE_RETRY_SECONDS" in dead
    assert len(push_audited(settings, "close_reverted", sys_id)) == 1 and _link(settings, task)[1] == "open"

    age_reverts(settings, 61, "close_reverted")  # the hour is over: sent again, set back again, now held two hours
    assert run("servicenow", run_id="hour-later").dead_lettered == 1 and patches_of(sb, sys_id) == 1
    assert len(push_audited(settings, "close_reverted", sys_id)) == 2
    age_reverts(settings, 90, "close_reverted")
    sb.clear_request_log()
    run("servicenow", run_id="ninety-minutes-later")
    assert writes(sb) == [], "the second hold is two hours"

    sb.update(remediation_table(), child["sys_id"], {"state": "3"})  # a person closes the child task
    age_reverts(settings, 31, "close_reverted")
    done = run("servicenow", run_id="children-closed")
    assert done.closed == 1 and done.dead_lettered == 0, done.failures
    assert sb.get(remediation_table(), sys_id)["state"] in VENDOR_CLOSED_STATES
    assert _link(settings, task) == (sys_id, "closed") and attacks._dead(settings, "servicenow") == {}
    sb.clear_request_log()
    assert run("servicenow", run_id="quiet").dead_lettered == 0 and writes(sb) == []


def test_a_record_a_person_closes_during_the_hold_closes_the_link_without_a_write(reverting):
    sb, settings, task, sys_id, child = reverting
    run("servicenow", run_id="passes")
    sb.update(remediation_table(), child["sys_id"], {"state": "3"})
    sb.update(remediation_table(), sys_id, {"state": "3"})
    sb.clear_request_log()
    push = run("servicenow", run_id="closed-by-hand")
    assert push.dead_lettered == 0 and writes(sb) == []
    assert _link(settings, task) == (sys_id, "closed") and attacks._dead(settings, "servicenow") == {}


def test_no_hold_when_the_setting_is_zero(reverting, monkeypatch):
    sb, settings, task, sys_id, _child = reverting
    monkeypatch.setenv("PROJECTX_SERVICENOW_CLOSE_RETRY_SECONDS", "0")
    run("servicenow", run_id="passes")
    sb.clear_request_log()
    again = run("servicenow", run_id="again")
    assert patches_of(sb, sys_id) == 1 and again.dead_lettered == 1
    assert attacks._dead(settings, "servicenow")[task].startswith("close_reverted:")
