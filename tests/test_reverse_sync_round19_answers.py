"""Round 19: answers that are not what the write asked for: a create answered 201 with an empty body (every
vendor), an update answered 200 with a sign-in page by a proxy that never passed it on, and a Jira update
refused 409 because a person edited the issue meanwhile (who wins, and is the person's edit recorded)."""

from __future__ import annotations

import pytest
import requests

from assets.reverse_sync.servicenow import remediation_table
from tests import test_reverse_sync_round19_hostile as hostile
from tests.reverse_sync_helpers import attestation_rows, jira_rows, query, run, write_outbound, writes
from tests.test_reverse_sync_round19_hostile import OURS, _dead, _links
from tests.test_reverse_sync_servicenow import remediation_rows

servicenow, jira, onetrust = hostile.servicenow, hostile.jira, hostile.onetrust  # the sandbox fixtures

REAL_JSON = requests.Response.json
CREATE_PATHS = {"servicenow": f"/table/{remediation_table()}", "jira": "/rest/api/3/issue",
                "onetrust": "/attestations"}


@pytest.mark.parametrize("vendor", ["servicenow", "jira", "onetrust"])
def test_a_create_answered_201_with_an_empty_body_is_adopted_never_duplicated(vendor, request, duckdb_warehouse,
                                                                              monkeypatch):
    sb = request.getfixturevalue(vendor)
    rows = {"servicenow": lambda: remediation_rows(3), "jira": lambda: jira_rows(3),
            "onetrust": lambda: attestation_rows(3)}[vendor]()
    key = "attestation_id" if vendor == "onetrust" else "remediation_task_id"
    write_outbound(duckdb_warehouse, vendor, rows)
    end = CREATE_PATHS[vendor]

    def empty(self, **kw):  # the 201 arrived without its body (a gateway dropped it)
        if self.request.method == "POST" and self.request.url.split("?")[0].endswith(end):
            raise requests.exceptions.JSONDecodeError("Expecting value", "", 0)
        return REAL_JSON(self, **kw)

    monkeypatch.setattr(requests.Response, "json", empty)
    first = run(vendor)
    monkeypatch.setattr(requests.Response, "json", REAL_JSON)
    if vendor == "jira":
        sb.sync_index()
    second = run(vendor)
    assert first.created + first.adopted + first.dead_lettered == 3
    assert second.created == 0 and second.dead_lettered == 0, second.failures
    ours = OURS[vendor](sb)
    assert {k: len(v) for k, v in ours.items()} == {r[key]: 1 for r in rows}, "one record per task"
    assert _links(duckdb_warehouse, vendor) == {k: v[0] for k, v in ours.items()}


def test_an_update_answered_200_with_a_sign_in_page_is_not_taken_for_done(servicenow, duckdb_warehouse, monkeypatch):
    """A proxy in front of the API answers the PATCH itself with its sign-in page (200, text/html) and never
    passes it on: the record is not updated, so the run must not link it as synced (a rerun would then
    write nothing and the change would be lost); it is dead-lettered naming the base URL, and the next run
    with the proxy gone writes it."""
    rows = remediation_rows(3)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    run("servicenow")
    for r in rows:
        r["description"] += " (changed)"
    write_outbound(duckdb_warehouse, "servicenow", rows)
    real_send = requests.Session.send

    def sign_in_page(self, prepared, **kw):
        if prepared.method != "PATCH":
            return real_send(self, prepared, **kw)
        page = requests.Response()
        page.status_code, page.url, page.request = 200, prepared.url, prepared
        page.headers["Content-Type"] = "text/html; charset=utf-8"
        page._content = b"<html><body>Please sign in</body></html>"
        return page

    monkeypatch.setattr(requests.Session, "send", sign_in_page)
    report = run("servicenow", circuit_breakers=False)
    monkeypatch.setattr(requests.Session, "send", real_send)
    records = {r["correlation_id"]: r for r in servicenow.records(remediation_table())}
    assert not any(r["description"].endswith("(changed)") for r in records.values()), "the proxy passed nothing on"
    assert report.updated == 0 and report.dead_lettered == 3, report.failures
    for error in _dead(duckdb_warehouse, "servicenow").values():
        assert "text/html" in error and "base URL" in error, error
    healed = run("servicenow")
    assert (healed.updated, healed.dead_lettered) == (3, 0), healed.failures
    records = {r["correlation_id"]: r for r in servicenow.records(remediation_table())}
    assert all(records[r["remediation_task_id"]]["description"].endswith("(changed)") for r in rows)


def test_a_jira_update_refused_409_after_a_human_edit_waits_then_the_policy_decides_and_records_it(
        jira, duckdb_warehouse):
    rows = jira_rows(2)
    write_outbound(duckdb_warehouse, "jira", rows)
    run("jira")
    key = {i["fields"]["summary"]: i["key"] for i in jira.issues()}[rows[0]["summary"]]
    jira.edit_as(key, {"summary": "a person's summary", "duedate": "2027-01-15"})
    rows[0]["summary"] += " (v2)"
    write_outbound(duckdb_warehouse, "jira", rows)
    jira.faults.set(rate_5xx=1.0, status_5xx=409, methods=["PUT"])
    refused = run("jira", breaker_threshold=1, circuit_breakers=True)
    assert (refused.dead_lettered, refused.breaker_state) == (1, "closed"), "a 409 is that record's, not the vendor's"
    assert "409" in _dead(duckdb_warehouse, "jira")["rem-00000"]
    jira.faults.clear()
    jira.clear_request_log()
    healed = run("jira")
    assert (healed.updated, healed.dead_lettered) == (1, 0), healed.failures
    issue = {i["key"]: i for i in jira.issues()}[key]
    assert issue["fields"]["summary"] == rows[0]["summary"], "Project X owns the summary"
    recorded = query(duckdb_warehouse, "select field, vendor_value, winner from reverse_sync.conflicts "
                                       "where internal_id = 'rem-00000' order by field")
    assert [(f, w) for f, _, w in recorded] == [("summary", "projectx")], recorded
    assert "a person's summary" in recorded[0][1], "the person's edit is recorded, not lost silently"
    assert issue["fields"]["duedate"] == "2027-01-15", "only changed fields are written: the person's due date stays"
    assert len([w for w in writes(jira) if w["method"] == "PUT"]) == 1


def test_a_servicenow_create_answered_with_an_unlinked_foreign_record_is_not_linked(servicenow, duckdb_warehouse,
                                                                                    monkeypatch):
    """A caching gateway replays another create's answer: the record it names carries another correlation id
    (here a record nobody links), so it is not ours; the record is looked up by our id and adopted."""
    stranger = servicenow.insert(remediation_table(), {"short_description": "made by hand", "correlation_id": "x-1"})
    rows = remediation_rows(2)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    end = CREATE_PATHS["servicenow"]

    def replayed(self, **kw):
        body = REAL_JSON(self, **kw)
        if self.request.method == "POST" and self.request.url.split("?")[0].endswith(end):
            return {"result": stranger}
        return body

    monkeypatch.setattr(requests.Response, "json", replayed)
    report = run("servicenow")
    assert (report.created, report.dead_lettered) == (2, 0), report.failures
    links = _links(duckdb_warehouse, "servicenow")
    assert stranger["sys_id"] not in links.values()
    assert links == {k: v[0] for k, v in OURS["servicenow"](servicenow).items()}


def test_a_onetrust_attestation_answered_with_another_periods_record_is_not_linked(onetrust, duckdb_warehouse,
                                                                                   monkeypatch):
    rows = attestation_rows(4)
    write_outbound(duckdb_warehouse, "onetrust", rows[:1])
    run("onetrust")
    earlier = next(a for a in onetrust.attestations() if a.get("externalId") == "att-0000")
    write_outbound(duckdb_warehouse, "onetrust", rows)
    end = CREATE_PATHS["onetrust"]

    def replayed(self, **kw):  # a gateway answers every later POST with a record that is not the one written
        body = REAL_JSON(self, **kw)
        if self.request.method == "POST" and self.request.url.split("?")[0].endswith(end):
            return {**earlier, "id": "0b0b0b0b-nobody-links-it", "externalId": "someone-else"}
        return body

    monkeypatch.setattr(requests.Response, "json", replayed)
    report = run("onetrust")
    assert report.dead_lettered == 0, report.failures
    links = _links(duckdb_warehouse, "onetrust")
    assert "0b0b0b0b-nobody-links-it" not in links.values()
    assert links == {k: v[0] for k, v in OURS["onetrust"](onetrust).items()}
