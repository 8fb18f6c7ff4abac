"""Round 31 review of the Jira not-editable hold and the owed assignee, against the Jira sandbox over HTTP.

- a bare 403 (no reason from Jira: the account lost Edit Issues) is the account's, not the issue's: never held,
  the breaker counts it and opens;
- an owed assignee refused by an issue that takes no edit is held with the issue, still owed, not given up;
- a reopen of a Closed issue that takes no edit moves it first, then edits it: never held;
- the owed assignee is never set over an assignment a person made after our read."""

from __future__ import annotations

from datetime import date

import pytest

from tests.conftest import jira_env
from tests.reverse_sync_helpers import age_reverts, jira_rows, query, run, write_outbound, writes

OWNER = "owner.review@corp.example"


@pytest.fixture
def jira(make_jira_sandbox, duckdb_warehouse, monkeypatch):
    sb = make_jira_sandbox(size=20)
    jira_env(monkeypatch, sb)
    return sb


def _links(settings) -> dict[str, tuple[str, str]]:
    return {r[0]: (r[1], r[2]) for r in query(settings, "select internal_id, vendor_id, vendor_number from "
                                                        "reverse_sync.external_links where vendor = 'jira'")}


def _dead(settings) -> list[tuple]:
    return query(settings, "select internal_id, error from reverse_sync.dead_letters where vendor = 'jira'")


def _frozen_audits(settings) -> list[tuple]:
    return query(settings, "select object_id from audit.events where action = 'push' and system = 'jira' "
                           "and operation = 'not_editable'")


def _freeze(monkeypatch, which) -> None:
    """[unc] the sandbox has no workflow status properties: issues for which ``which(issue)`` holds stand for ones
    Jira answers an empty editmeta for (every field of an edit refused)."""
    from sandbox.jira import field_screens

    real = field_screens.edit_fields
    monkeypatch.setattr(field_screens, "edit_fields",
                        lambda sb, issue: [] if which(issue) else real(sb, issue))
    return lambda: monkeypatch.setattr(field_screens, "edit_fields", real)


def _create_screen_without_assignee(monkeypatch) -> None:
    from sandbox.jira import field_screens

    real = field_screens.create_fields
    monkeypatch.setattr(field_screens, "create_fields",
                        lambda sb, project, type_id: [f for f in real(sb, project, type_id) if f != "assignee"])


def _issue(sb, key: str) -> dict:
    return next(i for i in sb.issues() if i["key"] == key)


def _assignee(issue: dict) -> str | None:
    return (issue["fields"].get("assignee") or {}).get("accountId")


def test_a_bare_403_on_every_edit_is_no_hold_and_opens_the_breaker(jira, duckdb_warehouse, monkeypatch):
    """The account lost Edit Issues site-wide: every editmeta is empty and every PUT answers 403 with no reason
    (an HTML page here). Before, each issue was held up to a day as not_editable and the breaker never opened."""
    rows = jira_rows(4)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 4
    _freeze(monkeypatch, lambda issue: True)
    jira.faults.set(rate_403=1, methods=["PUT"], html_errors=1)
    write_outbound(duckdb_warehouse, "jira", [{**r, "due_date": date(2027, 7, 1)} for r in rows])
    report = run("jira", run_id="refused", circuit_breakers=True, breaker_threshold=2, concurrency=1)
    assert report.breaker_state == "open", report.as_metadata()
    assert report.dead_lettered == 2 and report.paused_circuit_open == 2, report.as_metadata()
    assert _frozen_audits(duckdb_warehouse) == []
    assert all(not error.startswith("not_editable") and "403" in error for _, error in _dead(duckdb_warehouse))


def test_an_owed_assignee_refused_by_an_issue_that_takes_no_edit_stays_owed(jira, duckdb_warehouse, monkeypatch):
    """Before: Jira's 400 naming only the assignee read as "an owner Jira will not assign": given up for good."""
    owner = jira.add_user(OWNER, "Olive Review")
    _create_screen_without_assignee(monkeypatch)
    write_outbound(duckdb_warehouse, "jira", [{**r, "assignee_email": OWNER} for r in jira_rows(1)])
    assert run("jira").created == 1
    [(issue_id, key)] = _links(duckdb_warehouse).values()
    thaw = _freeze(monkeypatch, lambda issue: issue.key == key)
    frozen = run("jira", run_id="frozen")  # only the owed assignee changes
    assert frozen.dead_lettered == 1 and [w["status"] for w in writes(jira)][-1] == 400
    [(_, error)] = _dead(duckdb_warehouse)
    assert error.startswith("not_editable:") and _frozen_audits(duckdb_warehouse) == [(issue_id,)]
    assert _assignee(_issue(jira, key)) is None
    thaw()
    age_reverts(duckdb_warehouse, 61, "not_editable")
    jira.clear_request_log()
    back = run("jira", run_id="back")
    assert back.dead_lettered == 0 and back.updated == 1, back.failures
    assert [w["method"] for w in writes(jira)] == ["PUT"]
    assert _assignee(_issue(jira, key)) == owner


def test_a_reopen_of_a_closed_issue_that_takes_no_edit_moves_it_first_and_is_never_held(
        jira, duckdb_warehouse, monkeypatch):
    """Closed issues take no edit (a classic workflow's Closed). Before: the edit went before the reopen, was
    refused and held; the reopen never ran and the issue stayed Done while its control failed."""
    rows = jira_rows(2)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 2
    key = _links(duckdb_warehouse)["rem-00000"][1]
    write_outbound(duckdb_warehouse, "jira", rows[1:])  # rem-00000's control passes
    assert run("jira", run_id="close").closed == 1
    _freeze(monkeypatch, lambda issue: issue.status_id == "10002")  # Done takes no edit
    write_outbound(duckdb_warehouse, "jira", [{**rows[0], "due_date": date(2027, 8, 2)}, rows[1]])  # fails again
    jira.clear_request_log()
    again = run("jira", run_id="reopen")
    assert again.reopened == 1 and again.dead_lettered == 0, again.failures
    assert _frozen_audits(duckdb_warehouse) == [] and _dead(duckdb_warehouse) == []
    issue = _issue(jira, key)
    assert issue["fields"]["status"]["statusCategory"]["key"] != "done"
    assert issue["fields"]["duedate"] == "2027-08-02"
    order = [w["path"].rsplit("/", 1)[-1] for w in writes(jira)]
    assert order.index("transitions") < next(i for i, w in enumerate(writes(jira)) if w["method"] == "PUT"), order


def test_a_reopened_issue_whose_edit_is_then_refused_is_held_on_the_next_pushes(jira, duckdb_warehouse, monkeypatch):
    """Review of round 31: the reopen went through but the edit after it was refused (the reopened status takes no
    edit either); the link stayed closed, and a closed link was never held: every push read it and sent the refused
    edit again. Held like any issue that takes no edit, as long as its not_editable dead letter stands."""
    rows = jira_rows(2)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 2
    vid, key = _links(duckdb_warehouse)["rem-00000"]
    write_outbound(duckdb_warehouse, "jira", rows[1:])
    assert run("jira", run_id="close").closed == 1
    _freeze(monkeypatch, lambda issue: True)  # no status of this workflow takes an edit now
    write_outbound(duckdb_warehouse, "jira", [{**rows[0], "due_date": date(2027, 8, 2)}, rows[1]])
    first = run("jira", run_id="reopen")
    assert first.dead_lettered == 1 and _frozen_audits(duckdb_warehouse) == [(vid,)]
    assert _issue(jira, key)["fields"]["status"]["statusCategory"]["key"] != "done"  # the move went through
    for n in range(2):
        jira.clear_request_log()
        again = run("jira", run_id=f"held-{n}")
        assert again.dead_lettered == 1, again.failures
        assert [r["path"] for r in jira.request_log if r["path"].endswith((f"/{vid}", f"/{key}"))
                or f"/{vid}/" in r["path"] or f"/{key}/" in r["path"]] == [], "held: no request for it"
        [(_, error)] = [d for d in _dead(duckdb_warehouse) if d[0] == "rem-00000"]
        assert error.startswith("deferred: not_editable:"), error


def test_the_owed_assignee_is_not_set_over_an_assignment_made_after_the_read(jira, duckdb_warehouse, monkeypatch):
    """A person assigns the issue between the push's read and its PUT: the assignment stands."""
    from assets.reverse_sync.jira import JiraIssueWriter

    jira.add_user(OWNER, "Olive Review")
    _create_screen_without_assignee(monkeypatch)
    write_outbound(duckdb_warehouse, "jira", [{**r, "assignee_email": OWNER} for r in jira_rows(1)])
    assert run("jira").created == 1
    [(_, key)] = _links(duckdb_warehouse).values()
    someone = jira.person()
    real = JiraIssueWriter.read

    def read_then_assigned(self, vendor_id, since):
        snap = real(self, vendor_id, since)
        jira.edit_as(key, {"assignee": {"accountId": someone}})  # in Jira, right after our read
        return snap

    monkeypatch.setattr(JiraIssueWriter, "read", read_then_assigned)
    jira.clear_request_log()
    second = run("jira", run_id="second")
    assert second.dead_lettered == 0, second.failures
    assert writes(jira) == [] and _assignee(_issue(jira, key)) == someone
    monkeypatch.setattr(JiraIssueWriter, "read", real)
    jira.clear_request_log()
    assert run("jira", run_id="third").dead_lettered == 0 and writes(jira) == []  # no longer owed
    assert _assignee(_issue(jira, key)) == someone


def test_a_bare_403_on_every_edit_stops_the_push_after_three_with_the_breaker_off(jira, duckdb_warehouse,
                                                                                   monkeypatch):
    """Outside prod the breaker never opens: the account-wide refusal stop (refusal.py) now covers Jira, so a push
    sends three refused edits, not one per record, and the rest wait as deferred naming the permission."""
    rows = jira_rows(6)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 6
    _freeze(monkeypatch, lambda issue: True)
    jira.faults.set(rate_403=1, methods=["PUT"], html_errors=1)
    write_outbound(duckdb_warehouse, "jira", [{**r, "due_date": date(2027, 7, 3)} for r in rows])
    jira.clear_request_log()
    push = run("jira", run_id="refused", circuit_breakers=False)
    assert push.dead_lettered == 3 and push.deferred_refused == 3, push.as_metadata()
    assert len({w["path"] for w in writes(jira)}) == 3 and "Edit Issues" in push.stopped
    deferred = [e for _, e in _dead(duckdb_warehouse) if e.startswith("deferred:")]
    assert len(deferred) == 3 and all("refused 3 writes in a row" in e for e in deferred)
    assert _frozen_audits(duckdb_warehouse) == []
    assert not any(jira.credentials["api_token"] in e for _, e in _dead(duckdb_warehouse))
