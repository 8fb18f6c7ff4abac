"""Round 33: a vendor (or a gateway in front of it) answering a write 200 with an error body, the write not carried
out. Such an answer is no proof of the write: the record must not be linked as written."""

from __future__ import annotations

import dataclasses

from sandbox.core.http import json_response
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import jira_rows, run, write_outbound

jira, onetrust = attacks.jira, attacks.onetrust  # the sandbox fixtures
_dead, _jira_keys = attacks._dead, attacks._jira_keys


def _refuse_200(sb, monkeypatch, method: str, pattern: str, body: dict, times: int = 10**6) -> list[str]:
    """Requests ``method`` on paths matching ``pattern`` are answered 200 with ``body`` and NOT carried out (until
    ``_heal(sb)``)."""
    import re

    hit: list[str] = []
    decide = sb.faults.decide

    def fake(auth_faults: bool = True, m: str = "", path: str = ""):
        decision = decide(auth_faults, m, path)
        if m == method and re.search(pattern, path) and len(hit) < times:
            hit.append(path)
            return dataclasses.replace(decision, status=299)
        return decision

    answer = sb.fault_response

    def respond(decision):
        if decision.status == 299:
            return json_response(body, 200)
        return answer(decision)

    sb.faults.decide, sb.fault_response = fake, respond
    return hit


def _heal(sb) -> None:
    del sb.faults.decide, sb.fault_response  # the instance attributes set above: the class's methods again


JIRA_ERROR = {"errorMessages": ["Transition is not valid for the current state of the issue"], "errors": {}}


def _done(sb) -> set[str]:
    return {i["key"] for i in sb.issues() if i["key"] in _jira_keys(sb)
            and i["fields"]["status"]["statusCategory"]["key"] == "done"}


def test_a_jira_close_answered_200_with_an_error_body_is_not_taken_as_done(jira, duckdb_warehouse, monkeypatch):
    rows = jira_rows(4)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 4
    write_outbound(duckdb_warehouse, "jira", rows[:2])  # two close
    hit = _refuse_200(jira, monkeypatch, "POST", r"/transitions$", JIRA_ERROR)
    report = run("jira", min_change_guard=10)
    assert hit
    assert _done(jira) == set(), "nothing was transitioned"
    assert report.closed == 0 and report.dead_lettered == 2, report.failures
    _heal(jira)
    report = run("jira", min_change_guard=10)
    assert report.closed == 2 and len(_done(jira)) == 2


def test_a_jira_edit_answered_200_with_an_error_body_is_dead_lettered(jira, duckdb_warehouse, monkeypatch):
    rows = jira_rows(3)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 3
    for r in rows:
        r["priority"] = "Low"
    write_outbound(duckdb_warehouse, "jira", rows)
    hit = _refuse_200(jira, monkeypatch, "PUT", r"/issue/[^/]+$", {"errorMessages": [],
                                                                   "errors": {"priority": "Priority is invalid."}})
    report = run("jira")
    assert hit
    assert report.updated == 0 and report.dead_lettered == 3, report.failures
    _heal(jira)
    report = run("jira")
    assert report.updated == 3 and report.conflicts == 0
    assert {i["fields"]["priority"]["name"] for i in jira.issues() if i["key"] in _jira_keys(jira)} == {"Low"}


def test_a_jira_search_answered_200_with_an_error_body_never_leads_to_a_second_issue(jira, duckdb_warehouse):
    """The links are gone (the warehouse restored from a backup older than the issues): the push finds each task's
    issue by its label. A search answered 200 with Jira's error body and no issues is no answer: read as an empty
    search, every task got a second issue."""
    import duckdb

    rows = jira_rows(3)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 3
    with duckdb.connect(duckdb_warehouse.duckdb_path) as con:
        con.execute("delete from reverse_sync.external_links")
        con.execute("delete from audit.events")
    hit = _refuse_200(jira, None, "POST", r"/search/jql$",
                      {"errorMessages": ["Search is temporarily unavailable: the index is being rebuilt."]})
    report = run("jira")
    assert hit
    assert (report.created, report.paused_circuit_open) == (0, 3), report.failures
    assert "error instead of a search page" in report.paused_reason and "index is being rebuilt" in \
        report.paused_reason
    assert attacks._jira_by_task(jira) == {r["remediation_task_id"]: 1 for r in rows}
    _heal(jira)
    report = run("jira")
    assert (report.created, report.adopted, report.dead_lettered) == (0, 3, 0), report.failures
    assert attacks._jira_by_task(jira) == {r["remediation_task_id"]: 1 for r in rows}


SPRING_ERROR = {"timestamp": "2026-12-07T10:00:00Z", "status": 503, "error": "Service Unavailable",
                "message": "Attachment service is starting", "path": "/attachments"}


def test_a_onetrust_attachment_listing_answered_200_with_an_error_body_uploads_nothing_twice(
        onetrust, duckdb_warehouse, tmp_path):
    from tests.reverse_sync_helpers import attestation_rows

    rows = attestation_rows(3)
    for r in rows:
        (tmp_path / "evidence" / f"{r['attestation_id']}.pdf").write_bytes(f"%PDF {r['attestation_id']}".encode())
        r["evidence_refs"] = f"Evidence <{r['attestation_id']}.pdf>"
    write_outbound(duckdb_warehouse, "onetrust", rows)
    assert run("onetrust").dead_lettered == 0
    for r in rows:
        r["summary"] += " (re-evaluated)"
    write_outbound(duckdb_warehouse, "onetrust", rows)
    hit = _refuse_200(onetrust, None, "GET", r"/attachments$", SPRING_ERROR)
    report = run("onetrust")
    assert hit
    ours = [a for a in onetrust.attestations() if a.get("source") == "Project X"]
    assert [len(onetrust.attachments.get(a["id"], [])) for a in ours] == [1, 1, 1], "each file attached once"
    _heal(onetrust)
    report = run("onetrust")
    assert report.dead_lettered == 0, report.failures
    assert [len(onetrust.attachments.get(a["id"], [])) for a in ours] == [1, 1, 1]
    assert run("onetrust").writes == 0


def test_a_jira_comment_whose_answer_was_lost_is_not_posted_again_when_the_lookup_answers_200_with_an_error(
        jira, duckdb_warehouse):
    rows = jira_rows(2)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 2
    for r in rows:
        r["priority"] = "Low"
    write_outbound(duckdb_warehouse, "jira", rows)
    jira.faults.set(rate_lost_reply=1.0, methods=["POST"], paths=[r"/comment$"])  # the comment made, answered 503
    hit = _refuse_200(jira, None, "GET", r"/comment$", JIRA_ERROR)  # and the look-up for it answers 200 + error
    run("jira")
    assert hit
    jira.faults.clear()
    _heal(jira)
    report = run("jira")
    assert report.dead_lettered == 0, report.failures
    counts = [len(jira.store.comments_of(jira.store.resolve(k))) for k in _jira_keys(jira)]
    assert counts == [1, 1], "one change comment per issue"


def test_a_onetrust_attestation_read_answered_200_with_an_error_body_fails_that_record_not_the_push(
        onetrust, duckdb_warehouse):
    from tests.reverse_sync_helpers import attestation_rows

    rows = attestation_rows(3)
    write_outbound(duckdb_warehouse, "onetrust", rows)
    assert run("onetrust").created == 3
    for r in rows:
        r["summary"] += " (re-evaluated)"
    write_outbound(duckdb_warehouse, "onetrust", rows)
    ours = {a["externalId"]: a["id"] for a in onetrust.attestations() if a.get("source") == "Project X"}
    hit = _refuse_200(onetrust, None, "GET", rf"/attestations/{ours['att-0001']}$", SPRING_ERROR)
    report = run("onetrust")  # was: KeyError 'id' out of the push, every record unwritten
    assert hit
    assert (report.updated, report.dead_lettered) == (2, 1), report.failures
    assert "200 with an error" in _dead(duckdb_warehouse, "onetrust")["att-0001"]
    _heal(onetrust)
    report = run("onetrust")
    assert (report.updated, report.dead_lettered) == (1, 0), report.failures
