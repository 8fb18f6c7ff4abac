"""Round 30c: a ServiceNow reopen meeting a business rule, end to end against the sandbox.

- A reopen sends the whole record. A field the instance always rewrites (a house-style rule) answered in the
  form kept in ``external_links.vendor_forms`` was counted as "shown" and its form dropped, so the nightly
  reconciliation no longer knew the rewrite as ours and sent a PATCH after every reopen. The form now stays.
- A reopen whose state change stuck while a rule on the reopen set a field of the same push back: the field
  was taken for the instance's rewrite of our value (kept as its form, so never written again). It is now a
  revert (``update_reverted``, dead-lettered and held) and the link says open, as the record is: a later
  close is planned, the reconciliation looks at it, and after the hold the field is written again.
"""

from __future__ import annotations

import json

from assets.reverse_sync.servicenow import VENDOR_CLOSED_STATES, remediation_table
from tests import test_reverse_sync_attacks as attacks
from tests import test_round30_sn_update_reverted as updates
from tests.reverse_sync_helpers import age_reverts, patches_of, run, write_outbound, writes
from tests.test_reverse_sync_round22_reconcile import _reconcile

servicenow = attacks.servicenow  # the sandbox fixture
pushed = updates.pushed  # three tasks pushed, the close hold at its default
_link = updates._link
HOUSE = "Managed in GRC: see Project X"


def test_a_reopen_keeps_the_form_of_a_house_style_rewrite(pushed):
    sb, settings, rows = pushed
    task = rows[0]["remediation_task_id"]
    sb.insert("sys_script", {"name": "description house style", "collection": "task", "when": "before",
                             "action_update": "true", "filter_condition": f"correlation_id={task}"
                             "^descriptionVALCHANGES", "template": f"description={HOUSE}^EQ"})
    edited = [{**rows[0], "description": "Automated control failed again."}, *rows[1:]]
    write_outbound(settings, "servicenow", edited)
    assert run("servicenow", run_id="edit").updated == 1
    sys_id, _, forms = _link(settings, task)
    assert sb.get(remediation_table(), sys_id)["description"] == HOUSE and "description" in json.loads(forms)

    write_outbound(settings, "servicenow", edited[1:])  # passes: closed
    assert run("servicenow", run_id="passes").closed == 1
    write_outbound(settings, "servicenow", edited)  # fails again: reopened with the whole record
    push = run("servicenow", run_id="fails-again")
    assert push.reopened == 1 and push.dead_lettered == 0, push.failures
    _, status, forms = _link(settings, task)
    assert status == "open" and "description" in json.loads(forms or "{}"), forms

    sb.clear_request_log()
    report = _reconcile(edited)
    assert report.rewritten == [] and patches_of(sb, sys_id) == 0, "the house style is ours: nothing to rewrite"


def test_a_reopen_that_sticks_with_a_field_set_back_opens_the_link_and_is_held(pushed):
    sb, settings, rows = pushed
    task, old = rows[0]["remediation_task_id"], rows[0]["short_description"]
    write_outbound(settings, "servicenow", rows[1:])  # passes: closed
    assert run("servicenow", run_id="passes").closed == 1
    sys_id = _link(settings, task)[0]
    rule = sb.insert("sys_script", {"name": "a reopen resets the title", "collection": "task", "when": "before",
                                    "order": "50", "action_update": "true", "filter_condition": "stateCHANGESFROM3",
                                    "template": f"short_description={old}^EQ"})
    again = [{**rows[0], "short_description": old + " (again)"}, *rows[1:]]
    write_outbound(settings, "servicenow", again)  # fails again, with a new title: update, then reopen
    push = run("servicenow", run_id="fails-again")
    record = sb.get(remediation_table(), sys_id)
    assert record["state"] not in VENDOR_CLOSED_STATES and record["short_description"] == old
    assert push.dead_lettered == 1, push.as_metadata()
    dead = attacks._dead(settings, "servicenow")[task]
    assert dead.startswith("update_reverted: ServiceNow answered the reopen") and "short_description" in dead
    _, status, forms = _link(settings, task)
    assert status == "open", "the record is open at ServiceNow: so is the link"
    assert "short_description" not in json.loads(forms or "{}"), "a value set back is no form of ours"

    sb.clear_request_log()
    assert run("servicenow", run_id="held").dead_lettered == 1 and writes(sb) == []
    assert attacks._dead(settings, "servicenow")[task].startswith("deferred: update_reverted:")
    sb.clear_request_log()
    nightly = _reconcile(again)  # the link is open now: the nightly leaves the held record to the push
    assert nightly.rewritten == [] and patches_of(sb, sys_id) == 0, nightly
    assert "short_description" not in json.loads(_link(settings, task)[2] or "{}"), "no set-back value as a form"
    assert attacks._dead(settings, "servicenow")[task].startswith("deferred: update_reverted:")

    sb.delete("sys_script", rule["sys_id"])  # the hour passes: the title is written (a plain update)
    age_reverts(settings, 61, "update_reverted")
    done = run("servicenow", run_id="after-hold")
    assert done.updated == 1 and done.dead_lettered == 0, done.failures
    assert sb.get(remediation_table(), sys_id)["short_description"] == old + " (again)"

    write_outbound(settings, "servicenow", rows[1:])  # passes again: the open link is closed
    assert run("servicenow", run_id="passes-again").closed == 1
    assert sb.get(remediation_table(), sys_id)["state"] in VENDOR_CLOSED_STATES
