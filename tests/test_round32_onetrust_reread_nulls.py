"""Round 32: a OneTrust record read by id (the re-read of a quarantined risk or vendor) was refused unless it held
every key the row builder reads. A real tenant leaves null fields out of its JSON, so a risk with no
``mitigatedDate`` or ``previousState`` was never taken from its answer by id: a risk delta (filtered to changes on
the server) never lists it either, and it stayed out of the warehouse for good. Now an optional key left out reads
as null; a key every whole record has (``rows.REQUIRED_KEYS``) still decides that the answer is another view.
Sandbox over HTTP -> dlt -> DuckDB."""

from __future__ import annotations

import json

from pipelines.onetrust import rows as R
from sandbox.core.http import Response
from tests.test_ingestion_hostile_more import _ot_sync, _rows
from tests.test_round31_onetrust_review import RISK_BY_ID, VENDOR_BY_ID, _broken_risks, _broken_vendor, _by_id


def _without_nulls(drop: tuple[str, ...] = (), clear: tuple[str, ...] = (), on: dict | None = None):
    """Answers by id as a tenant omitting nulls sends them: ``clear`` set to null first, then every null left
    out, and ``drop`` left out too (a key the record should have); only while ``on["on"]``."""
    def answer(rid, resp):
        if resp.status != 200 or (on is not None and not on["on"]):
            return resp
        body = json.loads(resp.body)
        record = body.get("data", body)
        record.update(dict.fromkeys(clear))
        for key in [k for k, v in record.items() if v is None or k in drop]:
            record.pop(key)
        return Response(200, json.dumps(body).encode(), "application/json", [])
    return answer


def _risk(settings, rid: str) -> tuple | None:
    got = _rows(settings, f"select name, previous_state, mitigated_date, target_level from onetrust.risks "
                          f"where risk_id = '{rid}'")
    return got[0] if got else None


def test_required_keys_are_row_keys():
    for resource, required in R.REQUIRED_KEYS.items():
        assert set(required) <= set(R.ROW_KEYS[resource]), resource
        assert "id" in required


def test_a_risk_answered_by_id_without_its_null_fields_is_loaded(make_onetrust_sandbox, duckdb_warehouse):
    sb = make_onetrust_sandbox(size=40)
    (target,), fault = _broken_risks(sb, 1)
    _ot_sync(duckdb_warehouse, sb, entities=("risks",))
    assert _risk(duckdb_warehouse, target) is None  # quarantined
    fault["on"] = False
    (seeded,) = [r for r in sb.risks() if r["id"] == target]
    assert seeded["targetRiskLevel"] is None and seeded["mitigation"] is None  # nulls the answer leaves out
    _by_id(sb, RISK_BY_ID, _without_nulls())
    _ot_sync(duckdb_warehouse, sb, entities=("risks",), reconcile=False)
    got = _risk(duckdb_warehouse, target)
    assert got is not None, "the answer by id without its nulls was refused: the risk never loads (a delta lacks it)"
    assert got[0] == seeded["name"] and got[3] is None


def test_a_risk_answer_without_a_required_key_is_still_refused(make_onetrust_sandbox, duckdb_warehouse, caplog):
    sb = make_onetrust_sandbox(size=40)
    (target,), fault = _broken_risks(sb, 1)
    _ot_sync(duckdb_warehouse, sb, entities=("risks",))
    fault["on"] = False
    other_view = {"on": True}
    _by_id(sb, RISK_BY_ID, _without_nulls(drop=("orgGroup",), on=other_view))  # another view: no org group
    caplog.set_level("WARNING", logger="pipelines.onetrust.reread")
    _ot_sync(duckdb_warehouse, sb, entities=("risks",), reconcile=False)
    assert _risk(duckdb_warehouse, target) is None
    assert "orgGroup" in caplog.text  # the warning names what the answer lacks
    other_view["on"] = False
    _by_id(sb, RISK_BY_ID, _without_nulls())
    _ot_sync(duckdb_warehouse, sb, entities=("risks",), reconcile=False)
    assert _risk(duckdb_warehouse, target) is not None, "still due, read again on the next delta"


def test_a_vendor_answered_by_id_without_cleared_fields_loads_them_as_null(make_onetrust_sandbox, duckdb_warehouse):
    sb = make_onetrust_sandbox(size=120)
    target = min(sb.vendors(), key=lambda v: v["lastUpdatedDate"])["id"]  # on the last page of newest-first
    fault = {"on": True}
    _broken_vendor(sb, {target}, fault)
    _ot_sync(duckdb_warehouse, sb)
    fault["on"] = False
    _by_id(sb, VENDOR_BY_ID, _without_nulls(clear=("contactEmail", "criticality", "tier", "country")))
    _ot_sync(duckdb_warehouse, sb, reconcile=False)
    got = _rows(duckdb_warehouse, f"select organization_name, contact_email, tier, country from onetrust.vendors "
                                  f"where vendor_id = '{target}'")
    assert got and got[0][0] and got[0][1:] == (None, None, None), got


def test_a_vendor_summary_is_still_refused(make_onetrust_sandbox, duckdb_warehouse):
    sb = make_onetrust_sandbox(size=40)
    target = sb.vendors()[11]["id"]
    fault = {"on": True}
    _broken_vendor(sb, {target}, fault)
    _ot_sync(duckdb_warehouse, sb)
    fault["on"] = False
    _by_id(sb, VENDOR_BY_ID, _without_nulls(drop=("organization", "type", "status")))
    _ot_sync(duckdb_warehouse, sb, reconcile=False)
    got = _rows(duckdb_warehouse, f"select organization_name from onetrust.vendors where vendor_id = '{target}'")
    # not merged from the summary: loaded from the listing (read whole while a vendor key is due) or not at all
    assert got == [] or got[0][0], got
