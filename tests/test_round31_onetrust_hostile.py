"""Round 31: hostile OneTrust listings not covered by rounds 29-30 (sandbox over HTTP -> dlt source -> DuckDB).

- 5xx on a later page, run after run: each run stops in bounded time, none advances the cursor past the records
  it never read, so the first run after the fault loads every change (a crash loop loses nothing);
- ``totalPages`` lying high for good: the read stops with an error naming it after a bounded number of
  requests, records no delete and moves no cursor;
- the ``last`` flag lying (``true`` on every page, ``false`` on the last one): paging follows the counts and
  the records, so nothing is cut off, nothing read for ever;
- one UUID used by a vendor and by a risk, and an id sent as a number: each entity keeps its own record and
  deletes; the number is quarantined, not taken for the string id.
(429 with ``Retry-After`` in seconds or as an HTTP-date, counts lying low and loops: round 29.)
"""

from __future__ import annotations

import time

import pytest

from sandbox.core.http import Response
from tests.test_ingestion_hostile_more import RISKS_LIST, VENDORS_LIST, _ot_rewrite, _ot_stored, _ot_sync, _rows
from tests.test_round29_onetrust_paging import _deleted, _live, _page


def test_5xx_on_a_later_page_run_after_run_never_moves_the_cursor_past_it(make_onetrust_sandbox, duckdb_warehouse):
    sb = make_onetrust_sandbox(size=120)
    _ot_sync(duckdb_warehouse, sb)  # the full pass: the cursor at the newest stamp
    touched = set(sb.touch("vendors", 60))  # newest first: 50 on page 0, 10 on page 1
    failing = {"on": True, "served": 0}

    def broken(req, resp):
        # every read of the second page's records fails, however it is asked (round 34 narrows a failing page into
        # smaller ones: keyed on the page number alone, the narrowed reads of the same records had been served)
        size = int(req.query.get("size", "50"))
        start = _page(req) * size
        if req.path == VENDORS_LIST and start < 100 and start + size > 50 and failing["on"]:
            failing["served"] += 1
            return Response(503, b'{"message":"upstream down"}', "application/json", [])
        return resp
    sb.rewrite_responses(broken)
    served = []
    for _ in range(3):  # a scheduler retrying a crashing run
        started = time.monotonic()
        with pytest.raises(Exception, match="503"):
            _ot_sync(duckdb_warehouse, sb, reconcile=False)
        assert time.monotonic() - started < 30
        served.append(failing["served"] - sum(served))
    # 3 attempts of the page (FAST), then one attempt each narrowed read until three records fail in a row: the
    # run stops, bounded, the same every run
    assert len(set(served)) == 1 and 3 < served[0] <= 12, served
    failing["on"] = False
    _ot_sync(duckdb_warehouse, sb, reconcile=False)
    live = _live(sb)
    stored = _ot_stored(duckdb_warehouse, "vendors", "vendor_id")
    assert {rid: stored.get(rid) for rid in touched} == {rid: live[rid] for rid in touched}, "page 1's changes lost"
    assert _deleted(duckdb_warehouse, "vendors") == set()


def test_total_pages_lying_high_for_good_stops_bounded_with_no_delete_and_no_cursor_move(make_onetrust_sandbox,
                                                                                       duckdb_warehouse):
    sb = make_onetrust_sandbox(size=30)
    _ot_sync(duckdb_warehouse, sb, vendor_page_size=10)
    touched = set(sb.touch("vendors", 3))
    lying = {"on": True}
    _ot_rewrite(sb, VENDORS_LIST, lambda req, body: lying["on"] and body["meta"]["page"].update(
        totalPages=10_000, totalElements=100_000, last=False))
    sb.clear_request_log()
    with pytest.raises(Exception, match="came back empty while totalPages said 10000"):
        _ot_sync(duckdb_warehouse, sb, vendor_page_size=10)
    assert len([r for r in sb.request_log if r["path"] == VENDORS_LIST]) < 40  # not 10,000 requests
    assert _deleted(duckdb_warehouse, "vendors") == set()
    lying["on"] = False
    _ot_sync(duckdb_warehouse, sb, vendor_page_size=10, reconcile=False)  # a delta: the changes are still ahead
    stored, live = _ot_stored(duckdb_warehouse, "vendors", "vendor_id"), _live(sb)
    assert {rid: stored[rid] for rid in touched} == {rid: live[rid] for rid in touched}


@pytest.mark.parametrize("reconcile", [True, False])
def test_a_lying_last_flag_neither_cuts_the_read_nor_pages_for_ever(reconcile, make_onetrust_sandbox,
                                                                    duckdb_warehouse):
    sb = make_onetrust_sandbox(size=30)
    _ot_sync(duckdb_warehouse, sb, vendor_page_size=10)
    sb.touch("vendors", 30)

    def lie(req, body):
        body["meta"]["page"].update(last=True, first=True)  # every page "the last"
        if not body["data"]:
            body["meta"]["page"].update(last=False)  # ... and the empty answer after the end "not"
    _ot_rewrite(sb, VENDORS_LIST, lie)
    sb.clear_request_log()
    _ot_sync(duckdb_warehouse, sb, vendor_page_size=10, reconcile=reconcile)
    assert _ot_stored(duckdb_warehouse, "vendors", "vendor_id") == _live(sb)
    assert len([r for r in sb.request_log if r["path"] == VENDORS_LIST]) <= 4  # 3 pages (+1 empty on a full pass)
    assert _deleted(duckdb_warehouse, "vendors") == set()


def test_a_risk_grid_saying_last_on_its_first_page_is_read_whole(make_onetrust_sandbox, duckdb_warehouse):
    sb = make_onetrust_sandbox(size=200)  # two full pages of 100
    _ot_rewrite(sb, RISKS_LIST, lambda req, body: body.update(last=True, first=True))
    _ot_sync(duckdb_warehouse, sb, ["risks"])
    assert _ot_stored(duckdb_warehouse, "risks", "risk_id") == {r["id"]: r["lastModifiedUTCDateTime"]
                                                                 for r in sb.risks()}


def test_one_uuid_used_by_a_vendor_and_a_risk_and_an_id_sent_as_a_number(make_onetrust_sandbox, duckdb_warehouse):
    sb = make_onetrust_sandbox(size=30)
    vendor = sb.vendors()[0]["id"]
    risk = sb.risks()[0]["id"]

    def reuse(req, body):  # the risk listed under the vendor's id
        for r in body["content"]:
            if r["id"] == risk:
                r["id"] = vendor
    _ot_rewrite(sb, RISKS_LIST, reuse)
    _ot_sync(duckdb_warehouse, sb, ["vendors", "risks"])
    assert _rows(duckdb_warehouse, f"select count(*) from onetrust.vendors where vendor_id = '{vendor}'") == [(1,)]
    assert _rows(duckdb_warehouse, f"select count(*) from onetrust.risks where risk_id = '{vendor}'") == [(1,)]
    sb.delete("vendors", vendor)  # the vendor goes: the risk holding the same id stays live
    other = sb.vendors()[1]["id"]

    def as_number(req, body):  # another vendor's id sent as a number this run
        for r in body["data"]:
            if r["id"] == other:
                r["id"] = 12345
    _ot_rewrite(sb, VENDORS_LIST, as_number)
    _ot_sync(duckdb_warehouse, sb, ["vendors", "risks"])
    deleted = _rows(duckdb_warehouse, "select entity, record_id from onetrust.deletions")
    assert ("vendors", vendor) in deleted and ("risks", vendor) not in deleted, deleted
    assert ("vendors", other) not in deleted, "an id sent as a number proves no delete (checked by id)"
    assert _rows(duckdb_warehouse, f"select count(*) from onetrust.vendors where vendor_id = '{other}'") == [(1,)]
    assert _rows(duckdb_warehouse, "select count(*) from onetrust.vendors where vendor_id = '12345'") == [(0,)]
    assert _rows(duckdb_warehouse, f"select count(*) from onetrust.risks where risk_id = '{vendor}'") == [(1,)]
