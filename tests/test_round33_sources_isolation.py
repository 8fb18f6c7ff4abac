"""Round 33 review: reading a failing ServiceNow page record by record stays where it belongs, and is bounded.

- Three unreadable records (on different pages) were quarantined by the first run, and every later run failed:
  the re-read by id asked for the three in one ``sys_idIN`` page, which failed, and reading it record by record
  met them three in a row, the "instance is down" rule. The re-read of quarantined ids has no streak rule.
- The fallback sat in the shared ``read_concurrently``: the push's reconciliation, the delete audit and the
  census got keys-only placeholders as records (a wanted record closed as an orphan, a delete lost). It is
  opt-in now (``per_record=True``): the table reads and the re-read by id; every other read raises as before.
- The keys-only read and each record's read get one attempt (the page had its retries); a page's record reads
  have a budget, after which the rest are kept by id (quarantined) and read next run.
"""

from __future__ import annotations

import json

import pytest

from pipelines.common.http import VendorError
from pipelines.servicenow import deletes, unreadable
from pipelines.servicenow.helpers import ServiceNowClient
from pipelines.servicenow.settings import TABLES
from sandbox.core.http import Response
from tests.ingestion_harness import OT_ASSESSMENTS, SN_INCIDENTS, quarantine, sql
from tests.test_ingestion_hostile_more import FAST, _ot_sync, on_list
from tests.test_round30_sn_hostile_ids import INCIDENTS, _sync
from tests.test_round33_sources_unreadable import _fail_whole_reads_of, _stored

KEYS = "sys_id,sys_updated_on,sys_mod_count"


def _client(sb) -> ServiceNowClient:
    c = sb.credentials
    return ServiceNowClient(sb.url, c["client_id"], c["client_secret"], c["username"], c["password"], policy=FAST)


def test_three_unreadable_records_on_different_pages_do_not_fail_the_next_runs(make_servicenow_sandbox,
                                                                               duckdb_warehouse):
    sb = make_servicenow_sandbox(size=60)
    ordered = sorted(r["sys_id"] for r in sb.records("incident"))
    victims = {ordered[5], ordered[25], ordered[45]}  # 20 apart in sys_id order: never in one page of 10
    everyone = set(ordered)
    single_reads: list[str] = []

    def rewrite(req, resp):  # as _fail_whole_reads_of, counting the reads of one record by its id
        if req.path != INCIDENTS or req.method != "GET" or resp.status != 200:
            return resp
        if req.query.get("sysparm_fields") == KEYS:
            return resp
        if req.query.get("sysparm_query", "").startswith("sys_id="):
            single_reads.append(req.query["sysparm_query"])
        if any(v.encode() in resp.body for v in victims):
            return Response(500, b'{"error":{"message":"boom","detail":"script error"},"status":"failure"}')
        return resp
    sb.rewrite_responses(rewrite)
    for _ in range(2):  # the second run failed: the re-read by id met the three in a row
        _sync(duckdb_warehouse, sb, ["incident"])
        assert _stored(duckdb_warehouse) == everyone - victims
        reasons = quarantine(duckdb_warehouse, SN_INCIDENTS)
        assert set(reasons) == victims, reasons
        assert all(r.startswith("ServiceNow fails to serve this record") for r in reasons.values())
        # one attempt per record read alone (the page had its retries): each victim read once by id per run
        assert len(single_reads) == len(set(single_reads)) and {f"sys_id={v}" for v in victims} <= set(single_reads)
        single_reads.clear()  # one attempt each, in the table read and in the re-read by id
    sb.rewrite_responses(None)
    _sync(duckdb_warehouse, sb, ["incident"])
    assert _stored(duckdb_warehouse) == everyone


@pytest.mark.parametrize("table, fields", [
    ("incident", ["sys_id", "number", "correlation_id", "state"]),  # the push's reconciliation (_orphans)
    ("incident", None),  # the census and the delete audit's look-ups read other fields; all fields here
])
def test_other_reads_of_a_failing_page_raise_instead_of_returning_placeholders(make_servicenow_sandbox, table,
                                                                               fields):
    sb = make_servicenow_sandbox(size=30)
    victim = sorted(r["sys_id"] for r in sb.records("incident"))[3]
    _fail_whole_reads_of(sb, {victim})
    client = _client(sb)
    try:
        with pytest.raises(VendorError, match="500"):
            for page in client.read_concurrently(table, "", page_size=10, concurrency=1, fields=fields):
                assert not any(isinstance(r, unreadable.Unreadable) for r in page)
    finally:
        client.close()


def test_the_delete_audit_reading_a_failing_page_raises_instead_of_losing_the_delete(make_servicenow_sandbox):
    sb = make_servicenow_sandbox(size=30)
    ids = sorted(r["sys_id"] for r in sb.records("incident"))[:4]
    assert sb.delete("incident", ids) == 4
    audit = "/api/now/table/sys_audit_delete"

    def rewrite(req, resp):  # the audit row of ids[1] is served only keys-only
        if req.path != audit or req.method != "GET" or resp.status != 200 or req.query.get("sysparm_fields") == KEYS:
            return resp
        return Response(500, b'{"error":{"message":"boom"},"status":"failure"}') if ids[1].encode() in resp.body \
            else resp
    sb.rewrite_responses(rewrite)
    client = _client(sb)
    try:
        due = deletes.Due(TABLES["incident"], "1970-01-01 00:00:00", None, {})
        with pytest.raises(VendorError, match="500"):  # was: three deletes recorded, ids[1]'s lost in silence
            list(deletes.deletes_from_audit(client, [due], "run-1"))
    finally:
        client.close()


def _keys(n: int) -> list[dict]:
    return [{"sys_id": f"{i:032x}", "sys_updated_on": "2026-01-01 00:00:00", "sys_mod_count": "1"} for i in range(n)]


def test_record_reads_get_one_attempt_and_requeued_reads_have_no_streak_rule():
    keys = _keys(5)
    calls: list[tuple[str, str]] = []

    def page(params):  # the page and every record fail
        calls.append(("page", params.get("sysparm_query", "")))
        raise VendorError("ServiceNow: GET x answered 500 on all 3 attempts", 500)

    def once(params):
        calls.append(("once", params.get("sysparm_query", "")))
        if params.get("sysparm_fields") == KEYS:
            return keys, 5
        raise VendorError("ServiceNow: GET x answered 500 on all 1 attempts", 500)
    rows, _ = unreadable.read_page(page, "incident", {"sysparm_query": "sys_idIN…"}, once=once, requeued=True)
    assert [type(r) for r in rows] == [unreadable.Unreadable] * 5
    assert calls[0][0] == "page" and all(kind == "once" for kind, _ in calls[1:]) and len(calls) == 7
    calls.clear()
    with pytest.raises(VendorError, match="on all 3 attempts"):  # a table read: three in a row fail the page
        unreadable.read_page(page, "incident", {"sysparm_query": "q"}, once=once)
    assert len(calls) == 1 + 1 + unreadable.MAX_FAILED_IN_A_ROW


def test_a_page_past_its_budget_keeps_the_rest_quarantined_for_the_next_run_in_table_reads_too(monkeypatch):
    """Final review: a table read past the budget raised the page's error, so a 1,000-record page (one read ~0.3 s)
    failed every run again; the records not read are kept by id (quarantined) and read next run, as the re-read
    of quarantined ids already did."""
    keys = _keys(3)

    def page(params):
        raise VendorError("ServiceNow: GET x failed after 3 attempts: ReadTimeout")

    def once(params):
        if params.get("sysparm_fields") == KEYS:
            return keys, 3
        return [{**keys[0], "short_description": "ok"}], 1
    monkeypatch.setattr(unreadable, "PAGE_BUDGET_SECONDS", -1.0)
    for requeued in (False, True):
        rows, _ = unreadable.read_page(page, "incident", {"sysparm_query": "q"}, once=once, requeued=requeued)
        assert [r["sys_id"] for r in rows] == [k["sys_id"] for k in keys]
        assert all(isinstance(r, unreadable.Unreadable) and "not read this run" in r.reason for r in rows)


# Deep JSON (review): a value 256 to 1,000 levels deep parsed (orjson reads 1,024 levels) and then failed the
# extract on every run, as dlt writes records with orjson, which stops at 255 ("Recursion limit reached").
DEEP300 = "[" * 300 + "]" * 300


def test_a_servicenow_field_300_levels_deep_is_quarantined_and_the_rest_loads(make_servicenow_sandbox,
                                                                               duckdb_warehouse):
    sb = make_servicenow_sandbox(size=20)
    victim = sb.records("incident")[5]["sys_id"]

    def deep(req, resp, body):
        for row in body["result"]:
            if row.get("sys_id") == victim:
                row["short_description"] = "@@DEEP@@"
        resp.body = json.dumps(body).replace('"@@DEEP@@"', DEEP300).encode()
        return resp
    on_list(sb, deep)
    for _ in range(2):
        _sync(duckdb_warehouse, sb, ["incident"])  # failed "Recursion limit reached" in extract, every run
        reasons = quarantine(duckdb_warehouse, SN_INCIDENTS)
        assert list(reasons) == [victim] and "short_description[0]" in reasons[victim], reasons
        assert "nested deeper than 200 levels" in reasons[victim]
        assert _stored(duckdb_warehouse) == {r["sys_id"] for r in sb.records("incident")} - {victim}
    assert sql(duckdb_warehouse, "select count(*) from servicenow.quarantine") == [(1,)]


def test_a_onetrust_tags_list_300_levels_deep_is_quarantined_and_the_rest_loads(make_onetrust_sandbox,
                                                                                duckdb_warehouse):
    sb = make_onetrust_sandbox(size=20)
    everyone = sorted(a["assessmentId"] for a in sb.assessments())
    victim = everyone[3]

    def mark(value):
        if isinstance(value, dict):
            if value.get("assessmentId") == victim and "tags" in value:
                value["tags"] = "@@DEEP@@"
            for item in value.values():
                mark(item)
        elif isinstance(value, list):
            for item in value:
                mark(item)

    def rewrite(req, resp):
        if not req.path.startswith("/api/assessment/v2/assessments") or resp.status != 200:
            return resp
        body = json.loads(resp.body)
        mark(body)
        resp.body = json.dumps(body).replace('"@@DEEP@@"', "[" + DEEP300 + "]").encode()
        return resp
    sb.rewrite_responses(rewrite)
    _ot_sync(duckdb_warehouse, sb, entities=("assessments",))  # failed in extract, every run
    reasons = quarantine(duckdb_warehouse, OT_ASSESSMENTS)
    assert list(reasons) == [victim] and "tags" in reasons[victim] and "200 levels" in reasons[victim], reasons
    stored = {r[0] for r in sql(duckdb_warehouse, "select assessment_id from onetrust.assessments")}
    assert stored == set(everyone) - {victim}


def test_a_cancelled_transaction_answered_200_is_isolated_like_a_5xx(make_servicenow_sandbox, duckdb_warehouse):
    """A page whose every answer is 200 with ServiceNow's error object (a transaction cancelled [unc]) failed every
    run: it was not taken as one record's doing. Now it is read record by record like a 5xx."""
    sb = make_servicenow_sandbox(size=30)
    victim = sorted(r["sys_id"] for r in sb.records("incident"))[4]
    cancelled = b'{"error":{"message":"Transaction cancelled: maximum execution time exceeded"},"status":"failure"}'

    def rewrite(req, resp):
        if req.path != INCIDENTS or req.method != "GET" or resp.status != 200:
            return resp
        if req.query.get("sysparm_fields") != KEYS and victim.encode() in resp.body:
            return Response(200, cancelled, "application/json", [])
        return resp
    sb.rewrite_responses(rewrite)
    _sync(duckdb_warehouse, sb, ["incident"])
    reasons = quarantine(duckdb_warehouse, SN_INCIDENTS)
    assert list(reasons) == [victim] and "Transaction cancelled" in reasons[victim], reasons
    assert _stored(duckdb_warehouse) == {r["sys_id"] for r in sb.records("incident")} - {victim}
