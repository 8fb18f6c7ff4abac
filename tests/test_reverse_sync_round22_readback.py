"""Round 22: the read-back after an update answered 2xx without the record tolerates what the vendor legitimately
rewrites on the way in, and still catches a write that did not land. Over HTTP against the sandboxes, with the
instance's business rule played by a gateway in front of it (the sandbox has no hook for one): it rewrites the
request as such a rule would rewrite the record (priority computed, text trimmed, the closed state normalised,
OneTrust's comment trimmed), passes it on and answers an empty body. Then, per field kind, without HTTP."""

from __future__ import annotations

import json

import pytest
import requests

from assets.reverse_sync import readback
from assets.reverse_sync.servicenow import VENDOR_CLOSED_STATES, remediation_table
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import attestation_rows, run, write_outbound
from tests.test_reverse_sync_servicenow import remediation_rows

servicenow, onetrust = attacks.servicenow, attacks.onetrust  # the sandbox fixtures
_dead = attacks._dead
REAL_SEND = requests.Session.send


def _gateway(monkeypatch, method: str, path_part: str, rule, *, forward: bool = True, empty: bool = True,
             empty_if=None) -> list:
    """``method`` requests whose path holds ``path_part``: the JSON body rewritten by ``rule`` (a business rule
    at the instance), passed on (``forward``) or not, and answered 200 with an empty body (``empty``) or the
    vendor's own answer (``empty_if(url)``, when given, decides per request). Returns the bodies as sent."""
    sent: list[dict] = []

    def send(self, prepared, **kw):
        if prepared.method != method or path_part not in prepared.url.split("?")[0]:
            return REAL_SEND(self, prepared, **kw)
        body = json.loads(prepared.body)
        sent.append(dict(body))
        prepared.prepare_body(data=None, files=None, json=rule(body))
        response = REAL_SEND(self, prepared, **kw) if forward else requests.Response()
        if not (empty_if(prepared.url) if empty_if is not None else empty):
            return response
        response.status_code, response.url, response.request = 200, prepared.url, prepared
        response.headers = requests.structures.CaseInsensitiveDict({})
        response._content = b""
        return response

    monkeypatch.setattr(requests.Session, "send", send)
    return sent


def _priority_rule(body: dict) -> dict:
    """The instance computes priority itself (impact x urgency lookup) and trims text."""
    out = {k: v.strip() if isinstance(v, str) else v for k, v in body.items()}
    if "priority" in out:
        out["priority"] = "4"
    return out


def _records(sb) -> dict[str, dict]:
    return {r["correlation_id"]: r for r in sb.records(remediation_table()) if r.get("correlation_display")}


def test_servicenow_update_rewritten_by_a_business_rule_and_answered_empty_is_done(
    servicenow, duckdb_warehouse, monkeypatch
):
    rows = remediation_rows(2)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    assert run("servicenow").created == 2
    for r in rows:
        r["description"] += " (changed)  \r\n"  # the instance trims it
        r["priority"] = 2  # the instance computes 4
    write_outbound(duckdb_warehouse, "servicenow", rows)
    sent = _gateway(monkeypatch, "PATCH", remediation_table(), _priority_rule)
    report = run("servicenow", circuit_breakers=False)
    monkeypatch.setattr(requests.Session, "send", REAL_SEND)
    assert (report.updated, report.dead_lettered) == (2, 0), report.failures
    assert len(sent) == 2 and all(b["priority"] == "2" for b in sent)
    records = _records(servicenow)
    for r in rows:
        rec = records[r["remediation_task_id"]]
        assert (rec["description"], rec["priority"]) == (r["description"].strip(), "4")
    assert _dead(duckdb_warehouse, "servicenow") == {}
    assert run("servicenow").writes == 0


def test_servicenow_update_swallowed_is_still_caught_by_the_field_we_own(servicenow, duckdb_warehouse, monkeypatch):
    rows = remediation_rows(2)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    run("servicenow")
    for r in rows:
        r["description"] += " (changed)"
        r["priority"] = 2
    write_outbound(duckdb_warehouse, "servicenow", rows)
    _gateway(monkeypatch, "PATCH", remediation_table(), _priority_rule, forward=False)  # never passed on
    report = run("servicenow", circuit_breakers=False)
    monkeypatch.setattr(requests.Session, "send", REAL_SEND)
    assert (report.updated, report.dead_lettered) == (0, 2), report.failures
    for error in _dead(duckdb_warehouse, "servicenow").values():
        assert "description not written" in error and "priority" not in error, error
    assert run("servicenow").updated == 2  # answered with the record: written and done
    assert _dead(duckdb_warehouse, "servicenow") == {}


def test_servicenow_priority_only_update_swallowed_is_caught_and_passed_on_is_done(
    servicenow, duckdb_warehouse, monkeypatch
):
    rows = remediation_rows(2)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    run("servicenow")
    for r in rows:
        r["priority"] = 2
    write_outbound(duckdb_warehouse, "servicenow", rows)
    _gateway(monkeypatch, "PATCH", remediation_table(), lambda b: b, forward=False)
    swallowed = run("servicenow", circuit_breakers=False)
    assert (swallowed.updated, swallowed.dead_lettered) == (0, 2), swallowed.failures
    assert all("priority not written" in e for e in _dead(duckdb_warehouse, "servicenow").values())
    assert {rec["priority"] for rec in _records(servicenow).values()} == {"3"}
    _gateway(monkeypatch, "PATCH", remediation_table(), lambda b: b)  # passed on, still answered empty
    landed = run("servicenow", circuit_breakers=False)
    monkeypatch.setattr(requests.Session, "send", REAL_SEND)
    assert (landed.updated, landed.dead_lettered) == (2, 0), landed.failures
    assert {rec["priority"] for rec in _records(servicenow).values()} == {"2"}


def test_servicenow_priority_the_instance_computes_is_sent_again_and_done_on_the_record(
    servicenow, duckdb_warehouse, monkeypatch
):
    """The rule computes priority on every write. A priority-only update answered empty and read back with the
    instance's own priority proves nothing yet: it is sent once more (a PATCH is idempotent) and done when that
    answer is the record, whatever priority it shows."""
    rows = remediation_rows(2)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    _gateway(monkeypatch, "POST", remediation_table(), _priority_rule, empty=False)  # answered with the record
    assert run("servicenow").created == 2
    assert {rec["priority"] for rec in _records(servicenow).values()} == {"4"}
    for r in rows:
        r["priority"] = 1
    write_outbound(duckdb_warehouse, "servicenow", rows)
    seen: set[str] = set()  # per record: the first PATCH answered empty, the second with the record

    def first_time(url: str) -> bool:
        fresh = url not in seen
        seen.add(url)
        return fresh

    sent = _gateway(monkeypatch, "PATCH", remediation_table(), _priority_rule, empty_if=first_time)
    report = run("servicenow", circuit_breakers=False)
    monkeypatch.setattr(requests.Session, "send", REAL_SEND)
    assert (report.updated, report.dead_lettered) == (2, 0), report.failures
    assert len(sent) == 4 and {rec["priority"] for rec in _records(servicenow).values()} == {"4"}
    assert run("servicenow").writes == 0


def test_servicenow_priority_only_update_never_answered_is_not_proven_by_a_hand_edit(
    servicenow, duckdb_warehouse, monkeypatch
):
    """Someone set the priority by hand since our last sync, and the gateway swallows our update (answers empty
    twice): the record holds neither our last value nor the one sent, which proves nothing, so the update is
    dead-lettered, not taken as done (and lost: the link would have stored it as synced)."""
    rows = remediation_rows(1)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    assert run("servicenow").created == 1
    (sys_id,) = [rec["sys_id"] for rec in _records(servicenow).values()]
    servicenow.update(remediation_table(), sys_id, {"priority": "2"})  # a person, at the instance
    rows[0]["priority"] = 1
    write_outbound(duckdb_warehouse, "servicenow", rows)
    sent = _gateway(monkeypatch, "PATCH", remediation_table(), lambda b: b, forward=False)
    report = run("servicenow", circuit_breakers=False)
    monkeypatch.setattr(requests.Session, "send", REAL_SEND)
    assert (report.updated, report.dead_lettered) == (0, 1), report.failures
    assert len(sent) == 2  # sent once more, swallowed again
    assert all("priority not written" in e for e in _dead(duckdb_warehouse, "servicenow").values())
    assert run("servicenow").updated == 1  # answered with the record next run: written
    assert {rec["priority"] for rec in _records(servicenow).values()} == {"1"}


def test_servicenow_close_normalised_to_another_closed_state_is_done(servicenow, duckdb_warehouse, monkeypatch):
    rows = remediation_rows(3)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    run("servicenow")
    write_outbound(duckdb_warehouse, "servicenow", rows[:1])  # two controls pass again: their records close
    _gateway(monkeypatch, "PATCH", remediation_table(), lambda b: {**b, "state": "7"})  # Closed Skipped
    report = run("servicenow", circuit_breakers=False)
    monkeypatch.setattr(requests.Session, "send", REAL_SEND)
    assert (report.closed, report.dead_lettered) == (2, 0), report.failures
    states = {k: rec["state"] for k, rec in _records(servicenow).items()}
    assert states == {
        rows[0]["remediation_task_id"]: "1",
        rows[1]["remediation_task_id"]: "7",
        rows[2]["remediation_task_id"]: "7",
    }


def test_servicenow_close_swallowed_is_caught_by_the_state(servicenow, duckdb_warehouse, monkeypatch):
    rows = remediation_rows(2)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    run("servicenow")
    write_outbound(duckdb_warehouse, "servicenow", [], like=rows)
    _gateway(monkeypatch, "PATCH", remediation_table(), lambda b: b, forward=False)
    report = run("servicenow", circuit_breakers=False)
    monkeypatch.setattr(requests.Session, "send", REAL_SEND)
    assert (report.closed, report.dead_lettered) == (0, 2), report.failures
    assert all("state" in e for e in _dead(duckdb_warehouse, "servicenow").values())


def test_onetrust_update_with_its_comment_trimmed_and_answered_empty_is_done(onetrust, duckdb_warehouse, monkeypatch):
    rows = attestation_rows(2)
    write_outbound(duckdb_warehouse, "onetrust", rows)
    run("onetrust")
    for r in rows:
        r["summary"] += " (changed)  \n"
    write_outbound(duckdb_warehouse, "onetrust", rows)
    _gateway(monkeypatch, "POST", "/attestations", lambda b: {**b, "comment": b["comment"].strip()})
    report = run("onetrust", circuit_breakers=False)
    monkeypatch.setattr(requests.Session, "send", REAL_SEND)
    assert (report.updated, report.dead_lettered) == (2, 0), report.failures
    comments = {a["externalId"]: a["comment"] for a in onetrust.attestations() if a.get("source") == "Project X"}
    assert comments == {r["attestation_id"]: r["summary"].strip() for r in rows}


# --- per field kind, without HTTP ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "have", "want"),
    [
        ("description", "text", "  text \r\n"),
        ("cmdb_ci", {"link": "https://x/api/now/table/cmdb_ci/abc", "value": "abc"}, "abc"),
        ("short_description", {"display_value": "Fix it", "value": "Fix it"}, "Fix it"),
        ("due_date", {"display_value": "01/12/2026 01:00:00", "value": "2026-12-01 00:00:00"}, "2026-12-01 00:00:00"),
        ("due_date", "2026-12-01", "2026-12-01 00:00:00"),
        ("short_description", "x" * 160, "x" * 170),
        ("state", "7", "3"),
        ("state", "2", "1"),
    ],
)
def test_servicenow_rewrites_read_as_written(name, have, want):
    assert readback.sn_field_shows(name, have, want, VENDOR_CLOSED_STATES)


@pytest.mark.parametrize(
    ("name", "have", "want"),
    [
        ("description", "old text", "new text"),
        ("description", "old", "old (changed)"),  # a prefix is not a cut unless at the column's length
        ("short_description", "x" * 150, "x" * 170),
        ("cmdb_ci", {"link": "https://x/api/now/table/cmdb_ci/abc", "value": "abc"}, "def"),
        ("due_date", "2026-11-30", "2026-12-01 00:00:00"),
        ("state", "1", "3"),
        ("state", "3", "1"),
        ("state", "", "1"),
    ],
)
def test_servicenow_values_that_did_not_land_read_as_not_written(name, have, want):
    assert not readback.sn_field_shows(name, have, want, VENDOR_CLOSED_STATES)


def test_servicenow_record_holding_none_of_the_fields_proves_nothing():
    assert readback.sn_unwritten({"sys_id": "a"}, {"description": "d", "priority": "2"}, VENDOR_CLOSED_STATES) == (
        [],
        0,
    )
    assert readback.sn_unwritten(
        {"description": "d", "priority": "4"}, {"description": "d", "priority": "2"}, VENDOR_CLOSED_STATES
    ) == ([], 1)


def test_servicenow_derived_only_update_shows_only_as_the_value_sent():
    body = {"priority": "2"}
    assert readback.sn_derived_shows({"priority": "2", "sys_mod_count": "4"}, body)
    assert readback.sn_derived_shows({"priority": {"value": "2", "display_value": "2 - High"}}, body)
    assert not readback.sn_derived_shows({"priority": "3", "sys_mod_count": "5"}, body)  # a save by anyone
    assert not readback.sn_derived_shows({"sys_mod_count": "5"}, body)


def test_servicenow_state_read_as_display_values_is_judged_by_its_code():
    """An instance answering display values: a reopen that did not land still reads closed."""
    closed = {"value": "3", "display_value": "Closed Complete"}
    assert not readback.sn_field_shows("state", closed, "1", VENDOR_CLOSED_STATES)
    assert readback.sn_field_shows("state", closed, "7", VENDOR_CLOSED_STATES)
    assert readback.sn_field_shows("state", {"value": "2", "display_value": "Work in Progress"}, "1",
                                   VENDOR_CLOSED_STATES)


@pytest.mark.parametrize(
    ("have", "ok"),
    [
        ({"result": "ineffective", "comment": "c", "periodStart": "2026-01-01T00:00:00.000Z"}, True),
        ({"result": "INEFFECTIVE", "comment": "  c\n", "periodStart": "2026-01-01T00:00:00Z"}, True),
        ({"result": "EFFECTIVE", "comment": "c", "periodStart": "2026-01-01T00:00:00Z"}, False),
        ({"result": "INEFFECTIVE", "comment": "old c", "periodStart": "2026-01-01T00:00:00Z"}, False),
        ({"result": "INEFFECTIVE", "periodStart": "2026-01-01T00:00:00Z"}, False),
        ({"result": "INEFFECTIVE", "comment": "c", "periodStart": "2026-02-01T00:00:00Z"}, False),
    ],
)
def test_onetrust_readback_allows_trimming_case_and_milliseconds_only(have, ok):
    sent = {"result": "INEFFECTIVE", "comment": "c", "periodStart": "2026-01-01T00:00:00Z"}
    assert readback.onetrust_holds(have, sent) is ok
