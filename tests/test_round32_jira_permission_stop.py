"""Round 32: Jira's 403 with its reason, "You do not have permission to ...", on every edit of a project (the
integration account lost Edit Issues there), against the Jira sandbox over HTTP.

Before: each issue was held on its own as not_editable (``jira_frozen``), and the account-wide refusal stop
(``refusal.py``) never saw the answer (the held record's dead letter is a 409), so a push sent one refused edit
(and an editmeta read) per issue. Now the held refusals count toward the stop: three in a row with no success stop
the push, the rest wait as deferred naming the grant, and the three are still held."""

from __future__ import annotations

from datetime import date

from assets.reverse_sync.refusal import signature
from assets.reverse_sync.writes import RecordRefused
from pipelines.common.http import VendorError
from tests.reverse_sync_helpers import age_reverts, jira_rows, run, write_outbound, writes
from tests.test_round31_jira_review import _dead, _freeze, _frozen_audits, _links, jira  # noqa: F401  (fixture)


def test_jiras_permission_403_is_an_account_answer_but_its_404_is_not():
    refused = RecordRefused("PUT /rest/api/3/issue/10001: 403 You do not have permission to edit issues in this "
                            "project.", 403)
    other = RecordRefused("PUT /rest/api/3/issue/10002: 403 You do not have permission to edit issues in this "
                          "project.", 403)
    assert signature(refused) is not None and signature(refused) == signature(other)
    assert signature(VendorError("GET /rest/api/3/issue/X-1: 404 Issue does not exist or you do not have "
                                 "permission to see it.", 404)) is None
    assert signature(RecordRefused("PUT /rest/api/3/issue/10001: 403 Issue is in a status that is closed", 403)) \
        is None


def test_a_project_refusing_every_edit_with_jiras_reason_stops_the_push_after_three_and_holds_those(
        jira, duckdb_warehouse, monkeypatch):  # noqa: F811
    rows = jira_rows(6)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 6
    thaw = _freeze(monkeypatch, lambda issue: True)  # [unc] Jira answers an empty editmeta without Edit Issues
    jira.faults.set(rate_403=1, methods=["PUT"])  # JSON: "You do not have permission to perform this operation."
    write_outbound(duckdb_warehouse, "jira", [{**r, "due_date": date(2027, 8, 1)} for r in rows])
    jira.clear_request_log()
    push = run("jira", run_id="refused", circuit_breakers=False)
    assert push.dead_lettered == 3 and push.deferred_refused == 3, push.as_metadata()
    assert len({w["path"] for w in writes(jira)}) == 3, writes(jira)
    assert "Edit Issues" in push.stopped and "do not have permission" in push.stopped
    dead = [e for _, e in _dead(duckdb_warehouse)]
    assert sum(e.startswith("not_editable:") for e in dead) == 3  # held, as before
    assert sum(e.startswith("deferred:") and "refused 3 writes in a row" in e for e in dead) == 3
    assert len(_frozen_audits(duckdb_warehouse)) == 3
    assert not any(jira.credentials["api_token"] in e for e in dead)

    # the next push: the held three cost no request, the three deferred are tried and held in turn
    jira.clear_request_log()
    second = run("jira", run_id="second", circuit_breakers=False)
    assert second.dead_lettered == 6 and second.deferred_refused == 0, second.as_metadata()
    assert len({w["path"] for w in writes(jira)}) == 3
    assert sum(e.startswith("deferred: not_editable:") for _, e in _dead(duckdb_warehouse)) == 3

    # the grant restored: once the holds pass every edit goes through and the dead letters clear
    jira.faults.clear()
    thaw()
    age_reverts(duckdb_warehouse, 61, "not_editable")
    back = run("jira", run_id="back", circuit_breakers=False)
    assert back.dead_lettered == 0 and back.updated == 6, back.as_metadata()
    assert _dead(duckdb_warehouse) == []


def test_a_permission_403_on_one_issue_among_successes_is_held_and_stops_nothing(
        jira, duckdb_warehouse, monkeypatch):  # noqa: F811
    rows = jira_rows(4)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 4
    frozen_id, frozen_key = _links(duckdb_warehouse)["rem-00001"]
    _freeze(monkeypatch, lambda issue: issue.key == frozen_key)
    jira.faults.set(rate_403=1, methods=["PUT"], paths=[rf"/issue/{frozen_id}$"])
    write_outbound(duckdb_warehouse, "jira", [{**r, "due_date": date(2027, 8, 2)} for r in rows])
    push = run("jira", run_id="one", circuit_breakers=False)
    assert push.deferred_refused == 0 and not push.stopped, push.as_metadata()
    assert push.dead_lettered == 1 and push.updated == 3, push.as_metadata()
    [(internal_id, error)] = _dead(duckdb_warehouse)
    assert internal_id == "rem-00001" and error.startswith("not_editable:")


def test_a_project_without_edit_issues_defers_its_own_records_only(jira, duckdb_warehouse, monkeypatch):  # noqa: F811
    """The permission is a project's: three refusals in GRC stop GRC's edits, and SEC's are all still sent, in
    whatever order the push takes them (review of round 32: the stop had deferred every project's records)."""
    grc, sec = jira_rows(6, project="GRC"), jira_rows(6, start=6, project="SEC")
    rows = [r for pair in zip(grc, sec, strict=True) for r in pair]  # interleaved: SEC's edits succeed between
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 12
    links = _links(duckdb_warehouse)
    grc_ids = [links[r["remediation_task_id"]][0] for r in grc]
    grc_keys = {links[r["remediation_task_id"]][1] for r in grc}
    _freeze(monkeypatch, lambda issue: issue.key in grc_keys)
    jira.faults.set(rate_403=1, methods=["PUT"], paths=[rf"/issue/({'|'.join(grc_ids)})$"])
    write_outbound(duckdb_warehouse, "jira", [{**r, "due_date": date(2027, 8, 3)} for r in rows])
    jira.clear_request_log()
    push = run("jira", run_id="mixed", circuit_breakers=False)
    assert push.updated == 6, push.as_metadata()
    assert "project GRC" in push.stopped and "SEC" not in push.stopped, push.as_metadata()
    dead = dict(_dead(duckdb_warehouse))
    assert set(dead) == {r["remediation_task_id"] for r in grc}
    refused = len({w["path"] for w in writes(jira) if w["status"] == 403})
    # three in a row stop GRC; a GRC edit already in flight beside SEC's (4 at once) may make it one more
    assert 3 <= refused <= 4 and push.dead_lettered == refused and push.deferred_refused == 6 - refused, \
        (refused, push.as_metadata())
    deferred = [e for e in dead.values() if e.startswith("deferred:")]
    assert len(deferred) == 6 - refused and all("in project GRC" in e and "Edit Issues" in e for e in deferred)
