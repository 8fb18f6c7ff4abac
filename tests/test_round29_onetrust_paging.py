"""Round 29: OneTrust listings that lie about themselves (sandbox over HTTP -> dlt source -> DuckDB).

- ``totalPages``/``totalElements`` lying low (a full first page announced as the only one): the read ended
  there and the full pass then recorded every vendor of the pages it never asked for as *deleted*;
- a gateway looping back (page 2 answered with page 0's records): not the page just before, so the
  repeat check let it through, its own records were missed and, again, recorded as deleted; with a
  ``totalPages`` lying high the same loop read page 0 and 1 until the count ran out;
- the same record on two pages of one read, the newer copy on the later page (a listing that moved, its
  id in another case): both went into one load and the merge kept the first, the stale one, for good
  (its version was remembered as loaded);
- 429 with ``Retry-After`` as seconds and as an HTTP-date: waited out, nothing lost.

Rule: a listing that cannot be read whole stops with an error naming it (or reads on), never ends early
in silence, and never turns records it did not read into deletes.
"""

from __future__ import annotations

import json
import time
from email.utils import formatdate

import pytest

from sandbox.core.http import Response
from tests.test_ingestion_hostile_more import RISKS_LIST, VENDORS_LIST, _ot_rewrite, _ot_stored, _ot_sync, _rows


def _deleted(settings, entity: str) -> set[str]:
    return {r[0] for r in _rows(settings, f"select record_id from onetrust.deletions where entity = '{entity}'")}


def _live(sb) -> dict[str, str]:
    return {v["id"]: v["lastUpdatedDate"] for v in sb.vendors() if not v.get("markForDelete")}


def _page(req) -> int:
    return int(req.query.get("page", "0"))


@pytest.mark.parametrize("lie", [{"totalPages": 1, "totalElements": 10}, {"totalPages": 0, "totalElements": 0}])
def test_counts_lying_low_neither_end_the_read_nor_invent_deletes(lie, make_onetrust_sandbox, duckdb_warehouse):
    sb = make_onetrust_sandbox(size=30)
    _ot_sync(duckdb_warehouse, sb, vendor_page_size=10)
    sb.touch("vendors", n=3)
    _ot_rewrite(sb, VENDORS_LIST, lambda req, body: body["meta"]["page"].update(lie))
    _ot_sync(duckdb_warehouse, sb, vendor_page_size=10)
    assert _deleted(duckdb_warehouse, "vendors") == set()
    assert _ot_stored(duckdb_warehouse, "vendors", "vendor_id") == _live(sb)


def test_risk_grid_counting_one_page_too_few_loses_nothing(make_onetrust_sandbox, duckdb_warehouse):
    sb = make_onetrust_sandbox(size=200)  # two full pages of 100

    def short(req, body):
        body.update(totalPages=1, totalElements=100, last=True)
    _ot_rewrite(sb, RISKS_LIST, short)
    _ot_sync(duckdb_warehouse, sb, ["risks"])
    assert _ot_stored(duckdb_warehouse, "risks", "risk_id") == {r["id"]: r["lastModifiedUTCDateTime"]
                                                                 for r in sb.risks()}


@pytest.mark.parametrize("total_pages", [None, 10_000])
def test_a_listing_looping_back_to_page_0_stops_and_records_no_delete(total_pages, make_onetrust_sandbox,
                                                                       duckdb_warehouse):
    sb = make_onetrust_sandbox(size=30)
    _ot_sync(duckdb_warehouse, sb, vendor_page_size=10)
    served: dict[int, list] = {}
    asked = []

    def loop(req, body):
        number = _page(req)
        asked.append(number)
        served.setdefault(number, json.loads(json.dumps(body["data"])))
        if number >= 2:  # page 2, 3, ... answered with page 0, 1, 0, 1 ...
            body["data"] = json.loads(json.dumps(served[number % 2]))
        if total_pages:
            body["meta"]["page"]["totalPages"] = total_pages
    _ot_rewrite(sb, VENDORS_LIST, loop)
    started = time.monotonic()
    with pytest.raises(Exception, match="only records of earlier pages"):
        _ot_sync(duckdb_warehouse, sb, vendor_page_size=10)
    assert time.monotonic() - started < 20 and max(asked) == 2, asked
    assert _deleted(duckdb_warehouse, "vendors") == set()
    sb.rewrite_responses(None)  # served right again: the next run reads it whole
    _ot_sync(duckdb_warehouse, sb, vendor_page_size=10)
    assert _deleted(duckdb_warehouse, "vendors") == set()
    assert _ot_stored(duckdb_warehouse, "vendors", "vendor_id") == _live(sb)


@pytest.mark.parametrize("upper", [False, True])
def test_a_record_listed_again_later_in_the_read_with_a_newer_copy_keeps_the_newer(upper, make_onetrust_sandbox,
                                                                                     duckdb_warehouse):
    sb = make_onetrust_sandbox(size=30)
    first: dict = {}

    def moved(req, body):
        rows = body["data"]
        if _page(req) == 0:
            rows[0].update(lastUpdatedDate="2001-01-01T00:00:00.000Z", name="stale copy")
            first.update(json.loads(json.dumps(rows[0])))
        elif _page(req) == 1:
            rows.append({**first, "id": first["id"].upper() if upper else first["id"],
                         "lastUpdatedDate": "2002-01-01T00:00:00.000Z", "name": "newer copy"})
    _ot_rewrite(sb, VENDORS_LIST, moved)
    for _ in range(2):  # and the next run does not take the stale row for the loaded version
        _ot_sync(duckdb_warehouse, sb, vendor_page_size=10)
        got = _rows(duckdb_warehouse, "select name, updated_at from onetrust.vendors "
                                      f"where vendor_id = '{first['id']}'")
        assert got == [("newer copy", "2002-01-01T00:00:00.000Z")]
    assert _deleted(duckdb_warehouse, "vendors") == set()


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_rate_limited_mid_read_with_either_retry_after_form_is_waited_out(form, make_onetrust_sandbox,
                                                                         duckdb_warehouse):
    sb = make_onetrust_sandbox(size=30)
    limited = []

    def throttle(req, resp):
        if req.path == VENDORS_LIST and _page(req) == 1 and not limited:
            limited.append(time.monotonic())
            wait = "1" if form == "seconds" else formatdate(time.time() + 2, usegmt=True)
            return Response(429, b'{"message":"Too Many Requests"}', "application/json",
                            [("Retry-After", wait), ("ot-period", "MINUTE")])
        if req.path == VENDORS_LIST and _page(req) == 1:
            limited.append(time.monotonic())
        return resp
    sb.rewrite_responses(throttle)
    _ot_sync(duckdb_warehouse, sb, vendor_page_size=10)
    assert len(limited) == 2 and limited[1] - limited[0] >= 0.9, limited
    assert _ot_stored(duckdb_warehouse, "vendors", "vendor_id") == _live(sb)
