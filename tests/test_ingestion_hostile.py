"""Hostile vendor text (issue 18, classes 1 and 2), for all three vendors, through both entry points.

One record carries text strict parsers refuse (lone surrogates, bytes that are not UTF-8, NUL): the
sync must quarantine that record with a reason naming the field and every other record must load.
When the corruption clears (the vendor serves the record cleanly again, with the same update time),
the next normal sync must load it: a quarantined key is re-read until it loads or is deleted.
"""

from __future__ import annotations

import json

import pandera.polars as pa
import pytest

from pipelines.common.pages import loads, text_problem
from pipelines.common.validation import validate_page
from sandbox.core.faults import HOSTILE_TEXT, corrupt, hostile_marker
from tests.conftest import jira_env, onetrust_env, sandbox_env
from tests.ingestion_harness import (
    JIRA_ISSUES,
    OT_RISKS,
    SN_INCIDENTS,
    assert_parity,
    quarantine,
    sql,
    sync,
)

KINDS = sorted(HOSTILE_TEXT)


# --- the shared parser, alone -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_parser_isolates_each_kind_of_hostile_text_to_its_record(kind):
    body = corrupt(('{"result":[{"sys_id":"a","d":"ok"},{"sys_id":"b","d":"x' + hostile_marker(kind)
                    + 'y"},{"sys_id":"c","d":"fine"}]}').encode())
    records = loads(body)["result"]
    schema = pa.DataFrameSchema({"sys_id": pa.Column(str), "d": pa.Column(str)})
    check = validate_page(records, schema, ["sys_id", "d"])
    assert check.valid["sys_id"].to_list() == ["a", "c"]
    [(record, reason)] = check.rejected
    assert record["sys_id"] == "b" and reason.startswith("invalid text: d: ")


def test_parser_keeps_clean_pages_on_the_fast_path_and_refuses_non_json():
    assert type(loads(b'{"a":[{"b":"\\u00e9\\ud83d\\ude00"}]}')["a"][0]) is dict  # a full emoji is fine
    assert text_problem(loads(b'{"b":"x\\ud83d"}')).startswith("b: lone UTF-16 surrogate U+D83D")
    assert "byte 0xFF" in text_problem(loads(b'{"b":"\xff"}'))
    assert "NUL" in text_problem(loads(b'{"b":"a\\u0000"}'))
    assert loads(b'{"b":"raw\x01control"}') == {"b": "raw\x01control"}  # storable: kept as sent
    with pytest.raises(ValueError):
        loads(b'{"result":[{"sys_id":"a"')  # cut off: a transport fault, not a record


# --- through each vendor's sync ---------------------------------------------------------------------------

def _servicenow(make_servicenow_sandbox, monkeypatch, kind):
    sb = make_servicenow_sandbox(size=60)
    sandbox_env(monkeypatch, sb)
    victim = sb.records("incident")[7]["sys_id"]
    sb.update("incident", victim, {"description": f"broken {hostile_marker(kind)} text"})
    return sb, SN_INCIDENTS, victim


def _jira(make_jira_sandbox, monkeypatch, kind):
    sb = make_jira_sandbox(size=40)
    jira_env(monkeypatch, sb)
    issue = sorted(sb.store.issues)[5]
    sb.store.update(issue, {"summary": f"broken {hostile_marker(kind)} summary"}, sb.store.me.account_id)
    sb.sync_index()
    return sb, JIRA_ISSUES, str(issue)


def _onetrust(make_onetrust_sandbox, monkeypatch, kind):
    sb = make_onetrust_sandbox(size=30)
    onetrust_env(monkeypatch, sb)
    risk = sb.risks()[3]
    with sb.store.lock:
        sb.store.save("risks", {**risk, "name": f"broken {hostile_marker(kind)} risk"})
    return sb, OT_RISKS, risk["id"]


VENDOR_SETUP = {"servicenow": _servicenow, "jira": _jira, "onetrust": _onetrust}
FACTORY = {"servicenow": "make_servicenow_sandbox", "jira": "make_jira_sandbox",
           "onetrust": "make_onetrust_sandbox"}


@pytest.mark.parametrize(("vendor", "kind", "via"), [
    ("servicenow", "surrogate", "cli"), ("servicenow", "byte", "dagster"), ("servicenow", "nul", "cli"),
    ("jira", "surrogate", "cli"), ("jira", "truncated", "dagster"), ("jira", "low_surrogate", "cli"),
    ("onetrust", "surrogate", "cli"), ("onetrust", "overlong", "dagster"), ("onetrust", "nul", "cli"),
])
def test_hostile_record_is_quarantined_then_loads_once_the_vendor_serves_it_cleanly(
        vendor, kind, via, request, monkeypatch, duckdb_warehouse):
    sb, entity, victim = VENDOR_SETUP[vendor](request.getfixturevalue(FACTORY[vendor]), monkeypatch, kind)
    sb.faults.set(hostile_text=1)

    sync(vendor, via)
    reasons = quarantine(duckdb_warehouse, entity)
    assert victim in reasons, f"the hostile {kind} record was not quarantined: {reasons}"
    assert reasons[victim].startswith("invalid text: ")
    assert_parity(sb, duckdb_warehouse, entity, except_ids={victim})  # every other record loaded
    sync(vendor, via)  # the next run is not blocked either, and does not quarantine it twice
    assert sql(duckdb_warehouse, f"select count(*) from {vendor}.quarantine where record_id = ?", victim) == [(1,)]

    sb.faults.set(hostile_text=0)  # the corruption clears; the record's update time has not moved
    sync(vendor, via)
    assert_parity(sb, duckdb_warehouse, entity)


@pytest.mark.parametrize(("vendor", "via"), [("servicenow", "cli"), ("jira", "cli"), ("onetrust", "cli"),
                                             ("jira", "dagster")])
def test_records_malformed_during_a_transient_fault_load_once_it_clears(vendor, via, request, monkeypatch,
                                                                        duckdb_warehouse):
    """10% of records malformed (bad dates, numbers, ids; ServiceNow also drops sys_id) for one run, then
    the fault clears without the records changing: the next normal run loads every one of them."""
    sb, entity, _ = VENDOR_SETUP[vendor](request.getfixturevalue(FACTORY[vendor]), monkeypatch, "surrogate")
    sb.faults.set(rate_malformed=0.1)
    sync(vendor, via)
    assert quarantine(duckdb_warehouse, entity), "the fault should have quarantined some records"
    sb.faults.set(rate_malformed=0.0)
    sync(vendor, via)
    assert_parity(sb, duckdb_warehouse, entity)


def test_rows_derived_from_hostile_text_are_rejected_not_fatal():
    """Rows a source built from vendor text (not the parsed records themselves) get the same check."""
    schema = pa.DataFrameSchema({"id": pa.Column(str), "name": pa.Column(str)})
    check = validate_page([{"id": "1", "name": "ok"}, {"id": "2", "name": "cut \ud83d"}], schema, ["id", "name"])
    assert check.valid["id"].to_list() == ["1"]
    assert check.rejected[0][1].startswith("invalid text: name: lone UTF-16 surrogate U+D83D")


# --- beyond the issue's cases: hostile text in keys, and in a detail fetched after the listing ----------

def test_a_key_no_warehouse_can_store_never_reaches_the_resource_state():
    """A record whose id itself holds hostile text is quarantined under no key (its update time is
    kept instead): dlt serialises resource state with orjson, which refuses lone surrogates, so a
    hostile key in the re-read ledger would fail every later run at the end of extract."""
    from dlt.common import json as dlt_json

    from pipelines.common.requeue import Requeue

    state: dict = {}
    ledger = Requeue(state, "risks", "run-1")
    for bad_id in ("ab\ud83d", "ab\udcff", "ab\x00"):
        assert ledger.reject({"id": bad_id}, "invalid text", bad_id, "2026-01-02 03:04:05") is not None
    ledger.commit()
    dlt_json.typed_dumpb(state)  # raises JSONEncodeError when a hostile key is kept
    assert state["quarantined"] == {}
    assert Requeue(state, "risks", "run-2").floor() == "2026-01-02 03:04:05"


def test_quarantine_rows_of_a_load_that_never_completed_are_not_written_again(tmp_path):
    """A sync killed while dlt loaded its package can leave the quarantine rows committed and the
    state (the re-read ledger) not; the next run discards the package and re-reads from the last
    committed state. Those rows count as known: the same record version is not quarantined twice
    (seen in the SIGKILL crash loop on a hostile ServiceNow). A version only a completed load
    quarantined, with a ledger that lost it, and a new version are still written."""
    import dlt

    from pipelines.common.quarantine import quarantined
    from pipelines.common.requeue import Requeue, digest

    pipeline = dlt.pipeline("requeue_orphans", destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
                            dataset_name="vendor", pipelines_dir=str(tmp_path / "dlt"))
    completed, partial, new = ({"sys_id": f"{n:032x}", "priority": n} for n in (1, 2, 3))

    @dlt.resource(name="incidents")
    def first():
        yield quarantined("incidents", completed, "priority: expected a string, got int", "run-1", completed["sys_id"])

    pipeline.run(first())
    with pipeline.sql_client() as client:  # a later run's partial load: its quarantine row, no _dlt_loads row
        client.execute_sql("insert into vendor.quarantine (entity, record_id, reason, run_id, record, quarantined_at,"
                           " _dlt_load_id, _dlt_id) select entity, %s, reason, 'run-2', %s, quarantined_at,"
                           " '9999999999.0', 'orphan' from vendor.quarantine", partial["sys_id"],
                           json.dumps(partial, sort_keys=True))
    written = {}

    @dlt.resource(name="incidents")
    def again():
        ledger = Requeue({}, "incidents", "run-3")  # the state of the last completed load: empty ledger
        for record in (completed, partial, new):
            written[record["sys_id"]] = ledger.reject(record, "priority: expected a string, got int",
                                                      record["sys_id"]) is not None
        yield from ()

    pipeline.run(again())
    assert written == {completed["sys_id"]: True, partial["sys_id"]: False, new["sys_id"]: True}
    assert digest(partial) != digest(completed)


def test_keyset_paging_never_continues_from_a_key_it_cannot_send():
    """ServiceNow pages by ``sys_id>`` the last id read: a hostile last id cannot go into a URL."""
    from pipelines.servicenow.helpers import KeysetRange

    part = KeysetRange("active=true", None, None)
    good = "0" * 31 + "1"
    assert part.advance([{"sys_id": good}, {"sys_id": "f" * 31 + "\ud83d"}], None)
    assert part.after == good and part.offset == 0
    part.query().encode("utf-8")


def test_onetrust_risk_with_a_hostile_id_is_quarantined_and_blocks_nothing(make_onetrust_sandbox, monkeypatch,
                                                                          duckdb_warehouse):
    sb = make_onetrust_sandbox(size=30)
    onetrust_env(monkeypatch, sb)
    risk = sb.risks()[3]
    victim = risk["id"] + "@@HOSTILE:surrogate@@"
    with sb.store.lock:
        sb.store.save("risks", {**risk, "id": victim})
    sb.faults.set(hostile_text=1)
    sync("onetrust", "cli")
    sync("onetrust", "cli")  # the run after it is not blocked either
    reasons = quarantine(duckdb_warehouse, OT_RISKS)
    assert any(r.startswith("invalid text: ") for r in reasons.values()), reasons
    assert_parity(sb, duckdb_warehouse, OT_RISKS, except_ids={victim})


def _assessments(sb) -> dict[str, str]:
    return {a["assessmentId"]: a["lastUpdated"] for a in sb.assessments()}


def _stored_assessments(settings) -> dict[str, str]:
    return dict(sql(settings, "select assessment_id, updated_at from onetrust.assessments"))


@pytest.mark.parametrize(("kind", "via"), [("surrogate", "cli"), ("byte", "dagster")])
def test_hostile_text_in_a_onetrust_assessment_export_is_quarantined_then_loads(kind, via, make_onetrust_sandbox,
                                                                               monkeypatch, duckdb_warehouse):
    """The assessment's list entry is clean; only its ``/export`` detail (read after the listing) holds
    hostile text. The assessment is quarantined with the reason, the others load, and once the export is
    served cleanly (same update time) the next run loads it."""
    sb = make_onetrust_sandbox(size=30)
    onetrust_env(monkeypatch, sb)
    target = next(a for a in sb.assessments() if a["_templateType"] != "VENDOR")
    victim = target["assessmentId"]
    with sb.store.lock:
        sb.store.save("assessments", {**target, "_respondent": {
            **target["_respondent"], "name": f"broken {hostile_marker(kind)} name"}})
    sb.faults.set(hostile_text=1)

    sync("onetrust", via)
    reasons = {k: v for k, v in sql(duckdb_warehouse, "select record_id, reason from onetrust.quarantine "
                                                      "where entity = 'assessments'")}
    assert reasons.get(victim, "").startswith("invalid text: "), reasons
    vendor = _assessments(sb)
    assert _stored_assessments(duckdb_warehouse) == {k: v for k, v in vendor.items() if k != victim}
    sync("onetrust", via)  # not blocked, not quarantined twice
    assert sql(duckdb_warehouse, "select count(*) from onetrust.quarantine where record_id = ?", victim) == [(1,)]

    sb.faults.set(hostile_text=0)
    sync("onetrust", via)
    assert _stored_assessments(duckdb_warehouse) == _assessments(sb)
