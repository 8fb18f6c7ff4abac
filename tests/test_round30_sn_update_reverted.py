"""Round 30: a ServiceNow reopen or field update undone by a business rule was taken as written.

A before rule's "Set field values" may set our values back (a closed task that may not reopen, a locked short
description) and the PATCH answers 200 with the record as saved. The push compared only a close with its answer;
now every field sent is compared (as ServiceNow stores it, allowing what the instance made of our value before,
``external_links.vendor_forms``): a write set back is audited ``update_reverted``, dead-lettered, the link keeps
the record's real state and later pushes hold it like ``close_reverted``. A rule that rewrites our text into
something new is no revert: the push is done and keeps that form. End to end against the ServiceNow sandbox.
"""

from __future__ import annotations

import json

import pytest

from assets.reverse_sync.servicenow import VENDOR_CLOSED_STATES, remediation_table
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import age_reverts, patches_of, push_audited, query, run, write_outbound, writes
from tests.test_reverse_sync_servicenow import remediation_rows

servicenow = attacks.servicenow  # the sandbox fixture
NO_REOPEN = {"name": "closed tasks stay closed", "collection": "task", "when": "before", "order": "50",
             "action_update": "true", "filter_condition": "stateCHANGESFROM3", "template": "state=3^EQ"}


def _link(settings, task: str) -> tuple[str, str, str | None]:
    [row] = query(settings, "select vendor_id, status, vendor_forms from reverse_sync.external_links "
                            f"where vendor = 'servicenow' and internal_id = '{task}'")
    return row


@pytest.fixture
def pushed(servicenow, duckdb_warehouse, monkeypatch):
    monkeypatch.delenv("PROJECTX_SERVICENOW_CLOSE_RETRY_SECONDS", raising=False)
    rows = remediation_rows(3)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    assert run("servicenow").created == 3
    return servicenow, duckdb_warehouse, rows


def test_a_reopen_set_back_keeps_the_link_closed_is_dead_lettered_and_held(pushed):
    sb, settings, rows = pushed
    task = rows[0]["remediation_task_id"]
    write_outbound(settings, "servicenow", rows[1:])  # the control passes: closed
    assert run("servicenow", run_id="passes").closed == 1
    sys_id = _link(settings, task)[0]
    rule = sb.insert("sys_script", NO_REOPEN)
    write_outbound(settings, "servicenow", rows)  # fails again: the push reopens, the rule sets it back
    sb.clear_request_log()
    push = run("servicenow", run_id="fails-again")
    assert push.reopened == 0 and push.dead_lettered == 1, push.as_metadata()
    assert patches_of(sb, sys_id) == 1 and sb.get(remediation_table(), sys_id)["state"] in VENDOR_CLOSED_STATES
    assert _link(settings, task)[1] == "closed", "the record is closed at ServiceNow: so is the link"
    dead = attacks._dead(settings, "servicenow")[task]
    assert dead.startswith("update_reverted: ServiceNow answered the reopen") and "state '3'" in dead
    [(status, detail)] = push_audited(settings, "update_reverted", sys_id)
    assert status == "200" and "business rule" in detail
    assert push.breaker_state == "closed"

    sb.clear_request_log()
    for i in range(3):  # a push every minute: no write while the hold runs
        assert run("servicenow", run_id=f"minute-{i}").dead_lettered == 1
    assert writes(sb) == []
    assert attacks._dead(settings, "servicenow")[task].startswith("deferred: update_reverted:")
    assert len(push_audited(settings, "update_reverted", sys_id)) == 1

    sb.delete("sys_script", rule["sys_id"])  # the admin drops the rule; the hour passes
    age_reverts(settings, 61, "update_reverted")
    done = run("servicenow", run_id="rule-gone")
    assert done.reopened == 1 and done.dead_lettered == 0, done.failures
    assert sb.get(remediation_table(), sys_id)["state"] not in VENDOR_CLOSED_STATES
    assert _link(settings, task)[1] == "open" and attacks._dead(settings, "servicenow") == {}


def test_a_field_update_set_back_is_reported_and_a_rewrite_is_not(pushed):
    sb, settings, rows = pushed
    locked, rewritten = rows[0], rows[1]
    old = locked["short_description"]
    sb.insert("sys_script", {"name": "short description locked", "collection": "task", "when": "before",
                             "action_update": "true", "filter_condition": "correlation_id="
                             f"{locked['remediation_task_id']}^short_descriptionVALCHANGES",
                             "template": f"short_description={old}^EQ"})
    sb.insert("sys_script", {"name": "description house style", "collection": "task", "when": "before",
                             "action_update": "true", "filter_condition": "correlation_id="
                             f"{rewritten['remediation_task_id']}^descriptionVALCHANGES",
                             "template": "description=Managed in GRC: see Project X^EQ"})
    changed = [{**locked, "short_description": old + " (again)"},
               {**rewritten, "description": "Automated control failed again."}, rows[2]]
    write_outbound(settings, "servicenow", changed)
    push = run("servicenow", run_id="edits")
    assert push.updated == 1 and push.dead_lettered == 1, push.as_metadata()
    sys_locked, status, _ = _link(settings, locked["remediation_task_id"])
    assert status == "open" and sb.get(remediation_table(), sys_locked)["short_description"] == old
    dead = attacks._dead(settings, "servicenow")
    assert list(dead) == [locked["remediation_task_id"]]
    assert dead[locked["remediation_task_id"]].startswith("update_reverted: ServiceNow answered the update")
    assert "short_description" in dead[locked["remediation_task_id"]]
    assert len(push_audited(settings, "update_reverted", sys_locked)) == 1

    # the rewritten one is done, and what the instance made of our text is kept as ours
    sys_rewritten, status, forms = _link(settings, rewritten["remediation_task_id"])
    assert status == "open" and "description" in json.loads(forms)
    assert sb.get(remediation_table(), sys_rewritten)["description"] == "Managed in GRC: see Project X"
    sb.clear_request_log()
    again = run("servicenow", run_id="quiet")
    assert again.dead_lettered == 1 and writes(sb) == [], "held, and the rewrite is not sent again"
    assert attacks._dead(settings, "servicenow")[locked["remediation_task_id"]].startswith("deferred:")


def test_no_revert_when_every_field_sticks(pushed):
    _sb, settings, rows = pushed
    write_outbound(settings, "servicenow", [{**rows[0], "description": "  Changed text.  "}, *rows[1:]])
    push = run("servicenow", run_id="edit")
    assert push.updated == 1 and push.dead_lettered == 0, push.failures
    assert query(settings, "select count(*) from audit.events where operation = 'update_reverted'") == [(0,)]
