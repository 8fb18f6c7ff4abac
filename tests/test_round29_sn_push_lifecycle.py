"""Round 29: ServiceNow remediation records changed by people or by the instance between pushes, against the
ServiceNow sandbox over HTTP, with the nightly link reconciliation (assets/reverse_sync/reconcile.py).

- A task whose record was closed, then deleted (or archived) at ServiceNow, and that the mart wants again: the push
  sends the reopen to the old sys_id (404, dead letter); the reconciliation had marked the link vendor_deleted and
  left it, so it was dead-lettered on every push for ever. It is recreated once, open.
- A record the reconciliation recreated was closed as an orphan the same night (Closed Complete: the ingestion
  reads that as remediated).
- A record moved to another table keeps our correlation_id there; ours is recreated once and the moved one is
  left as people made it.
- A business rule that rewrites our text on every write was fought every night (a PATCH and a finding each night).
"""

from __future__ import annotations

import json

import requests

from assets.reverse_sync.servicenow import STATE_OPEN, VENDOR_CLOSED_STATES, remediation_table
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import query, run, write_outbound, writes
from tests.test_reverse_sync_round22_reconcile import _reconcile
from tests.test_reverse_sync_servicenow import remediation_rows

servicenow = attacks.servicenow  # the sandbox fixture
REAL_SEND = requests.Session.send


def _links(settings) -> dict[str, tuple[str, str]]:
    return {i: (v, s) for i, v, s in query(settings, "select internal_id, vendor_id, status from "
                                                     "reverse_sync.external_links where vendor = 'servicenow'")}


def _ours(sb, task: str) -> list[dict]:
    return [r for r in sb.records(remediation_table()) if r.get("correlation_id") == task]


def _quiet(sb, settings, rows) -> None:
    """A push and a reconciliation that write nothing and leave no dead letter."""
    sb.clear_request_log()
    again = run("servicenow", run_id="quiet")
    nightly = _reconcile(rows)
    assert again.dead_lettered == 0 and writes(sb) == [], (again.failures, writes(sb))
    assert not any(v for k, v in nightly.counts().items() if k != "checked"), nightly.counts()
    assert attacks._dead(settings, "servicenow") == {}


def test_a_task_wanted_again_after_its_closed_record_was_deleted_is_recreated_once_and_open(
        servicenow, duckdb_warehouse):
    rows = remediation_rows(3)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    run("servicenow")
    write_outbound(duckdb_warehouse, "servicenow", rows[1:])  # the control passes for the first object
    assert run("servicenow", run_id="passes").closed == 1
    task = rows[0]["remediation_task_id"]
    old = _links(duckdb_warehouse)[task][0]
    servicenow.delete(remediation_table(), old)  # a person cleans closed records up (or an archive rule)
    write_outbound(duckdb_warehouse, "servicenow", rows)  # the control fails again for it
    push = run("servicenow", run_id="fails-again")
    assert push.dead_lettered == 1 and "404" in attacks._dead(duckdb_warehouse, "servicenow")[task]
    nightly = _reconcile(rows)
    assert nightly.recreated == [task] and nightly.closed_orphans == [], nightly.counts()
    [made] = _ours(servicenow, task)
    assert made["sys_id"] != old and made["state"] == STATE_OPEN, "recreated, and left open"
    assert _links(duckdb_warehouse)[task] == (made["sys_id"], "open")
    _quiet(servicenow, duckdb_warehouse, rows)
    assert [r["state"] for r in _ours(servicenow, task)] == [STATE_OPEN]


def test_a_record_the_reconciliation_recreates_is_not_closed_as_an_orphan_the_same_night(servicenow,
                                                                                          duckdb_warehouse):
    rows = remediation_rows(4)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    run("servicenow")
    gone = [rows[1]["remediation_task_id"], rows[3]["remediation_task_id"]]
    servicenow.delete(remediation_table(), [_links(duckdb_warehouse)[t][0] for t in gone])
    nightly = _reconcile(rows)
    assert sorted(nightly.recreated) == gone and nightly.closed_orphans == [], nightly.counts()
    for task in gone:
        [made] = _ours(servicenow, task)
        assert made["state"] not in VENDOR_CLOSED_STATES, f"{task} recreated Closed Complete"
    _quiet(servicenow, duckdb_warehouse, rows)


def test_a_record_moved_to_another_table_is_recreated_once_and_the_moved_one_left_alone(servicenow,
                                                                                        duckdb_warehouse):
    rows = remediation_rows(2)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    run("servicenow")
    task = rows[0]["remediation_task_id"]
    [before] = _ours(servicenow, task)
    # reclassified as an incident by a person: same sys_id, same correlation_id, now in another table
    servicenow.delete(remediation_table(), before["sys_id"])
    moved = servicenow.insert("incident", {k: before[k] for k in (
        "sys_id", "short_description", "description", "correlation_id", "correlation_display", "state")})
    assert moved["sys_id"] == before["sys_id"]
    rows[0]["description"] += " (changed)"
    write_outbound(duckdb_warehouse, "servicenow", rows)
    push = run("servicenow", run_id="after-move")
    assert push.dead_lettered == 1 and "404" in attacks._dead(duckdb_warehouse, "servicenow")[task]
    nightly = _reconcile(rows)
    assert nightly.recreated == [task] and nightly.closed_orphans == [], nightly.counts()
    [made] = _ours(servicenow, task)
    assert made["sys_id"] != before["sys_id"] and made["description"].endswith("(changed)")
    assert servicenow.get("incident", moved["sys_id"]) == moved, "the moved record is left as people made it"
    _quiet(servicenow, duckdb_warehouse, rows)


def _rule_prefixing_short_descriptions(monkeypatch) -> None:
    """The instance's business rule (before insert and update) prefixes every short description it saves, as the
    sandbox has no rule that sets a value: played by rewriting the request on its way in."""
    def send(self, prepared, **kw):
        if prepared.method in ("POST", "PATCH") and f"/table/{remediation_table()}" in prepared.url:
            body = json.loads(prepared.body)
            if isinstance(body.get("short_description"), str) and not body["short_description"].startswith("[GRC]"):
                body["short_description"] = "[GRC] " + body["short_description"]
            prepared.prepare_body(data=None, files=None, json=body)
        return REAL_SEND(self, prepared, **kw)

    monkeypatch.setattr(requests.Session, "send", send)


def test_a_business_rule_rewriting_our_text_on_every_write_is_not_fought_every_night(servicenow, duckdb_warehouse,
                                                                                      monkeypatch):
    _rule_prefixing_short_descriptions(monkeypatch)
    rows = remediation_rows(3)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    assert run("servicenow").created == 3
    first = _reconcile(rows)
    assert len(first.rewritten) <= 3, first.counts()  # at most once: what the rule makes of our text is learnt
    for night in range(2):
        servicenow.clear_request_log()
        nightly = _reconcile(rows)
        assert nightly.rewritten == [] and writes(servicenow) == [], f"night {night + 2}: {nightly.counts()}"
    # a person's edit is still undone (and the rule prefixes it again), once
    task = rows[1]["remediation_task_id"]
    sys_id = _links(duckdb_warehouse)[task][0]
    servicenow.update(remediation_table(), sys_id, {"short_description": "edited by a person"})
    assert _reconcile(rows).rewritten == [task]
    assert servicenow.get(remediation_table(), sys_id)["short_description"] == "[GRC] " + rows[1]["short_description"]
    assert _reconcile(rows).rewritten == []
    # a new text from the mart is written by the push, and the night after is quiet again
    rows[2]["short_description"] += " (renamed)"
    write_outbound(duckdb_warehouse, "servicenow", rows)
    assert run("servicenow", run_id="renamed").updated == 1
    _reconcile(rows)
    _quiet(servicenow, duckdb_warehouse, rows)


def test_a_cleared_correlation_id_is_written_back_not_taken_for_a_deleted_record(servicenow, duckdb_warehouse):
    """Someone clears our id on the live linked record: the reconciliation writes it back (its state left as
    the vendor's). Taking the record for gone made a second one, and this one stayed open for good."""
    rows = remediation_rows(2)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    run("servicenow")
    task = rows[0]["remediation_task_id"]
    linked = _links(duckdb_warehouse)[task][0]
    servicenow.update(remediation_table(), linked, {"correlation_id": ""})
    nightly = _reconcile(rows)
    assert nightly.recreated == [] and nightly.relinked == [], nightly.counts()
    assert [r["sys_id"] for r in _ours(servicenow, task)] == [linked]
    _quiet(servicenow, duckdb_warehouse, rows)


def test_a_closed_duplicate_is_never_the_record_a_task_is_relinked_to(servicenow, duckdb_warehouse):
    """The linked record is deleted while a closed duplicate carrying our id remains (the orphan sweep closes
    duplicates as Closed Complete): relinked to it, the task would read as remediated. Recreated, open."""
    rows = remediation_rows(2)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    run("servicenow")
    task = rows[0]["remediation_task_id"]
    linked = _links(duckdb_warehouse)[task][0]
    duplicate = servicenow.insert(remediation_table(), {"correlation_id": task, "short_description": "copy",
                                                        "state": "3"})
    servicenow.delete(remediation_table(), linked)
    nightly = _reconcile(rows)
    assert nightly.recreated == [task] and nightly.relinked == [], nightly.counts()
    made = _links(duckdb_warehouse)[task][0]
    assert made not in (linked, duplicate["sys_id"])
    assert {r["sys_id"]: r["state"] for r in _ours(servicenow, task)}[made] not in VENDOR_CLOSED_STATES
