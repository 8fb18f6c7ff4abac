"""Round 21: answers that do not prove the write, and records gone between our read and our write, over HTTP
against the sandboxes. An update answered 2xx with an empty body or ``{}``: ServiceNow's PATCH answers the
record and OneTrust's upsert the attestation, so there it proves nothing and the record is read back (done only
when the vendor shows the write, else dead-lettered and written next run); Jira's PUT answers 204 No Content by
spec, so empty is its success. A record deleted at the vendor between the plan's read and the write: ServiceNow
dead-letters its 404 (the nightly reconciliation re-creates), Jira re-creates on the next push, OneTrust's upsert
by externalId re-creates it in the same push. A Jira transition id gone between plan and write (workflow edited):
re-read once, else dead-lettered naming the workflow."""

from __future__ import annotations

import hashlib

import pytest
import requests

from assets.reverse_sync.jira import JiraIssueWriter
from assets.reverse_sync.onetrust import OneTrustAttestationWriter
from assets.reverse_sync.servicenow import ServiceNowTaskWriter, remediation_table
from sandbox.jira import catalog
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import attestation_rows, jira_rows, run, write_outbound, writes
from tests.test_reverse_sync_round19_hostile import OURS, _links
from tests.test_reverse_sync_servicenow import remediation_rows

servicenow, jira, onetrust = attacks.servicenow, attacks.jira, attacks.onetrust  # the sandbox fixtures
_dead = attacks._dead
REAL_SEND = requests.Session.send


def _answer_2xx(monkeypatch, method: str, path_end: str, body: bytes, *, forward: bool, status: int = 200) -> list:
    """``method ...path_end`` answered ``status`` with ``body``: passed on to the vendor first (``forward``: a
    gateway that drops the answer's body) or never (a proxy answering in the API's place). Returns the calls."""
    calls: list[str] = []

    def send(self, prepared, **kw):
        if prepared.method != method or not prepared.url.split("?")[0].endswith(path_end):
            return REAL_SEND(self, prepared, **kw)
        calls.append(prepared.url)
        response = REAL_SEND(self, prepared, **kw) if forward else requests.Response()
        response.status_code, response.url, response.request = status, prepared.url, prepared
        response.headers = requests.structures.CaseInsensitiveDict(
            {"Content-Type": "application/json"} if body else {})
        response._content = body
        return response

    monkeypatch.setattr(requests.Session, "send", send)
    return calls


def _changed(settings, vendor: str, rows: list[dict], field: str) -> None:
    for r in rows:
        r[field] += " (changed)"
    write_outbound(settings, vendor, rows)


# --- an update answered 2xx with an empty body or {} -----------------------------------------------------------

@pytest.mark.parametrize("body", [b"", b"{}"])
def test_a_servicenow_patch_answered_empty_is_not_done_unless_the_record_shows_it(body, servicenow, duckdb_warehouse,
                                                                                 monkeypatch):
    rows = remediation_rows(2)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    run("servicenow")
    _changed(duckdb_warehouse, "servicenow", rows, "description")
    _answer_2xx(monkeypatch, "PATCH", "", body, forward=False)  # a proxy answers; ServiceNow never sees it
    swallowed = run("servicenow", circuit_breakers=False)
    assert swallowed.updated == 0 and swallowed.dead_lettered == 2, swallowed.failures
    for error in _dead(duckdb_warehouse, "servicenow").values():
        assert "PATCH" in error and "base URL" in error, error
    _answer_2xx(monkeypatch, "PATCH", "", body, forward=True)  # now it is passed on, the answer still empty
    verified = run("servicenow", circuit_breakers=False)
    monkeypatch.setattr(requests.Session, "send", REAL_SEND)
    assert (verified.updated, verified.dead_lettered) == (2, 0), verified.failures
    records = {r["correlation_id"]: r for r in servicenow.records(remediation_table())}
    assert all(records[r["remediation_task_id"]]["description"] == r["description"] for r in rows)
    assert run("servicenow").writes == 0


@pytest.mark.parametrize("body", [b"", b"{}"])
def test_a_onetrust_update_answered_empty_is_not_done_unless_the_attestation_shows_it(body, onetrust,
                                                                                     duckdb_warehouse, monkeypatch):
    rows = attestation_rows(2)
    write_outbound(duckdb_warehouse, "onetrust", rows)
    run("onetrust")
    _changed(duckdb_warehouse, "onetrust", rows, "summary")
    _answer_2xx(monkeypatch, "POST", "/attestations", body, forward=False)
    swallowed = run("onetrust", circuit_breakers=False)
    assert swallowed.updated == 0 and swallowed.dead_lettered == 2, swallowed.failures
    _answer_2xx(monkeypatch, "POST", "/attestations", body, forward=True)
    verified = run("onetrust", circuit_breakers=False)
    monkeypatch.setattr(requests.Session, "send", REAL_SEND)
    assert (verified.updated, verified.dead_lettered) == (2, 0), verified.failures
    comments = {a["externalId"]: a["comment"] for a in onetrust.attestations() if a.get("source") == "Project X"}
    assert comments == {r["attestation_id"]: r["summary"] for r in rows}
    assert run("onetrust").writes == 0


def test_a_jira_put_answered_204_no_content_is_its_documented_success(jira, duckdb_warehouse, monkeypatch):
    rows = jira_rows(2)
    write_outbound(duckdb_warehouse, "jira", rows)
    run("jira")
    _changed(duckdb_warehouse, "jira", rows, "summary")
    calls = _answer_2xx(monkeypatch, "PUT", "", b"", forward=True, status=204)
    report = run("jira")
    monkeypatch.setattr(requests.Session, "send", REAL_SEND)
    assert len(calls) == 2 and (report.updated, report.dead_lettered) == (2, 0), report.failures
    summaries = {i["fields"]["summary"] for i in jira.issues()}
    assert {r["summary"] for r in rows} <= summaries


# --- a record deleted at the vendor between our read and our write ---------------------------------------------

def _delete_before_write(monkeypatch, writer_cls, internal_id: str, delete) -> None:
    real_apply = writer_cls.apply
    done: set[str] = set()

    def apply(self, step, iid, vendor_id, desired, writes_):
        if iid == internal_id and iid not in done and vendor_id is not None:
            done.add(iid)
            delete(str(vendor_id))
        return real_apply(self, step, iid, vendor_id, desired, writes_)

    monkeypatch.setattr(writer_cls, "apply", apply)


def test_servicenow_record_deleted_between_read_and_patch_is_dead_lettered_with_its_404(servicenow, duckdb_warehouse,
                                                                                       monkeypatch):
    rows = remediation_rows(3)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    run("servicenow")
    _changed(duckdb_warehouse, "servicenow", rows, "description")
    _delete_before_write(monkeypatch, ServiceNowTaskWriter, "rem-sn-00001",
                         lambda sys_id: servicenow.delete(remediation_table(), sys_id))
    report = run("servicenow", breaker_threshold=1, circuit_breakers=True)
    assert (report.updated, report.dead_lettered, report.breaker_state) == (2, 1, "closed"), report.failures
    assert "404" in _dead(duckdb_warehouse, "servicenow")["rem-sn-00001"]
    assert "rem-sn-00001" not in OURS["servicenow"](servicenow), "re-created by the nightly reconciliation"


@pytest.mark.parametrize("closing", [False, True])
def test_jira_issue_deleted_between_read_and_write_is_dead_lettered_then_settled_next_push(closing, jira,
                                                                                          duckdb_warehouse,
                                                                                          monkeypatch):
    rows = jira_rows(3)
    write_outbound(duckdb_warehouse, "jira", rows)
    run("jira")
    gone = _links(duckdb_warehouse, "jira")["rem-00001"]
    if closing:
        write_outbound(duckdb_warehouse, "jira", [rows[0], rows[2]])
    else:
        _changed(duckdb_warehouse, "jira", rows, "summary")
    real_apply = JiraIssueWriter.apply
    _delete_before_write(monkeypatch, JiraIssueWriter, "rem-00001", lambda issue: jira.delete([issue]))
    report = run("jira", breaker_threshold=1, circuit_breakers=True)
    assert (report.dead_lettered, report.breaker_state) == (1, "closed"), report.failures
    assert "404" in _dead(duckdb_warehouse, "jira")["rem-00001"]
    monkeypatch.setattr(JiraIssueWriter, "apply", real_apply)
    again = run("jira")
    assert again.dead_lettered == 0, again.failures
    ours = OURS["jira"](jira)
    if closing:  # nothing left to close: the link closes, nothing is written
        assert again.created == 0 and "rem-00001" not in ours
    else:  # re-created on the next push and linked to the new issue
        assert again.created + again.updated == 1 and len(ours["rem-00001"]) == 1 and ours["rem-00001"][0] != gone
        assert _links(duckdb_warehouse, "jira")["rem-00001"] == ours["rem-00001"][0]
    assert _dead(duckdb_warehouse, "jira") == {}


def test_onetrust_attestation_deleted_between_read_and_write_is_recreated_by_the_upsert(onetrust, duckdb_warehouse,
                                                                                       monkeypatch):
    rows = attestation_rows(3)
    write_outbound(duckdb_warehouse, "onetrust", rows)
    run("onetrust")
    gone = _links(duckdb_warehouse, "onetrust")["att-0001"]
    _changed(duckdb_warehouse, "onetrust", rows, "summary")
    _delete_before_write(monkeypatch, OneTrustAttestationWriter, "att-0001",
                         lambda att: onetrust.delete("attestations", [att]))
    report = run("onetrust", breaker_threshold=1, circuit_breakers=True)
    assert report.dead_lettered == 0 and report.breaker_state == "closed", report.failures
    ours = OURS["onetrust"](onetrust)
    assert {k: len(v) for k, v in ours.items()} == {r["attestation_id"]: 1 for r in rows}
    assert ours["att-0001"][0] != gone
    assert _links(duckdb_warehouse, "onetrust") == {k: v[0] for k, v in ours.items()}


# --- a Jira transition id gone between plan and write (the workflow was edited) ----------------------------------

def _closing_one(settings, sb) -> str:
    rows = jira_rows(2)
    write_outbound(settings, "jira", rows)
    run("jira")
    write_outbound(settings, "jira", rows[1:])
    return _links(settings, "jira")["rem-00000"]


def test_a_jira_transition_id_renumbered_between_plan_and_write_is_read_again_once(jira, duckdb_warehouse,
                                                                                   monkeypatch):
    issue = _closing_one(duckdb_warehouse, jira)
    from pipelines.jira.helpers import JiraClient

    real_get = JiraClient.get

    renumbered: dict[str, str] = {}

    def edited_after_read(self, path, **params):  # an admin re-creates the move into Done under a new id meanwhile
        answer = real_get(self, path, **params)
        if path.endswith("/transitions") and not renumbered:
            done = [t["id"] for t in answer["transitions"] if t["to"]["statusCategory"]["key"] == "done"]
            renumbered.update({tid: f"9{tid}" for tid in done})
            monkeypatch.setattr(catalog, "TRANSITIONS", {renumbered.get(k, k): v
                                                         for k, v in catalog.TRANSITIONS.items()})
        return answer

    monkeypatch.setattr(JiraClient, "get", edited_after_read)
    report = run("jira")
    assert (report.closed, report.dead_lettered) == (1, 0), report.failures
    posts = [w for w in writes(jira) if w["path"].endswith(f"/issue/{issue}/transitions")]
    assert len(posts) == 2, "the refused transition, then the one read again"
    done = {i["id"]: i["fields"]["status"]["statusCategory"]["key"] for i in jira.issues()}
    assert done[issue] == "done"


def test_a_jira_transition_still_offered_but_refused_is_dead_lettered_naming_the_workflow(jira, duckdb_warehouse,
                                                                                         monkeypatch):
    issue = _closing_one(duckdb_warehouse, jira)
    from pipelines.jira.helpers import JiraClient

    real_get = JiraClient.get
    stale = [{"id": "31", "name": "Done", "to": {"statusCategory": {"key": "done"}}, "isAvailable": True}]

    def stale_list(self, path, **params):  # Jira keeps offering 31 but refuses it (a workflow being published)
        answer = real_get(self, path, **params)
        return {**answer, "transitions": stale} if path.endswith("/transitions") else answer

    monkeypatch.setattr(catalog, "TRANSITIONS", {k: v for k, v in catalog.TRANSITIONS.items() if k != "31"})
    monkeypatch.setattr(JiraClient, "get", stale_list)  # 31: an id Jira no longer has
    report = run("jira", breaker_threshold=1, circuit_breakers=True)
    assert (report.closed, report.dead_lettered, report.breaker_state) == (0, 1, "closed"), report.failures
    error = _dead(duckdb_warehouse, "jira")["rem-00000"]
    assert "workflow" in error and "31" in error and "GRC" in error, error
    posts = [w for w in writes(jira) if w["path"].endswith(f"/issue/{issue}/transitions")]
    assert len(posts) == 1, "read again once, not sent again with the same id"


def test_onetrust_attestation_deleted_before_its_evidence_is_attached_is_dead_lettered_then_recreated(
        onetrust, duckdb_warehouse, monkeypatch, tmp_path):
    """A file to attach changed (its sha256 in the evidence list too, since round 30b): the attestation is deleted
    between its update and the attach, which answers 404 (the record's dead letter, no breaker count); the next
    push finds it gone, re-creates it by externalId and attaches the files."""
    evidence = tmp_path / "evidence"
    monkeypatch.setenv("PROJECTX_EVIDENCE_DIR", str(evidence))  # files are attached from the store only
    (evidence / "a.txt").write_text("first")
    rows = attestation_rows(2, evidence="a <a.txt>")
    write_outbound(duckdb_warehouse, "onetrust", rows)
    run("onetrust")
    (evidence / "a.txt").write_text("second version")  # same reference, new content: an attach only
    real_attach = OneTrustAttestationWriter.attach_files
    deleted: set[str] = set()

    def attach_files(self, attestation_id, attachments, internal_id, writes_):
        if internal_id == "att-0001" and not deleted:
            deleted.add(attestation_id)
            onetrust.delete("attestations", [attestation_id])
        return real_attach(self, attestation_id, attachments, internal_id, writes_)

    monkeypatch.setattr(OneTrustAttestationWriter, "attach_files", attach_files)
    report = run("onetrust", breaker_threshold=1, circuit_breakers=True)
    assert deleted, "the attach step ran for att-0001"
    assert (report.dead_lettered, report.breaker_state) == (1, "closed"), report.failures
    assert "404" in _dead(duckdb_warehouse, "onetrust")["att-0001"]
    monkeypatch.setattr(OneTrustAttestationWriter, "attach_files", real_attach)
    again = run("onetrust")
    assert again.dead_lettered == 0, again.failures
    ours = OURS["onetrust"](onetrust)
    assert {k: len(v) for k, v in ours.items()} == {"att-0000": 1, "att-0001": 1}
    assert _links(duckdb_warehouse, "onetrust") == {k: v[0] for k, v in ours.items()}
    attached = [a["sha256"] for a in onetrust.attachments.get(ours["att-0001"][0], [])]
    assert attached == [hashlib.sha256(b"second version").hexdigest()]
    assert _dead(duckdb_warehouse, "onetrust") == {}
