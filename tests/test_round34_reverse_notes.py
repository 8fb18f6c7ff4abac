"""Round 34: the change comment an edit owes Jira (``reverse_sync.jira_owed_notes``) is never dropped because a
person edited one of its fields between two syncs.

A Jira edit whose answer never came (a gateway timed it out after Jira made it, or the push died) is owed its
comment; the next run decided whether the edit was made from the issue's current values alone, so a person's edit
of one of its fields since read as "never made" and the whole note was dropped, the other fields' change never
told. A note of an edit Jira did answer was skipped when the run edited the same field again, then dropped when
that second edit was refused."""

from __future__ import annotations

import dataclasses
import re
from datetime import date

from assets.reverse_sync import jira_notes
from sandbox.core.http import json_response
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import jira_rows, query, run, write_outbound

jira = attacks.jira  # the sandbox fixture
_jira_keys = attacks._jira_keys
EDIT = r"/rest/api/3/issue/[^/]+$"


def _notes(sb) -> list[str]:
    [key] = _jira_keys(sb)
    return [str(getattr(c, "body", c)) for c in sb.store.comments_of(sb.store.resolve(key))]


def _answer_after_making(sb, method: str, pattern: str, status: int) -> None:
    """``method`` requests on paths matching ``pattern`` are carried out, then answered ``status`` (a gateway
    that timed out waiting for Jira's answer), until ``sb.rewrite_responses(None)``."""
    def rewrite(req, resp):
        if req.method == method and re.search(pattern, req.path):
            return json_response({"errorMessages": ["Gateway Timeout"]}, status)
        return resp

    sb.rewrite_responses(rewrite)


def _refuse(sb, method: str, pattern: str, status: int, body: dict) -> None:
    """``method`` requests on paths matching ``pattern`` are answered ``status`` and NOT carried out."""
    decide, answer = sb.faults.decide, sb.fault_response

    def fake(auth_faults: bool = True, m: str = "", path: str = ""):
        decision = decide(auth_faults, m, path)
        return dataclasses.replace(decision, status=297) if m == method and re.search(pattern, path) else decision

    sb.faults.decide = fake
    sb.fault_response = lambda d: json_response(body, status) if d.status == 297 else answer(d)


def _heal(sb) -> None:
    sb.__dict__.pop("fault_response", None)
    sb.faults.__dict__.pop("decide", None)
    sb.rewrite_responses(None)


def test_an_edit_made_but_unanswered_keeps_its_note_when_a_person_edits_one_of_its_fields(jira, duckdb_warehouse):
    rows = jira_rows(1)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 1
    rows[0]["priority"], rows[0]["due_date"] = "Low", date(2027, 3, 1)
    write_outbound(duckdb_warehouse, "jira", rows)
    _answer_after_making(jira, "PUT", EDIT, 504)
    assert run("jira").dead_lettered == 1
    _heal(jira)
    [key] = _jira_keys(jira)
    [issue] = [i for i in jira.issues() if i["key"] == key]
    assert (issue["fields"]["priority"]["name"], issue["fields"]["duedate"]) == ("Low", "2027-03-01"), "made"
    assert _notes(jira) == []
    jira.edit_as(key, {"priority": "Medium"})  # a person, between the two syncs
    report = run("jira")
    assert report.dead_lettered == 0, report.failures
    notes = _notes(jira)
    assert any("2027-03-01" in n for n in notes), f"the due date's change was never told: {notes}"
    assert len(notes) == 2, notes  # the owed note, and this run's own for the priority set back: no copy
    assert query(duckdb_warehouse, f"select count(*) from {jira_notes.TABLE}") == [(0,)]
    assert run("jira").writes == 0


def test_a_made_edits_note_survives_a_refused_second_edit_of_the_same_field(jira, duckdb_warehouse):
    rows = jira_rows(1)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 1
    rows[0]["priority"] = "Low"
    write_outbound(duckdb_warehouse, "jira", rows)
    jira.faults.set(rate_5xx=1.0, methods=["POST"], paths=[r"/comment$"])  # the edit made, its comment not
    assert run("jira").dead_lettered == 1
    jira.faults.clear()
    [key] = _jira_keys(jira)
    jira.edit_as(key, {"priority": "Medium"})  # a person, between the two syncs
    _refuse(jira, "PUT", EDIT, 400, {"errorMessages": ["Issue is being reindexed; try again"], "errors": {}})
    assert run("jira").dead_lettered == 1
    _heal(jira)
    report = run("jira")
    assert report.dead_lettered == 0, report.failures
    notes = _notes(jira)
    assert any("High -> Low" in n for n in notes), f"the first edit's change was never told: {notes}"
    assert query(duckdb_warehouse, f"select count(*) from {jira_notes.TABLE}") == [(0,)]
