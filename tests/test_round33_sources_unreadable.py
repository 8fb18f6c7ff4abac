"""Round 33: a ServiceNow record the instance fails to serve (5xx or no answer on every attempt) costs itself.

One record an instance cannot render (a broken calculated field, a script that throws) makes every page holding
it answer 500. The run failed after its retries and the next one failed at the same page, for ever: nothing past
it loaded, a crash loop with no end. Now that page is read keys-only, then record by record; the one record that
still fails is quarantined with the reason, re-read by id every run (one quarantine row), and loads once the
instance serves it. A whole instance failing (every record alone fails too) still fails the run, as before.
"""

from __future__ import annotations

import pytest

from pipelines.common.http import VendorError
from sandbox.core.http import Response
from tests.ingestion_harness import SN_INCIDENTS, quarantine, sql
from tests.test_round30_sn_hostile_ids import INCIDENTS, _sync


def _fail_whole_reads_of(sb, victims: set[str], status: int = 500) -> None:
    """Every incident list answer holding a victim with more than its keys fails with ``status``."""
    def rewrite(req, resp):
        if req.path != INCIDENTS or req.method != "GET" or resp.status != 200:
            return resp
        fields = req.query.get("sysparm_fields", "")
        keys_only = set(fields.split(",")) <= {"sys_id", "sys_updated_on", "sys_mod_count"} if fields else False
        if not keys_only and any(v.encode() in resp.body for v in victims):
            return Response(status, b'{"error":{"message":"boom","detail":"script error"},"status":"failure"}')
        return resp
    sb.rewrite_responses(rewrite)


def _stored(settings) -> set[str]:
    rows = sql(settings, "select sys_id from servicenow.incidents")
    assert len(rows) == len({r[0] for r in rows}), "a sys_id twice"
    return {r[0] for r in rows}


def test_a_record_failing_every_read_is_quarantined_and_the_rest_loads(make_servicenow_sandbox, duckdb_warehouse):
    sb = make_servicenow_sandbox(size=40)
    victim = sb.records("incident")[7]["sys_id"]
    everyone = {r["sys_id"] for r in sb.records("incident")}
    _fail_whole_reads_of(sb, {victim})
    for _ in range(2):  # failed with "answered 500 on all 3 attempts" on every run
        _sync(duckdb_warehouse, sb, ["incident"])
        assert _stored(duckdb_warehouse) == everyone - {victim}
        reasons = quarantine(duckdb_warehouse, SN_INCIDENTS)
        assert list(reasons) == [victim], reasons
        assert reasons[victim].startswith("ServiceNow fails to serve this record") and "500" in reasons[victim]
        assert sql(duckdb_warehouse, "select count(*) from servicenow.quarantine") == [(1,)]

    sb.rewrite_responses(None)  # the instance is fixed: the re-read by id loads it
    _sync(duckdb_warehouse, sb, ["incident"])
    assert _stored(duckdb_warehouse) == everyone


def test_an_instance_failing_every_read_still_fails_the_run_and_quarantines_nothing(make_servicenow_sandbox,
                                                                                    duckdb_warehouse):
    sb = make_servicenow_sandbox(size=40)
    _fail_whole_reads_of(sb, {r["sys_id"] for r in sb.records("incident")}, status=503)
    with pytest.raises(Exception, match="answered 503 on all"):
        _sync(duckdb_warehouse, sb, ["incident"])
    assert sql(duckdb_warehouse, "select count(*) from information_schema.tables where table_schema = "
                                 "'servicenow' and table_name in ('quarantine', 'incidents')") == [(0,)]


def test_keys_only_failing_too_raises_the_pages_error():
    from pipelines.servicenow.unreadable import read_page

    calls = []

    def page(params):
        calls.append(params)
        raise VendorError("ServiceNow: GET x answered 500 on all 3 attempts", 500)
    with pytest.raises(VendorError, match="500 on all"):
        read_page(page, "incident", {"sysparm_query": "q", "sysparm_limit": 10})
    assert len(calls) == 2

    def refused(params):
        raise VendorError("ServiceNow: GET x answered 400: bad query", 400)
    with pytest.raises(VendorError, match="400"):  # not one record's doing: no read by record
        read_page(refused, "incident", {"sysparm_query": "q"})


def test_a_record_whose_reads_never_answer_is_unreadable_and_three_in_a_row_fail_the_page():
    """No answer within the timeout (status None, as the session raises it) counts like a 5xx."""
    from pipelines.servicenow.unreadable import Unreadable, read_page

    keys = [{"sys_id": f"{n:032x}", "sys_updated_on": "2026-01-01 00:00:00", "sys_mod_count": "1"} for n in range(5)]

    def page(hanging: set[str]):
        def read(params):
            if params.get("sysparm_fields") == "sys_id,sys_updated_on,sys_mod_count":
                return keys, 5
            wanted = params["sysparm_query"].removeprefix("sys_id=")
            if wanted in hanging or not params["sysparm_query"].startswith("sys_id="):
                raise VendorError("ServiceNow: GET x failed after 3 attempts: ReadTimeout")
            return [{**k, "short_description": "ok"} for k in keys if k["sys_id"] == wanted], 1
        return read
    rows, total = read_page(page({keys[2]["sys_id"]}), "incident", {"sysparm_query": "q", "sysparm_limit": 5})
    assert total == 5 and [r["sys_id"] for r in rows] == [k["sys_id"] for k in keys]
    assert [type(r) is Unreadable for r in rows] == [False, False, True, False, False]
    assert "ReadTimeout" in rows[2].reason and rows[2] == keys[2]
    with pytest.raises(VendorError, match="ReadTimeout"):  # three in a row: the instance, not a record
        read_page(page({k["sys_id"] for k in keys[1:4]}), "incident", {"sysparm_query": "q", "sysparm_limit": 5})
