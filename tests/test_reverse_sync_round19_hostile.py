"""Round 19: reverse sync against a hostile vendor, over HTTP against the sandboxes: a create answered
with an id that already belongs to another task, creates carried out but answered 5xx for all three
vendors, records deleted or edited at the vendor between runs, a Jira workflow that lost its
transition, a OneTrust attestation endpoint answering 429 forever, and dead letters replayed once after
the vendor recovers. (Secrets and hostile text echoed in vendor answers: test_reverse_sync_round19_echo.py.)"""

from __future__ import annotations

import time

import pytest
import requests

from assets.reverse_sync.servicenow import remediation_table
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import attestation_rows, jira_rows, query, run, write_outbound, writes
from tests.test_reverse_sync_servicenow import remediation_rows

servicenow, jira, onetrust = attacks.servicenow, attacks.jira, attacks.onetrust  # the sandbox fixtures
_dead = attacks._dead


def _links(settings, vendor: str) -> dict[str, str]:
    return dict(query(settings, f"select internal_id, vendor_id from reverse_sync.external_links "
                                f"where vendor = '{vendor}'"))


def _sn_ours(sb) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in sb.records(remediation_table()):
        if r.get("correlation_display") == "Project X":
            out.setdefault(r["correlation_id"], []).append(r["sys_id"])
    return out


def _jira_ours(sb) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for issue in sb.issues():
        for label in issue["fields"]["labels"]:
            if label.startswith("projectx:"):
                out.setdefault(label[len("projectx:"):], []).append(str(issue["id"]))
    return out


def _ot_ours(sb) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for a in sb.attestations():
        if a.get("source") == "Project X":
            out.setdefault(a["externalId"], []).append(str(a["id"]))
    return out


REAL_JSON = requests.Response.json
OURS = {"servicenow": _sn_ours, "jira": _jira_ours, "onetrust": _ot_ours}


def _answer_with(monkeypatch, method: str, path_end: str, rewrite) -> None:
    """The vendor's JSON answers to ``method ...path_end`` rewritten by ``rewrite(body)`` (a gateway, a bug)."""
    def hostile(self, **kw):
        body = REAL_JSON(self, **kw)
        if self.request.method == method and self.request.url.split("?")[0].endswith(path_end):
            return rewrite(body)
        return body

    monkeypatch.setattr(requests.Response, "json", hostile)


# --- a create answered with the id of a record another task is linked to ------------------------------------

def test_a_servicenow_create_answered_with_another_tasks_sys_id_links_no_record_twice(servicenow, duckdb_warehouse,
                                                                                      monkeypatch):
    rows = remediation_rows(4)
    write_outbound(duckdb_warehouse, "servicenow", rows[:2])
    assert run("servicenow").created == 2
    taken = _links(duckdb_warehouse, "servicenow")["rem-sn-00000"]
    write_outbound(duckdb_warehouse, "servicenow", rows)

    def foreign(body):  # a 201 whose body names a record that is not the one just created
        body["result"]["sys_id"] = taken
        return body

    _answer_with(monkeypatch, "POST", f"/table/{remediation_table()}", foreign)
    run("servicenow")
    links = _links(duckdb_warehouse, "servicenow")
    assert sorted(links.values()).count(taken) == 1, f"two tasks linked to one record: {links}"
    assert links["rem-sn-00000"] == taken
    monkeypatch.setattr(requests.Response, "json", REAL_JSON)  # the vendor answers truly again
    healed = run("servicenow")
    assert healed.created == 0 and healed.dead_lettered == 0, healed.failures
    ours = _sn_ours(servicenow)
    assert {k: len(v) for k, v in ours.items()} == {r["remediation_task_id"]: 1 for r in rows}, "never duplicated"
    assert _links(duckdb_warehouse, "servicenow") == {k: v[0] for k, v in ours.items()}


def test_a_jira_create_answered_with_another_tasks_issue_id_links_no_issue_twice(jira, duckdb_warehouse, monkeypatch):
    rows = jira_rows(3)
    write_outbound(duckdb_warehouse, "jira", rows[:1])
    assert run("jira").created == 1
    taken = _links(duckdb_warehouse, "jira")["rem-00000"]
    write_outbound(duckdb_warehouse, "jira", rows)
    _answer_with(monkeypatch, "POST", "/rest/api/3/issue", lambda body: {**body, "id": taken})
    run("jira")
    links = _links(duckdb_warehouse, "jira")
    assert sorted(links.values()).count(taken) == 1, f"two tasks linked to one issue: {links}"
    monkeypatch.setattr(requests.Response, "json", REAL_JSON)
    jira.sync_index()
    healed = run("jira")
    assert healed.created == 0 and healed.dead_lettered == 0, healed.failures
    ours = _jira_ours(jira)
    assert {k: len(v) for k, v in ours.items()} == {r["remediation_task_id"]: 1 for r in rows}
    assert _links(duckdb_warehouse, "jira") == {k: v[0] for k, v in ours.items()}


# --- a create carried out, its answer lost: the next run adopts, for every vendor ----------------------------

@pytest.mark.parametrize("vendor", ["servicenow", "jira", "onetrust"])
def test_a_create_whose_answer_is_lost_is_adopted_never_duplicated(vendor, request, duckdb_warehouse):
    sb = request.getfixturevalue(vendor)
    rows = {"servicenow": lambda: remediation_rows(4), "jira": lambda: jira_rows(4),
            "onetrust": lambda: attestation_rows(4)}[vendor]()
    key = {"servicenow": "remediation_task_id", "jira": "remediation_task_id", "onetrust": "attestation_id"}[vendor]
    path = {"servicenow": remediation_table() + "$", "jira": r"/issue$", "onetrust": r"/attestations$"}[vendor]
    write_outbound(duckdb_warehouse, vendor, rows)
    sb.faults.set(rate_lost_reply=1.0, methods=["POST"], paths=[path])
    first = run(vendor)
    assert first.created + first.adopted + first.dead_lettered == 4
    sb.faults.clear()
    if vendor == "jira":
        sb.sync_index()
    second = run(vendor)
    assert second.dead_lettered == 0 and second.created == 0, second.failures
    ours = OURS[vendor](sb)
    assert {k: len(v) for k, v in ours.items()} == {r[key]: 1 for r in rows}, "one record per task, none twice"
    assert _links(duckdb_warehouse, vendor) == {k: v[0] for k, v in ours.items()}
    assert _dead(duckdb_warehouse, vendor) == {}


# --- records deleted or edited at the vendor between runs ----------------------------------------------------

def test_a_servicenow_record_deleted_between_runs_is_dead_lettered_on_update_not_recreated(servicenow,
                                                                                           duckdb_warehouse):
    """ServiceNow is not re-read before an update: a PATCH to a deleted record answers 404, which is that
    record's dead letter (naming the 404), never a breaker count and never a second record made by the push
    (the nightly link reconciliation recreates it: assets/reverse_sync/reconcile.py)."""
    rows = remediation_rows(4)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    run("servicenow")
    gone = _links(duckdb_warehouse, "servicenow")["rem-sn-00001"]
    servicenow.delete(remediation_table(), gone)
    for r in rows:
        r["description"] += " (changed)"
    write_outbound(duckdb_warehouse, "servicenow", rows)
    report = run("servicenow", breaker_threshold=1, circuit_breakers=True)
    assert (report.updated, report.dead_lettered, report.breaker_state) == (3, 1, "closed"), report.failures
    assert "404" in _dead(duckdb_warehouse, "servicenow")["rem-sn-00001"]
    assert "rem-sn-00001" not in _sn_ours(servicenow), "the push does not recreate it"


def test_a_jira_issue_deleted_between_runs_is_recreated_and_relinked(jira, duckdb_warehouse):
    rows = jira_rows(3)
    write_outbound(duckdb_warehouse, "jira", rows)
    run("jira")
    gone = _links(duckdb_warehouse, "jira")["rem-00001"]
    jira.delete([gone])
    rows[1]["description"] += " (changed)"
    write_outbound(duckdb_warehouse, "jira", rows)
    report = run("jira")
    assert (report.dead_lettered, report.updated + report.created) == (0, 1), report.failures
    ours = _jira_ours(jira)
    assert len(ours["rem-00001"]) == 1 and ours["rem-00001"][0] != gone
    assert _links(duckdb_warehouse, "jira")["rem-00001"] == ours["rem-00001"][0]


def test_a_servicenow_human_edit_of_a_field_we_do_not_change_survives_our_update(servicenow, duckdb_warehouse):
    """ServiceNow is not re-read (no changelog): an update sends only the fields Project X changed, so a
    person's edit of another field, or of the state, is kept; a field both changed is ours (Project X owns
    it), overwritten without a conflict row."""
    rows = remediation_rows(2)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    run("servicenow")
    sys_id = _links(duckdb_warehouse, "servicenow")["rem-sn-00000"]
    servicenow.update(remediation_table(), sys_id, {"short_description": "edited by a person", "state": "2"})
    rows[0]["description"] += " (changed)"
    write_outbound(duckdb_warehouse, "servicenow", rows)
    assert run("servicenow").updated == 1
    rec = servicenow.get(remediation_table(), sys_id)
    assert rec["short_description"] == "edited by a person" and rec["state"] == "2"
    assert rec["description"].endswith("(changed)")


# --- a Jira workflow that lost the transition Project X needs --------------------------------------------------

def test_a_jira_transition_gone_from_the_workflow_dead_letters_that_close_and_the_rest_close(jira, duckdb_warehouse,
                                                                                             monkeypatch):
    rows = jira_rows(3)
    write_outbound(duckdb_warehouse, "jira", rows)
    run("jira")
    stuck = _links(duckdb_warehouse, "jira")["rem-00000"]
    from pipelines.jira.helpers import JiraClient

    real_get = JiraClient.get

    def workflow_changed(self, path, **params):  # an admin removed the transition into Done meanwhile
        answer = real_get(self, path, **params)
        return {**answer, "transitions": []} if path.endswith(f"/issue/{stuck}/transitions") else answer

    monkeypatch.setattr(JiraClient, "get", workflow_changed)
    write_outbound(duckdb_warehouse, "jira", [], like=rows)
    report = run("jira", breaker_threshold=1, circuit_breakers=True)
    assert (report.closed, report.dead_lettered, report.breaker_state) == (2, 1, "closed"), report.failures
    error = _dead(duckdb_warehouse, "jira")["rem-00000"]
    assert "no transition" in error and "workflow" in error, error
    assert [w for w in writes(jira) if w["path"].endswith(f"/issue/{stuck}/transitions")] == []


# --- a OneTrust attestation endpoint rate-limiting forever -------------------------------------------------------

def test_onetrust_answering_429_forever_dead_letters_with_the_reason_and_the_run_finishes(onetrust, duckdb_warehouse,
                                                                                          monkeypatch):
    from pipelines.common import http

    # The client's adaptive gap (up to 5 s a request after 429s) would make this ~100 s a record: kept at 0
    # here; the bound under test is the number of waits, then the dead letter and the breaker.
    monkeypatch.setattr(http.AdaptiveThrottle, "on_throttled", lambda self: None)
    write_outbound(duckdb_warehouse, "onetrust", attestation_rows(3))
    onetrust.faults.set(rate_429=1.0, retry_after=0, methods=["POST"], paths=[r"/attestations$"])
    started = time.monotonic()
    report = run("onetrust", breaker_threshold=2, circuit_breakers=True)
    assert time.monotonic() - started < 60, "bounded"
    assert report.created == 0 and report.dead_lettered + report.paused_circuit_open == 3
    assert report.breaker_state == "open", "a vendor that only throttles is a vendor-level failure"
    for error in _dead(duckdb_warehouse, "onetrust").values():
        assert "429" in error or "paused" in error, error
    posts = [w for w in writes(onetrust) if w["path"].endswith("/attestations")]
    assert len(posts) <= 2 * 21, "bounded retries per record, no record after the breaker opened"


# --- dead letters replayed once the vendor recovers --------------------------------------------------------------

def test_after_the_vendor_recovers_every_dead_letter_is_replayed_once_and_none_twice(servicenow, duckdb_warehouse):
    rows = remediation_rows(6)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    run("servicenow")
    for r in rows:
        r["description"] += " (changed)"
    write_outbound(duckdb_warehouse, "servicenow", rows)
    servicenow.faults.set(rate_5xx=1.0, methods=["PATCH"])
    failed = run("servicenow", circuit_breakers=False)
    assert failed.dead_lettered == 6
    servicenow.faults.clear()
    servicenow.clear_request_log()
    healed = run("servicenow", circuit_breakers=False)
    assert (healed.updated, healed.dead_lettered) == (6, 0), healed.failures
    patched = sorted(w["path"].rsplit("/", 1)[-1] for w in writes(servicenow))
    assert patched == sorted(_links(duckdb_warehouse, "servicenow").values()), "each dead letter replayed once"
    assert _dead(duckdb_warehouse, "servicenow") == {}
    servicenow.clear_request_log()
    assert run("servicenow").writes == 0 and writes(servicenow) == []
