"""Round 29: the ServiceNow push meeting answers that are not the Table API's, over HTTP against the sandbox.

- The look-ups by our id (the prefetch, the look-up after a create whose answer was lost, the re-read before a
  close) answered 200 with a sign-in page (the SSO session expired) raised a JSON error that stopped the whole
  push; answered ``{}`` (a proxy) they read as "no record there", so a create whose answer was lost was sent
  again: five records for one task.
- A look-up failing with the breaker closed (an instance in maintenance answering 503 to reads) paused the creates
  and then stopped the push with a TypeError while logging why.
- Read-only maintenance mid-push: the rest wait in dead letters with the instance's reason, none made twice.
- A data policy refusing some creates (403 with its message) dead-letters those with the reason only.
"""

from __future__ import annotations

import requests

from assets.reverse_sync.servicenow import STATE_OPEN, remediation_table
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import query, run, write_outbound, writes
from tests.test_reverse_sync_servicenow import remediation_rows

servicenow = attacks.servicenow  # the sandbox fixture
REAL_SEND = requests.adapters.HTTPAdapter.send  # faked below the session: its hooks still see each answer
SIGN_IN = b"<!DOCTYPE html><html><head><title>Log in | ServiceNow</title></head><body>SSO</body></html>"


def _answer(prepared, status: int, body: bytes, kind: str) -> requests.Response:
    response = requests.Response()
    response.status_code, response.url, response.request = status, prepared.url, prepared
    response.headers = requests.structures.CaseInsensitiveDict({"Content-Type": kind})
    response._content = body
    return response


def _reads_answered(monkeypatch, body: bytes, kind: str, *, after: int = 0, only=lambda url: True) -> None:
    """GETs of the remediation table after the first ``after`` (and matching ``only``) are answered 200 with
    ``body`` by something in front of the instance; nothing reaches it."""
    seen: list[str] = []

    def send(self, prepared, *args, **kw):
        if prepared.method == "GET" and f"/table/{remediation_table()}" in prepared.url and only(prepared.url):
            seen.append(prepared.url)
            if len(seen) > after:
                return _answer(prepared, 200, body, kind)
        return REAL_SEND(self, prepared, *args, **kw)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)


def _restore(monkeypatch) -> None:
    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", REAL_SEND)


def _count(sb) -> dict[str, int]:
    return attacks._sn_by_task(sb)


def test_a_sign_in_page_answering_the_look_up_pauses_the_creates_and_the_updates_still_land(
        servicenow, duckdb_warehouse, monkeypatch):
    rows = remediation_rows(5)
    write_outbound(duckdb_warehouse, "servicenow", rows[:2])
    run("servicenow")
    rows[0]["description"] += " (changed)"
    write_outbound(duckdb_warehouse, "servicenow", rows)
    _reads_answered(monkeypatch, SIGN_IN, "text/html; charset=utf-8")
    report = run("servicenow", run_id="sso-expired")  # no JSONDecodeError out of the push
    assert (report.updated, report.created, report.paused_circuit_open) == (1, 0, 3), report.failures
    dead = attacks._dead(duckdb_warehouse, "servicenow")
    assert sorted(dead) == [r["remediation_task_id"] for r in rows[2:]]
    assert all("could not look for records" in e and "base URL" in e for e in dead.values()), dead
    _restore(monkeypatch)
    again = run("servicenow", run_id="signed-in")
    assert (again.created, again.dead_lettered) == (3, 0), again.failures
    assert _count(servicenow) == {r["remediation_task_id"]: 1 for r in rows}


def test_a_lost_create_whose_look_up_answers_json_without_records_is_never_sent_again(servicenow, duckdb_warehouse,
                                                                                       monkeypatch):
    rows = remediation_rows(3)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    # ServiceNow carries each create out and loses its answer (503); the look-ups after it meet a proxy's {}
    servicenow.faults.set(rate_lost_reply=1.0, methods=["POST"], paths=[remediation_table()])
    _reads_answered(monkeypatch, b'{"status": "ok"}', "application/json", only=lambda url: "correlation_id%3D" in url)
    report = run("servicenow", concurrency=1)
    assert (report.created, report.dead_lettered) == (0, 3), report.failures
    assert _count(servicenow) == {r["remediation_task_id"]: 1 for r in rows}, "one record per task, none resent"
    servicenow.faults.clear()
    _restore(monkeypatch)
    again = run("servicenow", run_id="next")
    assert (again.adopted, again.created, again.dead_lettered) == (3, 0, 0), again.failures
    assert _count(servicenow) == {r["remediation_task_id"]: 1 for r in rows}


def test_a_close_whose_re_read_is_no_record_is_that_records_dead_letter(servicenow, duckdb_warehouse, monkeypatch):
    rows = remediation_rows(3)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    run("servicenow")
    write_outbound(duckdb_warehouse, "servicenow", rows[1:])
    _reads_answered(monkeypatch, b"{}", "application/json")
    report = run("servicenow", run_id="close")  # no KeyError out of the push
    assert (report.closed, report.dead_lettered) == (0, 1), report.failures
    assert "not the Table API's record" in attacks._dead(duckdb_warehouse, "servicenow")["rem-sn-00000"]
    _restore(monkeypatch)
    assert run("servicenow", run_id="again").closed == 1


def test_a_look_up_failing_with_the_breaker_closed_finishes_the_push(servicenow, duckdb_warehouse):
    rows = remediation_rows(4)
    write_outbound(duckdb_warehouse, "servicenow", rows[:2])
    run("servicenow")
    rows[1]["description"] += " (changed)"
    write_outbound(duckdb_warehouse, "servicenow", rows)
    servicenow.faults.set(rate_5xx=1.0, status_5xx=503, methods=["GET"], paths=[remediation_table()])
    report = run("servicenow", run_id="reads-down", circuit_breakers=True, breaker_threshold=5)
    assert (report.updated, report.paused_circuit_open, report.breaker_state) == (1, 2, "closed"), report.failures
    servicenow.faults.clear()
    again = run("servicenow", run_id="reads-up")
    assert (again.created, again.dead_lettered) == (2, 0) and _count(servicenow) == {
        r["remediation_task_id"]: 1 for r in rows}


def test_read_only_maintenance_mid_push_dead_letters_the_rest_with_the_instances_reason(servicenow,
                                                                                       duckdb_warehouse, monkeypatch):
    rows = remediation_rows(24)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    sent: list[str] = []
    reason = "Instance is in read-only mode: upgrade in progress until 02:00 UTC"

    def send(self, prepared, *args, **kw):  # after 6 creates the instance refuses writes (reads still served)
        if prepared.method == "POST" and f"/table/{remediation_table()}" in prepared.url:
            sent.append(prepared.url)
            if len(sent) > 6:
                body = b'{"error": {"message": "Service Unavailable", "detail": "%s"}, "status": "failure"}'
                return _answer(prepared, 503, body % reason.encode(), "application/json")
        return REAL_SEND(self, prepared, *args, **kw)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    report = run("servicenow", run_id="maintenance")
    assert report.created == 6 and report.created + report.dead_lettered == 24, report.failures
    dead = attacks._dead(duckdb_warehouse, "servicenow")
    assert len(dead) == 18 and all(reason in e for e in dead.values()), list(dead.values())[:1]
    _restore(monkeypatch)
    servicenow.clear_request_log()
    again = run("servicenow", run_id="after-maintenance")
    assert (again.created, again.dead_lettered) == (18, 0), again.failures
    assert _count(servicenow) == {r["remediation_task_id"]: 1 for r in rows}
    assert len([w for w in writes(servicenow) if w["method"] == "POST"]) == 18


def test_a_data_policy_refusing_some_creates_dead_letters_those_with_its_reason_only(servicenow, duckdb_warehouse):
    rows = remediation_rows(6)
    for r in rows[:2]:
        r["priority"] = 1  # the admin's policy: a critical task needs an assignment group (which we never send)
    message = "Data Policy Exception: The following fields are mandatory: Assignment group"
    servicenow.insert("sys_script", {"name": "Critical needs a group", "collection": remediation_table(),
                                     "when": "before", "order": "100", "abort_action": "true", "action_insert": "true",
                                     "add_message": "true", "message": message,
                                     "filter_condition": "priority=1^assignment_groupISEMPTY"})
    write_outbound(duckdb_warehouse, "servicenow", rows)
    report = run("servicenow", circuit_breakers=True, breaker_threshold=2)
    assert (report.created, report.dead_lettered, report.breaker_state) == (4, 2, "closed"), report.failures
    dead = attacks._dead(duckdb_warehouse, "servicenow")
    assert sorted(dead) == ["rem-sn-00000", "rem-sn-00001"] and all("mandatory" in e for e in dead.values()), dead
    assert query(duckdb_warehouse, "select count(*) from reverse_sync.pending_creates") == [(0,)]
    rule = next(r for r in servicenow.records("sys_script") if r["name"] == "Critical needs a group")
    servicenow.update("sys_script", rule["sys_id"], {"active": "false"})  # lifted
    again = run("servicenow", run_id="lifted")
    assert (again.created, again.dead_lettered) == (2, 0), again.failures
    assert _count(servicenow) == {r["remediation_task_id"]: 1 for r in rows}
    assert {r["state"] for r in servicenow.records(remediation_table()) if r.get("correlation_display")} == {
        STATE_OPEN}
