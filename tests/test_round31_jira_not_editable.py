"""Round 31: a Jira issue that takes no edit at all (its editmeta lists no field: a status with
``jira.issue.editable = false``, or no Edit Issues permission) is held with a doubling backoff
(``PROJECTX_JIRA_EDIT_RETRY_SECONDS``, ``assets/reverse_sync/jira_frozen.py``), against the Jira sandbox over HTTP.

Before: its dead letter was retried on every push (a read, a refused PUT and an editmeta read each time)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tests.conftest import jira_env
from tests.reverse_sync_helpers import age_reverts, jira_rows, query, run, write_outbound, writes


@pytest.fixture
def jira(make_jira_sandbox, duckdb_warehouse, monkeypatch):
    sb = make_jira_sandbox(size=30)
    jira_env(monkeypatch, sb)
    return sb


def _links(settings) -> dict[str, tuple[str, str]]:
    return {r[0]: (r[1], r[2]) for r in query(settings, "select internal_id, vendor_id, vendor_number from "
                                                        "reverse_sync.external_links where vendor = 'jira'")}


def _freeze(monkeypatch, key: str):
    """[unc] the sandbox has no workflow status properties: the issue stands for one in a status with
    jira.issue.editable = false (or the account without Edit Issues there): editmeta empty, every field refused.
    Returns what makes it editable again."""
    from sandbox.jira import field_screens

    real = field_screens.edit_fields
    monkeypatch.setattr(field_screens, "edit_fields", lambda sb, issue: [] if issue.key == key else real(sb, issue))
    return lambda: monkeypatch.setattr(field_screens, "edit_fields", real)


def _dead(settings) -> list[tuple]:
    return query(settings, "select internal_id, attempts, error from reverse_sync.dead_letters where vendor = 'jira'")


def _frozen_audits(settings) -> list[tuple]:
    return query(settings, "select object_id, status, detail from audit.events where action = 'push' and "
                           "system = 'jira' and operation = 'not_editable' order by occurred_at")


def _touching(sb, issue_id: str, key: str) -> list[dict]:
    return [r for r in sb.request_log if f"/issue/{issue_id}" in r["path"] or f"/issue/{key}" in r["path"]]


def _pushed(settings, rows, day: int) -> None:
    write_outbound(settings, "jira", [{**r, "due_date": date(2027, 5, day)} for r in rows])


def test_an_issue_that_takes_no_edit_is_held_then_retried_with_a_doubled_hold_and_written_once_editable(
        jira, duckdb_warehouse, monkeypatch):
    rows = jira_rows(2)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 2
    frozen_id, frozen_key = _links(duckdb_warehouse)["rem-00000"]
    thaw = _freeze(monkeypatch, frozen_key)
    _pushed(duckdb_warehouse, rows, 1)
    first = run("jira", run_id="first", concurrency=1)
    assert first.dead_lettered == 1 and first.updated == 1
    [(who, attempts, error)] = _dead(duckdb_warehouse)
    # Jira's own refusal stays in the reason, with what it means and how to fix it
    assert who == "rem-00000" and error.startswith("not_editable:") and "cannot be set" in error
    assert "Edit Issues" in error and "PROJECTX_JIRA_EDIT_RETRY_SECONDS" in error
    [(object_id, status, _)] = _frozen_audits(duckdb_warehouse)
    assert object_id == frozen_id and str(status) == "400"
    # held: the next pushes send nothing about it, not even a read, yet it stays counted and on record
    for n in range(3):
        jira.clear_request_log()
        held = run("jira", run_id=f"held{n}")
        assert held.dead_lettered == 1 and held.updated == 0
        assert _touching(jira, frozen_id, frozen_key) == [], jira.request_log
        [(_, attempts_now, error)] = _dead(duckdb_warehouse)
        assert attempts_now == attempts + n + 1 and error.startswith("deferred: not_editable:")
        assert "not sent again before" in error and "Edit Issues" in error
    assert len(_frozen_audits(duckdb_warehouse)) == 1
    # the hold (3600 s by default) passes: tried once more, refused again, held twice as long
    age_reverts(duckdb_warehouse, 61, "not_editable")
    jira.clear_request_log()
    again = run("jira", run_id="again")
    assert again.dead_lettered == 1 and [w["status"] for w in writes(jira)] == [400]
    assert len(_frozen_audits(duckdb_warehouse)) == 2
    age_reverts(duckdb_warehouse, 61, "not_editable")  # one hour is no longer enough
    jira.clear_request_log()
    assert run("jira", run_id="still").dead_lettered == 1 and _touching(jira, frozen_id, frozen_key) == []
    # editable again (reopened in Jira): once the doubled hold has passed the edit goes through
    thaw()
    age_reverts(duckdb_warehouse, 61, "not_editable")
    done = run("jira", run_id="done")
    assert done.dead_lettered == 0 and done.updated == 1, done.failures
    assert _dead(duckdb_warehouse) == []
    issue = next(i for i in jira.issues() if i["key"] == frozen_key)
    assert issue["fields"]["duedate"] == "2027-05-01"


def test_a_403_with_jiras_reason_on_the_edit_of_one_issue_is_held_and_opens_no_breaker(
        jira, duckdb_warehouse, monkeypatch):
    """A 403 carrying Jira's reason, on one issue while the others are written, is about that issue (RecordRefused):
    held. A bare 403 (no reason) is the account's and is never held: test_round31_jira_review.py."""
    rows = jira_rows(3)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 3
    frozen_id, frozen_key = _links(duckdb_warehouse)["rem-00001"]
    _freeze(monkeypatch, frozen_key)
    jira.faults.set(rate_403=1, methods=["PUT"], paths=[rf"/issue/{frozen_id}$"])
    _pushed(duckdb_warehouse, rows, 2)
    first = run("jira", run_id="first", breaker_threshold=1)
    assert first.dead_lettered == 1 and first.updated == 2 and first.breaker_state == "closed"
    [(_, _, error)] = _dead(duckdb_warehouse)
    assert error.startswith("not_editable:") and "403" in error
    [(_, status, detail)] = _frozen_audits(duckdb_warehouse)
    assert str(status) == "403" and "api_token" not in json.dumps(detail)
    jira.clear_request_log()
    assert run("jira", run_id="held").dead_lettered == 1 and _touching(jira, frozen_id, frozen_key) == []


def test_a_value_refused_on_an_editable_issue_is_no_hold(jira, duckdb_warehouse):
    """Only an issue whose editmeta lists nothing is held: a refused value (priority Jira lacks) stays an
    ordinary dead letter, sent again by the next push."""
    rows = jira_rows(1)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 1
    write_outbound(duckdb_warehouse, "jira", [{**rows[0], "priority": "Urgently"}])
    assert run("jira", run_id="first").dead_lettered == 1
    jira.clear_request_log()
    second = run("jira", run_id="second")
    assert second.dead_lettered == 1 and [w["status"] for w in writes(jira)] == [400]
    [(_, _, error)] = _dead(duckdb_warehouse)
    assert "not_editable" not in error and _frozen_audits(duckdb_warehouse) == []


def test_a_held_record_whose_control_passes_is_closed_without_waiting(jira, duckdb_warehouse, monkeypatch):
    rows = jira_rows(2)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 2
    frozen_key = _links(duckdb_warehouse)["rem-00000"][1]
    _freeze(monkeypatch, frozen_key)
    _pushed(duckdb_warehouse, rows, 3)
    assert run("jira", run_id="first").dead_lettered == 1
    write_outbound(duckdb_warehouse, "jira", rows[1:])  # rem-00000's control passes: its row leaves the mart
    closing = run("jira", run_id="close")
    assert closing.closed == 1 and closing.dead_lettered == 0, closing.failures
    assert _dead(duckdb_warehouse) == []
    status = query(duckdb_warehouse, "select status from reverse_sync.external_links where internal_id = 'rem-00000'")
    assert status == [("closed",)]
    issue = next(i for i in jira.issues() if i["key"] == frozen_key)
    assert issue["fields"]["status"]["statusCategory"]["key"] == "done"


def test_no_hold_when_the_setting_is_0_and_a_bad_setting_stops_the_push_before_any_call(
        jira, duckdb_warehouse, monkeypatch):
    rows = jira_rows(1)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 1
    _freeze(monkeypatch, _links(duckdb_warehouse)["rem-00000"][1])
    _pushed(duckdb_warehouse, rows, 4)
    monkeypatch.setenv("PROJECTX_JIRA_EDIT_RETRY_SECONDS", "0")
    assert run("jira", run_id="first").dead_lettered == 1
    jira.clear_request_log()
    assert run("jira", run_id="second").dead_lettered == 1 and [w["status"] for w in writes(jira)] == [400]
    monkeypatch.setenv("PROJECTX_JIRA_EDIT_RETRY_SECONDS", "a week")
    jira.clear_request_log()
    with pytest.raises(Exception, match="PROJECTX_JIRA_EDIT_RETRY_SECONDS"):
        run("jira", run_id="bad")
    assert writes(jira) == []
