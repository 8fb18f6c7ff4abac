"""Round 32: hostile OneTrust data on the paths round 31 added (reads by id of quarantined records) and on sizes no
test had served (sandbox over HTTP -> dlt -> DuckDB): an answer by id with bytes that are not UTF-8 or a lone UTF-16
surrogate, a text field of megabytes, and a delta whose newest stamp runs backwards (the tenant's clock set back)."""

from __future__ import annotations

import json

from sandbox.core.http import Response
from tests.test_ingestion_hostile_more import RISKS_LIST, _ot_rewrite, _ot_sync, _rows
from tests.test_round31_onetrust_review import RISK_BY_ID, _broken_risks, _by_id


def _held(settings, rid: str) -> list[str]:
    return [r[0] for r in _rows(settings, f"select reason from onetrust.quarantine where record_id = '{rid}'")]


def _description(settings, rid: str) -> list[tuple]:
    return _rows(settings, f"select description from onetrust.risks where risk_id = '{rid}'")


def _raw_answer(raw: bytes):
    """The answer by id with ``"description": "<raw>"`` spliced in as bytes (no JSON encoder would write them)."""
    def answer(rid, resp):
        body = json.loads(resp.body)
        record = body.get("data", body)
        record["description"] = "@@RAW@@"
        return Response(200, json.dumps(body).encode().replace(b"@@RAW@@", raw), "application/json", [])
    return answer


def test_an_answer_by_id_with_bytes_that_are_not_utf8_is_quarantined_not_fatal(make_onetrust_sandbox,
                                                                               duckdb_warehouse):
    sb = make_onetrust_sandbox(size=40)
    (target,), fault = _broken_risks(sb, 1)
    _ot_sync(duckdb_warehouse, sb, entities=("risks",))
    first = _held(duckdb_warehouse, target)
    assert len(first) == 1
    fault["on"] = False
    _by_id(sb, RISK_BY_ID, _raw_answer(b"caf\xe9 \xff\xfe"))
    _ot_sync(duckdb_warehouse, sb, entities=("risks",), reconcile=False)  # was it a crash of the whole sync?
    assert _description(duckdb_warehouse, target) == []
    reasons = _held(duckdb_warehouse, target)
    assert len(reasons) == 2 and "description" in reasons[1], reasons  # quarantined again, with its reason
    others = _rows(duckdb_warehouse, "select count(*) from onetrust.risks")[0][0]
    assert others == len(sb.risks()) - 1


def test_an_answer_by_id_with_a_lone_surrogate_is_quarantined_not_fatal(make_onetrust_sandbox, duckdb_warehouse):
    sb = make_onetrust_sandbox(size=40)
    (target,), fault = _broken_risks(sb, 1)
    _ot_sync(duckdb_warehouse, sb, entities=("risks",))
    fault["on"] = False
    _by_id(sb, RISK_BY_ID, _raw_answer(b"\\ud83d broken emoji"))
    _ot_sync(duckdb_warehouse, sb, entities=("risks",), reconcile=False)
    assert _description(duckdb_warehouse, target) == []
    assert any("description" in r for r in _held(duckdb_warehouse, target)[1:])


def test_a_description_of_megabytes_loads_whole(make_onetrust_sandbox, duckdb_warehouse):
    sb = make_onetrust_sandbox(size=40)
    target = sb.risks()[3]["id"]
    huge = "Ä" * (3 << 20)  # 6 MiB of UTF-8

    def change(req, body):
        for r in body["content"]:
            if r["id"] == target:
                r["description"] = huge
    _ot_rewrite(sb, RISKS_LIST, change)
    _ot_sync(duckdb_warehouse, sb, entities=("risks",))
    (got,) = _description(duckdb_warehouse, target)
    assert got[0] == huge
    assert _rows(duckdb_warehouse, "select count(*) from onetrust.risks")[0][0] == len(sb.risks())


def test_a_tenant_clock_set_back_loses_no_change(make_onetrust_sandbox, duckdb_warehouse):
    """After a delta, the tenant's stamps run earlier than the cursor (its clock set back an hour): a record
    changed now carries a stamp older than the cursor, and the delta newest-first must still not stop before it
    for good; the reconciling full read loads it at the latest."""
    sb = make_onetrust_sandbox(size=40)
    _ot_sync(duckdb_warehouse, sb, entities=("risks",))
    ordered = sorted(sb.risks(), key=lambda r: r["lastModifiedUTCDateTime"])
    target, behind = ordered[0]["id"], ordered[len(ordered) // 2]["lastModifiedUTCDateTime"]  # < the cursor

    def change(req, body):
        for r in body["content"]:
            if r["id"] == target:
                r["name"] = "renamed while the clock ran behind"
                r["lastModifiedUTCDateTime"] = behind
    _ot_rewrite(sb, RISKS_LIST, change)
    _ot_sync(duckdb_warehouse, sb, entities=("risks",))  # a full (reconciling) read
    got = _rows(duckdb_warehouse, f"select name from onetrust.risks where risk_id = '{target}'")
    assert got == [("renamed while the clock ran behind",)], "was: skipped as unchanged by every pass, for good"
    stale = {"on": True}

    def older(req, body):  # a stale copy, older than the one stored: never loaded over it
        for r in body["content"]:
            if r["id"] == target and stale["on"]:
                r["name"], r["lastModifiedUTCDateTime"] = "stale replica", ordered[1]["lastModifiedUTCDateTime"]
    _ot_rewrite(sb, RISKS_LIST, older)
    _ot_sync(duckdb_warehouse, sb, entities=("risks",))
    got = _rows(duckdb_warehouse, f"select name from onetrust.risks where risk_id = '{target}'")
    assert got == [("renamed while the clock ran behind",)]
