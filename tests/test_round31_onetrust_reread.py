"""Round 31: quarantined OneTrust records are re-read by id, not by reading the whole listing again.

- An unreadable copy of a vendor listed on an earlier page than its readable twin was judged where it stood: its
  id became due, so the next delta read the whole inventory (every page) to load the twin again, the one after
  quarantined the same copy again, and so on. Now such a copy is judged at the end of the pass, held once as the
  twin's shadow (reason kept), and a due key is read by id (one GET): the delta still stops at the cursor.
- A risk quarantined by a full pass and repaired since was never listed by a delta (the server filters on the
  last-modified stamp), so the ledger took it for deleted and it stayed out until the next full pass. Read by id,
  it loads on the next delta.
Sandbox over HTTP -> dlt -> DuckDB; the bound and the 404 rule on a stub.
"""

from __future__ import annotations

import json

from pipelines.common.http import VendorError
from pipelines.onetrust import reread as RR
from pipelines.onetrust.settings import RISKS, VENDORS
from tests.test_ingestion_hostile_more import RISKS_LIST, VENDORS_LIST, _ot_rewrite, _ot_sync, _rows


def _by_id(sb, rid: str) -> list[dict]:
    return [r for r in sb.request_log if r["method"] == "GET" and r["path"].endswith("/" + rid)]


def test_an_unreadable_copy_on_an_earlier_page_is_held_once_and_deltas_stop_at_the_cursor(make_onetrust_sandbox,
                                                                                         duckdb_warehouse):
    sb = make_onetrust_sandbox(size=120)
    target = min(sb.vendors(), key=lambda v: v["lastUpdatedDate"])["id"]  # last page of newest-first
    state: dict = {}

    def broken_copy_on_page_0(req, body):
        rows = body["data"]
        for r in rows:
            if r["id"] == target:
                state["row"] = json.loads(json.dumps(r))
        if int(req.query.get("page", "0")) == 0 and "row" in state:
            rows.append({**state["row"], "lastUpdatedDate": "not a date",
                         "name": "broken copy"})
    _ot_rewrite(sb, VENDORS_LIST, broken_copy_on_page_0)
    _ot_sync(duckdb_warehouse, sb)  # the full pass
    assert "row" in state
    lists, by_id = [], []
    for _ in range(4):  # deltas: the copy, its id due, read by id, the copy again...
        sb.clear_request_log()
        _ot_sync(duckdb_warehouse, sb, reconcile=False)
        lists.append(len([r for r in sb.request_log if r["path"] == VENDORS_LIST]))
        by_id.append(len(_by_id(sb, target)))
    assert lists == [1, 1, 1, 1], "every delta stopped at the cursor on page 0 (was: all 3 pages when due)"
    assert sum(by_id) <= 2 and max(by_id) <= 1, by_id  # at most one GET a run, for the one key
    stored = _rows(duckdb_warehouse, f"select name from onetrust.vendors where vendor_id = '{target}'")
    assert stored and stored[0][0] != "broken copy"
    held = _rows(duckdb_warehouse, "select record_id, reason, record from onetrust.quarantine")
    assert [(h[0], json.loads(h[2])["name"]) for h in held] == [(target, "broken copy")], held  # once, not per run
    assert "not a date" in held[0][1], held[0][1]  # the reason is kept


def test_a_repaired_risk_quarantined_by_a_full_pass_loads_on_the_next_delta(make_onetrust_sandbox, duckdb_warehouse):
    sb = make_onetrust_sandbox(size=40)
    target = min(sb.risks(), key=lambda r: r["lastModifiedUTCDateTime"])["id"]
    fault = {"on": True}

    def score_as_text(req, body):
        for r in body["content"]:
            if fault["on"] and r["id"] == target:
                r["riskScore"] = "high"
    _ot_rewrite(sb, RISKS_LIST, score_as_text)
    _ot_sync(duckdb_warehouse, sb, entities=("risks",))
    where = f"from onetrust.risks where risk_id = '{target}'"
    assert _rows(duckdb_warehouse, f"select count(*) {where}") == [(0,)]
    (reason,), = _rows(duckdb_warehouse, f"select reason from onetrust.quarantine where record_id = '{target}'")
    assert reason.startswith("risk_score: expected a number"), reason
    fault["on"] = False  # repaired at the vendor side (a proxy's fault), the risk itself unchanged
    sb.clear_request_log()
    _ot_sync(duckdb_warehouse, sb, entities=("risks",), reconcile=False)
    assert _rows(duckdb_warehouse, f"select count(*) {where}") == [(1,)], "loaded by the delta, read by id"
    assert len(_by_id(sb, target)) == 1
    sb.clear_request_log()
    _ot_sync(duckdb_warehouse, sb, entities=("risks",), reconcile=False)
    assert _by_id(sb, target) == [], "loaded: no longer due"


class _Stub:
    def __init__(self, answers: dict[str, object]):
        self.answers, self.asked = answers, []

    def request(self, method: str, path: str, **_):
        self.asked.append(path)
        answer = self.answers[path.rsplit("/", 1)[-1]]
        if isinstance(answer, int):
            raise VendorError(f"HTTP {answer}", answer)
        if isinstance(answer, Exception):
            raise answer
        return answer


def _vendor(rid: str, **change) -> dict:
    from pipelines.onetrust.rows import ROW_KEYS

    return {"data": {**dict.fromkeys(ROW_KEYS["vendors"]), "id": rid, "lastUpdatedDate": "2026-01-01T00:00:00Z",
                     **change}}


def test_read_by_id_is_bounded_and_a_404_is_only_a_hint(monkeypatch, caplog):
    ids = [f"0b5c8f8e-1111-4222-8333-94445555000{n}" for n in range(4)]
    stub = _Stub({ids[0]: _vendor(ids[0].upper()), ids[1]: 404, ids[2]: _vendor(ids[0]),
                  ids[3]: {"data": {"id": ids[3], "name": "x", "lastUpdatedDate": "2026-01-01T00:00:00Z"}}})
    got = RR.reread_by_id(stub, VENDORS, ids)
    assert [r["id"] for r in got.records] == [ids[0].upper()]  # an id in upper case is the same record
    # a 404 is a hint (the listing decides); another record's answer, or a summary lacking fields the row builder
    # reads: the listing covers them
    assert got.not_found == {ids[1]} and got.covered == {ids[0]}, got
    monkeypatch.setattr(RR, "REREAD_LIMIT", 2)
    stub.asked.clear()
    assert RR.reread_by_id(stub, VENDORS, ids) == RR.Reread() and stub.asked == []  # more than the bound: listing
    turns = [RR.reread_by_id(stub, VENDORS, ids, partial=True)]  # a filtered listing: the first keys, in turn
    turns.append(RR.reread_by_id(stub, VENDORS, ids, partial=True, after=turns[0].last))
    turns.append(RR.reread_by_id(stub, VENDORS, ids, partial=True, after=turns[1].last))
    assert [t.last for t in turns] == [ids[1], ids[3], ids[1]]
    assert [p.rsplit("/", 1)[-1] for p in stub.asked] == [ids[0], ids[1], ids[2], ids[3], ids[0], ids[1]]
    assert RR.reread_by_id(stub, RISKS, []) == RR.Reread()
    stub.answers[ids[0]] = 503
    stub.answers[ids[1]] = VendorError("HTTP 403 for Bearer s3cr3t-token", 403)
    caplog.set_level("WARNING", logger=RR.__name__)
    got = RR.reread_by_id(stub, VENDORS, ids[:2])  # a failure is no "gone", nor the end of the run: the listing decides
    assert got.failed == {ids[0], ids[1]} and got.covered == set() and got.records == [], got
    assert "s3cr3t" not in caplog.text and "failed" in caplog.text


def test_all_404_is_logged_once_and_failures_in_a_row_stop_the_reads(caplog):
    ids = [f"0b5c8f8e-1111-4222-8333-94445555100{n}" for n in range(6)]
    stub = _Stub(dict.fromkeys(ids, 404))
    caplog.set_level("WARNING", logger=RR.__name__)
    got = RR.reread_by_id(stub, VENDORS, ids)
    assert got.not_found == set(ids) and got.covered == set()
    assert [r.getMessage() for r in caplog.records if "404" in r.getMessage()].__len__() == 1, caplog.text
    stub = _Stub(dict.fromkeys(ids, 500))
    got = RR.reread_by_id(stub, VENDORS, ids)
    assert len(stub.asked) == RR.FAIL_LIMIT and got.covered == set(), stub.asked  # an outage: not 6 x retries
