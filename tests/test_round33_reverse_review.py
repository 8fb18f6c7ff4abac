"""Round 33 review of reverse sync: a write answered 2xx with a gateway's error body is an unknown outcome (never
sent blindly again); an owed change comment refused for the account (not the issue) stays owed; the owed comment
goes after a leading reopen."""

from __future__ import annotations

import dataclasses
from datetime import date

import duckdb

from assets.reverse_sync import jira_notes
from assets.reverse_sync.policy import Change
from sandbox.core.http import json_response
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import jira_rows, query, run, write_outbound
from tests.test_round33_reverse_answers import _heal, _refuse_200

jira, servicenow = attacks.jira, attacks.servicenow  # the sandbox fixtures
_dead, _jira_keys = attacks._dead, attacks._jira_keys

GATEWAY_504 = {"status": 504, "error": "Gateway Timeout"}


def _comments(sb) -> list[int]:
    return [len(sb.store.comments_of(sb.store.resolve(k))) for k in _jira_keys(sb)]


def test_a_jira_comment_answered_200_with_a_gateway_error_is_sent_once_not_five_times(jira, duckdb_warehouse):
    rows = jira_rows(2)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 2
    for r in rows:
        r["priority"] = "Low"
    write_outbound(duckdb_warehouse, "jira", rows)
    hit = _refuse_200(jira, None, "POST", r"/comment$", GATEWAY_504)  # not carried out (the vendor may still be)
    report = run("jira")
    assert len(hit) == 2, f"one POST per comment, never resent blindly: {hit}"
    assert report.dead_lettered == 2, report.failures
    dead = _dead(duckdb_warehouse, "jira")
    assert all("Gateway Timeout" in why and "outcome unknown" in why for why in dead.values()), dead
    assert not any("base URL" in why for why in dead.values()), dead
    _heal(jira)
    report = run("jira")
    assert report.dead_lettered == 0, report.failures
    assert _comments(jira) == [1, 1], "the owed comment posted once by the next run"


def _owe(settings, sb, note: str = "Project X updated this issue: x") -> str:
    [issue] = [i["id"] for i in sb.issues() if "projectx:rem-00000" in i["fields"]["labels"]]
    with duckdb.connect(settings.duckdb_path) as con:
        for statement in jira_notes.DDL:
            con.execute(statement)
        con.execute(f"insert into {jira_notes.TABLE} "
                    "(vendor_id, internal_id, note, run_id, noted_at) values (?, 'rem-00000', ?, 'killed', now())",
                    [issue, note])
    return issue


def _refuse_comments(sb, body: dict) -> None:
    """Every comment POST answered 403 with ``body`` (until ``del sb.faults.decide, sb.fault_response``)."""
    decide = sb.faults.decide

    def refuse(auth_faults=True, method="", path=""):
        if method == "POST" and path.endswith("/comment"):
            return dataclasses.replace(decide(auth_faults, method, path), status=298)
        return decide(auth_faults, method, path)

    sb.faults.decide, sb.fault_response = refuse, lambda decision: json_response(body, 403)


def test_an_owed_comment_refused_with_a_bare_403_stays_owed(jira, duckdb_warehouse):
    rows = jira_rows(1)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 1
    _owe(duckdb_warehouse, jira)
    rows[0]["priority"] = "Low"  # the issue is planned again: the owed comment goes first
    write_outbound(duckdb_warehouse, "jira", rows)
    _refuse_comments(jira, {})  # the Add Comments permission taken from the integration account
    report = run("jira")
    assert report.dead_lettered + report.paused_circuit_open == 1, report.failures
    assert query(duckdb_warehouse, f"select count(*) from {jira_notes.TABLE}") == [(1,)], "still owed"
    del jira.faults.decide, jira.fault_response
    report = run("jira")
    assert report.dead_lettered == 0, report.failures
    assert _comments(jira) == [2], "the owed comment and the edit's own"
    assert query(duckdb_warehouse, f"select count(*) from {jira_notes.TABLE}") == [(0,)]


def test_the_owed_comment_goes_after_a_leading_reopen(monkeypatch):
    note = "Project X updated this issue: x"
    monkeypatch.setattr(jira_notes, "owed", lambda writes, vendor_id: getattr(jira_notes, "Owed", lambda *a: note)(
        note, {"summary": "x"}, True))
    steps = [("transition", [Change("status", "Done", "To Do")]), ("update", [Change("priority", "High", "Low")]),
             ("comment", [Change("comment", None, "Project X updated this issue: priority High -> Low")])]
    out = jira_notes.with_owed(None, "10001", steps)
    assert [op for op, _ in out] == ["transition", "comment", "update", "comment"]
    assert out[1][1][0].field == jira_notes.FIELD


def _edit_screen_without(monkeypatch, field: str) -> None:
    from sandbox.jira import field_screens

    real = field_screens.edit_fields
    monkeypatch.setattr(field_screens, "edit_fields", lambda sb, issue: [f for f in real(sb, issue) if f != field])


def _notes_of(sb) -> list[list[str]]:
    return [[str(getattr(c, "body", c)) for c in sb.store.comments_of(sb.store.resolve(k))] for k in _jira_keys(sb)]


def test_an_owed_note_of_an_edit_whose_screen_leaves_a_field_out_is_not_posted_beside_the_edits_own(
        jira, duckdb_warehouse, monkeypatch):
    rows = jira_rows(1)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 1
    _edit_screen_without(monkeypatch, "duedate")
    rows[0]["priority"], rows[0]["due_date"] = "Low", date(2027, 3, 1)
    write_outbound(duckdb_warehouse, "jira", rows)
    jira.faults.set(rate_5xx=1.0, methods=["PUT"], paths=[r"/rest/api/3/issue/[^/]+$"])  # the edit not made
    assert run("jira").dead_lettered == 1
    jira.faults.clear()
    report = run("jira")
    assert report.dead_lettered == 0, report.failures
    [notes] = _notes_of(jira)
    assert len(notes) == 1 and "Low" in notes[0], notes


def test_an_owed_note_of_an_edit_never_made_is_not_posted_once_the_mart_takes_it_back(jira, duckdb_warehouse):
    rows = jira_rows(1)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 1
    before = rows[0]["priority"]
    rows[0]["priority"] = "Low" if before != "Low" else "High"
    write_outbound(duckdb_warehouse, "jira", rows)
    jira.faults.set(rate_5xx=1.0, methods=["PUT"], paths=[r"/rest/api/3/issue/[^/]+$"])  # the edit not made
    assert run("jira").dead_lettered == 1
    jira.faults.clear()
    rows[0]["priority"] = before  # the mart takes the change back: no edit is owed, nor its note
    write_outbound(duckdb_warehouse, "jira", rows)
    report = run("jira")
    assert report.dead_lettered == 0, report.failures
    assert _notes_of(jira) == [[]]
    assert query(duckdb_warehouse, f"select count(*) from {jira_notes.TABLE}") == [(0,)]


def test_a_lookups_error_body_is_masked_and_one_line_in_the_error(monkeypatch):
    import pytest

    from assets.reverse_sync.jira_lookups import _object
    from pipelines.common.http import VendorError

    monkeypatch.setenv("JIRA_API_TOKEN", "tok-Secret-123")
    with pytest.raises(VendorError) as caught:
        _object({"errorMessages": ["Unauthorized: token tok-Secret-123 rejected\nby the gateway"]}, "the comments")
    assert "tok-Secret-123" not in str(caught.value) and "\n" not in str(caught.value), str(caught.value)
    assert "rejected" in str(caught.value)


def test_error_in_reads_no_error_from_null_errors_and_a_spring_status_given_as_text():
    from assets.reverse_sync.writes import error_in

    assert error_in({"errors": {"customfield_1": None}, "errorMessages": []}) is None
    assert error_in({"id": "10001", "errors": {"x": ""}}) is None
    assert error_in({"status": "500", "error": "Internal Server Error", "message": "boom"}) == "boom"
    assert error_in({"status": "failure", "error": {"message": "x"}}) is None  # ServiceNow's: left to its writer


def test_the_note_owed_to_an_issue_read_as_404_stays_owed_till_the_prune(jira, duckdb_warehouse):
    """Second review: Jira's 404 also means Browse was taken away (the issue may come back), so the note is no
    longer cleared when the push reads the issue as gone; the 30-day prune ends it."""
    rows = jira_rows(1)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 1
    issue = _owe(duckdb_warehouse, jira)
    jira.store.delete(int(issue), "admin")
    rows[0]["priority"] = "Low"
    write_outbound(duckdb_warehouse, "jira", rows)
    report = run("jira")
    assert report.dead_lettered == 0, report.failures
    assert [p["operation"] for p in report.plan if p["field"] == "summary"] == ["create"], "re-created"
    assert query(duckdb_warehouse, f"select vendor_id from {jira_notes.TABLE} where vendor_id = '{issue}'") == \
        [(issue,)]


def test_an_owed_comment_refused_with_jiras_permission_reason_stays_owed(jira, duckdb_warehouse):
    """Second review: Jira's 403 says why ("You do not have the permission to comment on this issue."), which made it
    a RecordRefused, read as this issue's refusal: the note was dropped. It is the account's: it stays owed."""
    rows = jira_rows(1)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 1
    _owe(duckdb_warehouse, jira)
    rows[0]["priority"] = "Low"
    write_outbound(duckdb_warehouse, "jira", rows)
    _refuse_comments(jira, {"errorMessages": ["You do not have the permission to comment on this issue."],
                            "errors": {}})
    run("jira")
    assert query(duckdb_warehouse, f"select count(*) from {jira_notes.TABLE}") == [(1,)], "still owed"


def test_an_owed_comment_already_posted_before_a_reopen_comment_is_not_posted_again(jira, duckdb_warehouse):
    """Second review: the owed note goes after a reopen, whose own comment is then the account's latest; the
    look-up read only the latest, missed the note an earlier (killed) push had posted, and posted it again."""
    rows = jira_rows(1)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 1
    note = "Project X updated this issue: priority High -> Medium"
    issue = _owe(duckdb_warehouse, jira, note)
    admin = next(u for u in jira.store.users.values() if u.email == jira.credentials["email"])
    jira.store.add_comment(int(issue), note, admin.account_id, None)  # posted; the push was killed before noting so
    jira.store.add_comment(int(issue), "Project X reopened this issue", admin.account_id, None)  # a reopen's, after
    from assets.reverse_sync.jira import JiraIssueWriter
    from resources.jira import JiraResource

    writer = JiraIssueWriter(JiraResource(backoff_base_seconds=0.01).client())
    assert writer.find_recent_comment(issue, note) is not None
    assert writer.find_comment(issue, note) is None  # the latest only: what had been asked


def test_an_owed_note_older_than_thirty_days_is_pruned_when_the_next_is_kept(jira, duckdb_warehouse):
    rows = jira_rows(1)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 1
    with duckdb.connect(duckdb_warehouse.duckdb_path) as con:  # an issue no push reads again (its record gone)
        for statement in jira_notes.DDL:
            con.execute(statement)
        con.execute(f"insert into {jira_notes.TABLE} (vendor_id, internal_id, note, run_id, noted_at) "
                    "values ('99999', 'rem-gone', 'Project X updated this issue: x', 'old', "
                    "now()::timestamp - interval 40 day)")
    rows[0]["priority"] = "Low"
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").dead_lettered == 0
    assert query(duckdb_warehouse, f"select count(*) from {jira_notes.TABLE}") == [(0,)]


def test_a_servicenow_create_answered_200_with_a_gateway_error_is_held_by_the_next_run(servicenow, duckdb_warehouse):
    """Second review: the error-body answer was audited as a plain 200, so the next run's settle window (which holds a
    create ServiceNow may still be carrying out) read it as settled, missed the record in its look-up and created
    it: a second record once ServiceNow finished the first. It is audited in flight now and held."""
    from tests.test_reverse_sync_attacks import _sn_by_task
    from tests.test_reverse_sync_servicenow import remediation_rows

    rows = remediation_rows(1)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    hit = _refuse_200(servicenow, None, "POST", r"/api/now/(v\d/)?table/", GATEWAY_504)
    first = run("servicenow")
    assert len(hit) == 1 and first.dead_lettered == 1, first.failures
    _heal(servicenow)
    second = run("servicenow")
    assert second.created == 0, "held in the settle window, not created a second time"
    assert _sn_by_task(servicenow) == {}
