"""Round 34, review fixes of the reverse sync's round-34 changes.

1. An owed change comment of an edit Jira made but never answered (a gateway's 504) was lost when a person set the
   field again and the next run planned it again: the shortcut for "planned again" ran before the issue's values
   were read, the next edit's note replaced it, and that edit's refusal dropped it.
2. A 404 for a linked OneTrust attestation its search still shows dead-lettered every push: an upsert by our
   externalId goes into the same record, so it is sent (only a create not keyed by our id is held).
3. A 404 looked the record up with the whole label prefetch (every ``labels = projectx`` page, per 404).
4. A OneTrust implementation create read back by its id: a read-back failure (404 lag, 5xx) stopped the record, and a
   miss said "answered 201 without the id ... check the base URL" instead of "another control's implementation".
5. The change note escaped the direction marks Hebrew and Arabic text holds (U+200E, U+200F, U+061C)."""

from __future__ import annotations

import dataclasses
import json
import re
from types import SimpleNamespace

from assets.reverse_sync import jira_notes
from sandbox.core.http import json_response
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import attestation_rows, jira_rows, query, run, write_outbound
from tests.test_round34_reverse_notes import EDIT, _answer_after_making, _heal, _notes, _refuse

jira, onetrust = attacks.jira, attacks.onetrust  # the sandbox fixtures
_jira_keys = attacks._jira_keys


def test_an_unanswered_made_edits_note_survives_a_person_setting_the_field_and_the_next_edit_refused(
        jira, duckdb_warehouse):
    rows = jira_rows(1)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 1
    rows[0]["priority"] = "Low"
    write_outbound(duckdb_warehouse, "jira", rows)
    _answer_after_making(jira, "PUT", EDIT, 504)  # Jira made High -> Low; the gateway answered 504
    assert run("jira").dead_lettered == 1
    _heal(jira)
    [key] = _jira_keys(jira)
    jira.edit_as(key, {"priority": "Medium"})  # a person, between the two syncs
    _refuse(jira, "PUT", EDIT, 400, {"errorMessages": ["Issue is being reindexed; try again"], "errors": {}})
    assert run("jira").dead_lettered == 1  # plans priority again (Medium -> Low): refused
    _heal(jira)
    report = run("jira")
    assert report.dead_lettered == 0, report.failures
    notes = _notes(jira)
    assert any("High -> Low" in n for n in notes), f"the made High -> Low change was never told: {notes}"
    assert sum("High -> Low" in n for n in notes) == 1, notes
    assert query(duckdb_warehouse, f"select count(*) from {jira_notes.TABLE}") == [(0,)]


def test_an_edit_killed_before_jira_then_a_persons_edit_is_told_once_not_as_made(jira, duckdb_warehouse):
    """Second review: the PUT High -> Low never reached Jira (refused, not carried out); a person then set
    Medium. Read from values (every field a person's since), the note "High -> Low" was posted as made, then the
    next edit's own comment "Medium -> Low": two comments, the first false. The changelog holds no entry of ours,
    so the edit was not made: one comment."""
    rows = jira_rows(1)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 1
    rows[0]["priority"] = "Low"
    write_outbound(duckdb_warehouse, "jira", rows)
    _refuse(jira, "PUT", EDIT, 503, {"errorMessages": ["Service Unavailable"], "errors": {}})  # not carried out
    assert run("jira").dead_lettered == 1
    _heal(jira)
    [key] = _jira_keys(jira)
    jira.edit_as(key, {"priority": "Medium"})  # a person, between the two syncs
    report = run("jira")
    assert report.dead_lettered == 0, report.failures
    notes = _notes(jira)
    assert sum("-> Low" in n for n in notes) == 1, notes
    assert not any("High -> Low" in n for n in notes), notes
    assert query(duckdb_warehouse, f"select count(*) from {jira_notes.TABLE}") == [(0,)]


def _snap(fields: dict, foreign, own=None) -> SimpleNamespace:
    return SimpleNamespace(fields=fields, foreign=foreign, own=own)


def test_made_reads_an_unknown_changelog_as_unknown_unless_a_field_holds_its_value():
    owed = {"priority": "Low", "duedate": "2027-03-01"}
    # changelog unknown: a value that is not ours may be a person's, so it proves nothing (was: "not made")
    assert jira_notes._made(owed, _snap({"priority": "Medium", "duedate": "2026-12-01"}, None)) is None
    assert jira_notes._made(owed, _snap({"priority": "Low", "duedate": "2026-12-01"}, None)) is True
    # changelog known: the fields nobody else changed tell; all changed by a person: kept (told)
    assert jira_notes._made(owed, _snap({"priority": "Medium", "duedate": "2026-12-01"}, set())) is False
    assert jira_notes._made(owed, _snap({"priority": "Medium", "duedate": "2027-03-01"}, {"priority"})) is True
    assert jira_notes._made(owed, _snap({"priority": "Medium", "duedate": "x"}, {"priority", "duedate"})) is True
    # the account's own changelog entries say it outright, whatever the values
    assert jira_notes._made(owed, _snap({"priority": "Medium", "duedate": "x"}, {"priority", "duedate"}, set())) \
        is False
    assert jira_notes._made(owed, _snap({"priority": "Medium", "duedate": "x"}, {"priority"}, {"duedate"})) is True


def _not_found_first(sb, pattern: str, body: dict) -> list[str]:
    """The first GET of each path matching ``pattern`` is answered 404 (not carried out); later ones as usual."""
    decide, answer = sb.faults.decide, sb.fault_response
    hit: list[str] = []

    def fake(auth_faults: bool = True, m: str = "", path: str = ""):
        decision = decide(auth_faults, m, path)
        if m == "GET" and re.search(pattern, path) and path not in hit:
            hit.append(path)
            return dataclasses.replace(decision, status=297)
        return decision

    sb.faults.decide = fake
    sb.fault_response = lambda d: json_response(body, 404) if d.status == 297 else answer(d)
    return hit


def test_a_404_for_a_onetrust_attestation_its_upsert_still_finds_is_sent_not_dead_lettered(onetrust,
                                                                                           duckdb_warehouse):
    rows = attestation_rows(2)
    write_outbound(duckdb_warehouse, "onetrust", rows)
    assert run("onetrust").created == 2
    before = {a["externalId"]: a["id"] for a in onetrust.attestations() if a.get("externalId") in ("att-0000",
                                                                                                   "att-0001")}
    for r in rows:
        r["onetrust_result"] = "EFFECTIVE"
    write_outbound(duckdb_warehouse, "onetrust", rows)
    hit = _not_found_first(onetrust, r"/attestations/[^/]+$", {"status": 404, "error": "Not Found"})
    onetrust.clear_request_log()
    report = run("onetrust")
    _heal(onetrust)
    assert hit, "no attestation was read"
    assert report.dead_lettered == 0, report.failures  # was: 409 "its search shows that record", every push
    after = {a["externalId"]: a for a in onetrust.attestations() if a.get("externalId") in before}
    assert {k: a["id"] for k, a in after.items()} == before, "the upsert went into the same attestation"
    assert all(a["result"] == "EFFECTIVE" for a in after.values()), after
    listings = [r for r in onetrust.request_log if r["method"] == "GET" and r["path"].endswith("/attestations")
                and "externalId" not in (r.get("query") or "")]
    assert listings == [], "an upsert by our id needs no listing of every attestation per 404"
    assert run("onetrust").writes == 0


def test_a_404_looks_the_issue_up_by_its_own_label_not_every_projectx_issue(jira, duckdb_warehouse):
    rows = jira_rows(3)
    write_outbound(duckdb_warehouse, "jira", rows)
    assert run("jira").created == 3
    for r in rows[:2]:
        r["priority"] = "Low"
    write_outbound(duckdb_warehouse, "jira", rows)
    searched: list[str] = []

    def jql(req, resp):
        if req.path.endswith("/search/jql"):
            searched.append(json.loads(req.body or b"{}").get("jql", ""))
        return resp

    jira.rewrite_responses(jql)
    hit = _not_found_first(jira, EDIT, {"errorMessages": ["Issue does not exist"], "errors": {}})
    report = run("jira")
    _heal(jira)
    assert len(hit) == 2, hit
    assert not any(q.startswith("labels = projectx ") for q in searched), f"a whole prefetch per 404: {searched}"
    by_label = [q for q in searched if "projectx:rem-0000" in q]
    assert sorted(by_label)[:2] == [f'labels = "projectx:rem-0000{i}" ORDER BY created ASC, id ASC' for i in (0, 1)]
    assert len(searched) == 2, searched  # one search per 404
    assert report.created == 0 and report.dead_lettered == 2, report.failures  # the linked issue is there: re-read
    report = run("jira")
    assert (report.updated, report.dead_lettered, report.created) == (2, 0, 0), report.failures


IMPLEMENTATIONS = r"/api/controls/v1/control-implementations"


def _impls(sb) -> dict[str, dict]:
    return {i["externalId"]: i for i in sb.control_implementations() if str(i.get("externalId")).startswith(
        "projectx:")}


def test_an_implementation_whose_read_back_lags_its_create_is_found_by_its_external_id(onetrust, duckdb_warehouse):
    rows = attestation_rows(2)
    write_outbound(duckdb_warehouse, "onetrust", rows[:1])
    assert run("onetrust").created == 1

    def rewrite(req, resp):
        if req.method == "POST" and re.search(IMPLEMENTATIONS + "$", req.path):
            return json_response({"id": json.loads(resp.body)["id"]}, 201)  # made; answered with its id alone
        if req.method == "GET" and re.search(IMPLEMENTATIONS + "/[^/]+$", req.path):
            return json_response({"status": 404, "error": "Not Found"}, 404)  # a read lagging the write [unc]
        return resp

    onetrust.rewrite_responses(rewrite)
    write_outbound(duckdb_warehouse, "onetrust", rows[:2])
    report = run("onetrust")
    onetrust.rewrite_responses(None)
    assert report.dead_lettered == 0, report.failures  # was: the read-back's 404 failed the record
    impls = {i["id"]: i["externalId"] for i in onetrust.control_implementations()}
    [att] = [a for a in onetrust.attestations() if a.get("externalId") == "att-0001"]
    assert impls[att["controlImplementationId"]] == "projectx:OT-PIA-01"
    assert sorted(_impls(onetrust)) == ["projectx:OT-PIA-01", "projectx:SN-CHG-01"]


def test_an_implementation_answered_as_another_controls_and_not_found_says_so(onetrust, duckdb_warehouse):
    rows = attestation_rows(2)
    write_outbound(duckdb_warehouse, "onetrust", rows[:1])
    assert run("onetrust").created == 1
    other = _impls(onetrust)["projectx:SN-CHG-01"]

    def rewrite(req, resp):
        if req.method == "POST" and re.search(IMPLEMENTATIONS + "$", req.path):
            return json_response(other, 201)  # another control's implementation
        if req.method == "GET" and req.path.endswith("control-implementations") and "OT-PIA-01" in req.raw_query:
            return json_response({"content": [], "totalPages": 0, "last": True}, 200)  # the search lags
        return resp

    onetrust.rewrite_responses(rewrite)
    write_outbound(duckdb_warehouse, "onetrust", rows[:2])
    report = run("onetrust")
    onetrust.rewrite_responses(None)
    assert report.dead_lettered == 1
    [why] = report.failures
    assert "another control's implementation" in why, why
    assert "check" not in why and "base URL" not in why, why  # was: "answered 201 without the id ... base URL"
    assert not [a for a in onetrust.attestations() if a.get("externalId") == "att-0001"], "put on another control"


def test_the_change_note_keeps_direction_marks_and_turns_separators_into_spaces():
    from assets.reverse_sync.jira_screens import edit_note
    from assets.reverse_sync.policy import Change

    hebrew, arabic = "שלום\u200e (v2)\u200f", "مرحبا\u061c 2"
    note = edit_note([Change("summary", hebrew, arabic)])
    assert note == f"Project X updated this issue: summary {hebrew} -> {arabic}", note  # was: <U+200E> etc.
    assert edit_note([Change("summary", "a\u2028b\u2029c", "x")]).endswith("summary a b c -> x")
    hostile = edit_note([Change("summary", "\u202ax\u202by\u202cz\u202d\u202e\u2066\u2067\u2068\u2069\x00\x07", "ok")])
    for cp in ("202A", "202B", "202C", "202D", "202E", "2066", "2067", "2068", "2069", "0000", "0007"):
        assert f"<U+{cp}>" in hostile, (cp, hostile)
    assert edit_note([Change("summary", "\ud800", "ok")]).encode("utf-8")


def test_the_latest_of_two_comments_in_one_millisecond_is_the_newer_one():
    """Jira lists comments newest first (orderBy=-created); two posted in the same millisecond kept that order
    under a sort by time alone, so "the latest" was the older one (a flaky review test showed it)."""
    from assets.reverse_sync.jira_lookups import Lookups

    stamp = "2026-12-07T10:00:00.000+0000"
    listed = {"comments": [
        {"id": "10011", "created": stamp, "author": {"accountId": "me"}, "body": "reopened"},
        {"id": "10010", "created": stamp, "author": {"accountId": "me"}, "body": "note"},
        {"id": "9999", "created": "2026-12-07T09:59:59.999+0000", "author": {"accountId": "me"}, "body": "old"}]}

    class Client:
        def get(self, path, **params):
            return listed

    class Writer(Lookups):
        client = Client()

        def me(self):
            return "me"

    assert Writer().latest_comment("1")["id"] == "10011"
    assert [c["id"] for c in Writer()._mine("1")] == ["9999", "10010", "10011"]
