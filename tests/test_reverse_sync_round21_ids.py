"""Round 21: vendor ids the answer gets wrong, over HTTP against the sandboxes. Creates written at once answered
with one new id at Jira (whose search lags, so the other tasks wait in dead letters and are adopted once the
search shows their issues: never a second issue, also while the search still lags on the next run) and at
OneTrust (read back by externalId and adopted); a ServiceNow create answered 201 with a Location header but no
body (a proxy, or ``X-no-response-body``): looked up by our id, never created twice."""

from __future__ import annotations

import pytest
import requests

from assets.reverse_sync.servicenow import remediation_table
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import attestation_rows, jira_rows, run, write_outbound, writes
from tests.test_reverse_sync_round19_hostile import OURS, REAL_JSON, _links
from tests.test_reverse_sync_round20_ids import _one_id_for_every_create as replay_one_id

servicenow, jira, onetrust = attacks.servicenow, attacks.jira, attacks.onetrust  # the sandbox fixtures
_dead = attacks._dead


def _one_id_for_every_create(monkeypatch, path_end: str, creates: int) -> dict[str, str]:
    """Every create's answer carries the ``id`` the first answer carried, and the task whose record that id
    is reads its answer last (round 20's tamper, at Jira's and OneTrust's top-level ``id``)."""
    return replay_one_id(monkeypatch, path_end, creates, where=("id",), own_answer_last=True)


def test_jira_creates_at_once_answered_with_one_id_converge_without_a_second_issue_while_search_lags(
        jira, duckdb_warehouse, monkeypatch):
    rows = jira_rows(3)
    write_outbound(duckdb_warehouse, "jira", rows)
    jira.faults.set(search_lag_seconds=3600)  # a new issue stays out of JQL search until sync_index()
    first = _one_id_for_every_create(monkeypatch, "/rest/api/3/issue", creates=3)
    report = run("jira", concurrency=3)
    monkeypatch.setattr(requests.Response, "json", REAL_JSON)
    links = _links(duckdb_warehouse, "jira")
    assert list(links.values()) == [first["id"]], f"one task linked to the answered id: {links}"
    ours = OURS["jira"](jira)
    assert {k: len(v) for k, v in ours.items()} == {r["remediation_task_id"]: 1 for r in rows}
    dead = _dead(duckdb_warehouse, "jira")
    assert len(dead) == 2 and report.dead_lettered == 2, report.failures
    for error in dead.values():
        assert "search" in error and "next run" in error, error

    # The next run while the search still lags: the issues exist but cannot be found; nothing is created.
    lagging = run("jira")
    assert lagging.created == 0, lagging.failures
    ours = OURS["jira"](jira)
    assert {k: len(v) for k, v in ours.items()} == {r["remediation_task_id"]: 1 for r in rows}, "never a 2nd issue"
    for error in _dead(duckdb_warehouse, "jira").values():
        assert "deferred" in error and "search" in error, error

    jira.sync_index()
    healed = run("jira")
    assert healed.created == 0 and healed.dead_lettered == 0 and healed.adopted == 2, healed.failures
    assert _links(duckdb_warehouse, "jira") == {k: v[0] for k, v in OURS["jira"](jira).items()}
    assert _dead(duckdb_warehouse, "jira") == {}


def test_a_jira_create_refused_4xx_is_not_held_back_by_the_lag_guard(jira, duckdb_warehouse):
    """A create Jira refused wrote nothing: the next run creates it at once, search lag or not."""
    rows = jira_rows(1)
    write_outbound(duckdb_warehouse, "jira", rows)
    jira.faults.set(search_lag_seconds=3600)
    jira.faults.set(rate_5xx=1.0, status_5xx=400, methods=["POST"], paths=[r"/issue$"])
    refused = run("jira")
    assert refused.dead_lettered == 1
    jira.faults.clear()
    jira.faults.set(search_lag_seconds=3600)
    again = run("jira")
    assert again.created == 1 and again.dead_lettered == 0, again.failures


def test_onetrust_creates_at_once_answered_with_one_id_adopt_each_own_attestation(onetrust, duckdb_warehouse,
                                                                                  monkeypatch):
    rows = attestation_rows(3)
    write_outbound(duckdb_warehouse, "onetrust", rows)
    _one_id_for_every_create(monkeypatch, "/attestations", creates=3)
    report = run("onetrust", concurrency=3)
    monkeypatch.setattr(requests.Response, "json", REAL_JSON)
    ours = OURS["onetrust"](onetrust)
    assert {k: len(v) for k, v in ours.items()} == {r["attestation_id"]: 1 for r in rows}, "none twice"
    links = _links(duckdb_warehouse, "onetrust")
    assert len(set(links.values())) == len(links), f"two tasks linked to one attestation: {links}"
    assert links == {k: v[0] for k, v in ours.items()}, report.failures
    assert report.dead_lettered == 0, report.failures
    assert run("onetrust").writes == 0


@pytest.mark.parametrize("answer", [b"", b"{}", b'{"result": {}}'])
def test_a_servicenow_create_answered_201_with_a_location_but_no_id_is_looked_up_never_created_twice(
        answer, servicenow, duckdb_warehouse, monkeypatch):
    from tests.test_reverse_sync_servicenow import remediation_rows

    rows = remediation_rows(3)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    real_send = requests.Session.send
    locations: list[str] = []

    def stripped(self, prepared, **kw):  # the record is created; a proxy drops the body, keeps the Location
        response = real_send(self, prepared, **kw)
        if prepared.method == "POST" and prepared.url.split("?")[0].endswith(remediation_table()):
            assert response.status_code == 201 and response.headers.get("Location")
            locations.append(response.headers["Location"])
            response._content = answer
        return response

    monkeypatch.setattr(requests.Session, "send", stripped)
    report = run("servicenow")
    monkeypatch.setattr(requests.Session, "send", real_send)
    assert len(locations) == 3, "one POST a task"
    assert report.dead_lettered == 0 and report.created + report.adopted == 3, report.failures
    ours = OURS["servicenow"](servicenow)
    assert {k: len(v) for k, v in ours.items()} == {r["remediation_task_id"]: 1 for r in rows}
    assert _links(duckdb_warehouse, "servicenow") == {k: v[0] for k, v in ours.items()}
    assert sorted(loc.rsplit("/", 1)[-1] for loc in locations) == sorted(v[0] for v in ours.values())
    assert len([w for w in writes(servicenow) if w["method"] == "POST"]) == 3


@pytest.mark.parametrize("value", ["nan", "-5", "15m"])
def test_a_bad_search_lag_setting_stops_the_push_before_any_vendor_call(jira, duckdb_warehouse, monkeypatch, value):
    write_outbound(duckdb_warehouse, "jira", jira_rows(2))
    jira.clear_request_log()
    monkeypatch.setenv("PROJECTX_JIRA_SEARCH_LAG_SECONDS", value)
    with pytest.raises(ValueError, match=r"PROJECTX_JIRA_SEARCH_LAG_SECONDS=.*unset it for the default \(900\)"):
        run("jira")
    assert writes(jira) == []  # raised before the push made its tables, or wrote anything
