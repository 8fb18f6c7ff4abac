"""OneTrust deltas must not depend on a sort OneTrust does not document.

The vendor reference documents no ``lastUpdated`` sort for assessments and no ``lastUpdatedDate`` sort
for the inventory (vendor-apis §3.3, §3.5). A delta that stops at the first row older than the cursor
on a listing the server did not sort that way silently misses every change below it until the nightly
full pass. So: assessments are listed in the documented ``createdDate,desc`` and read whole; vendors
stop early only when the page echoes ``lastUpdatedDate DESC`` in ``meta.page.sort`` and the rows read
so far really are newest first. The sandbox's ``ignore_sort`` plays a tenant that ignores the sort.
"""

from __future__ import annotations

import json
import logging

import duckdb
import pytest
import requests

from pipelines.common.http import RetryPolicy
from pipelines.onetrust import onetrust_source
from pipelines.onetrust import settings as S
from pipelines.onetrust.helpers import Page, parse_page
from pipelines.onetrust.sync import ChangeOrder
from sandbox.onetrust.fixtures import onetrust_token

FAST = RetryPolicy(backoff_base_seconds=0.01, backoff_max_seconds=0.05)
VENDORS = "/api/inventory/v2/inventories/vendors"
ASSESSMENTS = "/api/assessment/v2/assessments"
WARNING = "did not confirm sort=lastUpdatedDate,desc"


def _source(sb, **kwargs):
    kwargs.setdefault("policy", FAST)
    if "api_token" not in kwargs:
        kwargs.update(client_id=sb.client_id, client_secret=sb.client_secret)
    return onetrust_source(base_url=sb.url, verify=sb.ca_bundle or True, **kwargs)


def _run(pipeline, source) -> dict[str, int]:
    pipeline.run(source, loader_file_format="parquet")
    counts = pipeline.last_trace.last_normalize_info.row_counts
    return {t: n for t, n in counts.items() if not t.startswith("_dlt") and n}


def _stored(settings, table: str, key: str) -> dict[str, str]:
    with duckdb.connect(settings.duckdb_path, read_only=True) as con:
        return dict(con.execute(f"select {key}, updated_at from onetrust.{table}").fetchall())


def _update(sb, kind: str, rid: str) -> str:
    """Change one record now, as an edit in OneTrust would; returns its new last-modified stamp."""
    with sb.store.lock:
        rec = dict(sb.store.get(kind, rid))
        sb.store.save(kind, rec)
        return rec[sb.store.tables[kind].ts_field]


def _lists(sb, path: str) -> list[dict]:
    return [r for r in sb.request_log if r["path"] == path]


def _sort_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "sort=" in r.getMessage()]


def test_sort_ignored_a_delta_still_finds_old_records_changed_after_the_cursor(make_onetrust_sandbox,
                                                                             duckdb_warehouse, monkeypatch,
                                                                             caplog):
    """The oldest-created vendor at the end of the name order and the oldest-created assessments,
    edited after the cursor, sit on the last pages of what a sort-ignoring tenant serves: a delta that
    stopped at the first old row (page 0) never saw them."""
    monkeypatch.setattr(S, "ASSESSMENT_PAGE_SIZE", 20)  # several assessment pages, as a large tenant has
    sb = make_onetrust_sandbox(size=120, ignore_sort=True)
    pipeline = duckdb_warehouse.pipeline("onetrust")
    _run(pipeline, _source(sb))  # the nightly full pass: cursors at the newest stamps

    by_name = sorted(sb.vendors(), key=lambda v: v["name"])
    vendor = min(by_name[-20:], key=lambda v: v["createdDate"])  # last inventory page, oldest created
    assessment = min(sb.assessments(), key=lambda a: a["createDt"])
    vendor_assessment = min((a for a in sb.assessments() if a["_templateType"] == "VENDOR"),
                            key=lambda a: a["createDt"])
    stamps = {"vendors": {vendor["id"]: _update(sb, "vendors", vendor["id"])}}
    changed = {a["assessmentId"]: _update(sb, "assessments", a["assessmentId"]) for a in (assessment,
                                                                                           vendor_assessment)}
    stamps["assessments"] = changed
    stamps["vendor_assessments"] = {vendor_assessment["assessmentId"]: changed[vendor_assessment["assessmentId"]]}
    sb.clear_request_log()

    with caplog.at_level(logging.WARNING):
        moved = _run(pipeline, _source(sb, reconcile=False))
    assert {t: n for t, n in moved.items() if t in stamps} == {t: len(ids) for t, ids in stamps.items()}
    for table, ids in stamps.items():
        held = _stored(duckdb_warehouse, table, "vendor_id" if table == "vendors" else "assessment_id")
        for rid, stamp in ids.items():
            assert held[rid] == stamp, f"{table} {rid} reloaded"
    assert len(_lists(sb, VENDORS)) == 3, "no proven order: the whole inventory (120/50 pages) is read"
    listed = _lists(sb, ASSESSMENTS)
    assert all("sort=createdDate%2Cdesc" in r["query"] for r in listed), "only the documented sort is asked"
    exported = {r["path"].split("/")[-2] for r in sb.request_log if r["path"].endswith("/export")}
    assert exported == set(changed), "a whole list, but exports only for the changed rows"
    assert len(_sort_warnings(caplog)) == 1


def test_sort_honoured_the_vendor_delta_still_stops_at_the_cursor(make_onetrust_sandbox, duckdb_warehouse, caplog):
    sb = make_onetrust_sandbox(size=120)
    pipeline = duckdb_warehouse.pipeline("onetrust")
    _run(pipeline, _source(sb, entities=["vendors"]))
    touched = set(sb.touch("vendors", 2))
    sb.clear_request_log()
    with caplog.at_level(logging.WARNING):
        moved = _run(pipeline, _source(sb, entities=["vendors"], reconcile=False))
    assert moved == {"vendors": 2}
    assert set(_stored(duckdb_warehouse, "vendors", "vendor_id")) >= touched
    listed = _lists(sb, VENDORS)
    assert len(listed) == 1 and "sort=lastUpdatedDate%2Cdesc" in listed[0]["query"], "1 of 3 pages read"
    assert _sort_warnings(caplog) == []


def _reverse_rows(sb) -> None:
    """A server that echoes the sort it was asked for but serves its rows in another order."""
    def rewrite(req, resp):
        if req.path != VENDORS or resp.status != 200:
            return resp
        body = json.loads(resp.body)
        body["data"].reverse()
        resp.body = json.dumps(body).encode()
        return resp
    sb.rewrite_responses(rewrite)


def test_an_echo_the_rows_contradict_is_not_trusted(make_onetrust_sandbox, duckdb_warehouse, caplog):
    sb = make_onetrust_sandbox(size=120)
    pipeline = duckdb_warehouse.pipeline("onetrust")
    _run(pipeline, _source(sb, entities=["vendors"]))
    sb.touch("vendors", 1)
    _reverse_rows(sb)
    sb.clear_request_log()
    with caplog.at_level(logging.WARNING):
        assert _run(pipeline, _source(sb, entities=["vendors"], reconcile=False)) == {"vendors": 1}
    assert len(_lists(sb, VENDORS)) == 3
    (warning,) = _sort_warnings(caplog)
    assert "not newest first" in warning and "whole listing" in warning


@pytest.mark.parametrize("auth", ["token", "client"])
def test_the_sort_warning_comes_once_a_run_and_holds_no_secret(auth, make_onetrust_sandbox, duckdb_warehouse,
                                                               caplog):
    sb = make_onetrust_sandbox(size=120, ignore_sort=True)
    token = onetrust_token(sb)
    creds = {"api_token": token} if auth == "token" else {}
    pipeline = duckdb_warehouse.pipeline("onetrust")
    _run(pipeline, _source(sb, entities=["vendors"], **creds))
    sb.touch("vendors", 3)
    sb.clear_request_log()
    with caplog.at_level(logging.DEBUG):
        _run(pipeline, _source(sb, entities=["vendors"], reconcile=False, vendor_page_size=10, **creds))
    assert len(_lists(sb, VENDORS)) == 12
    (warning,) = _sort_warnings(caplog)
    assert WARNING in warning and "vendors" in warning and "name" in warning and "12 requests" in warning
    everything = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    for secret in (token, sb.client_secret):
        assert secret not in everything
    assert requests.utils.quote(sb.client_secret) not in everything


def test_only_a_matching_echo_and_falling_stamps_prove_the_order(caplog):
    def page(sort, *days, number=0):
        return Page([{"lastUpdatedDate": f"2026-01-{d:02d}T00:00:00Z"} for d in days], number, 3, 120, sort)
    desc = (("LastUpdatedDate", "desc"),)  # case does not matter
    with caplog.at_level(logging.WARNING):
        order = ChangeOrder(S.VENDORS, S.VENDOR_CHANGE_SORT)
        assert order.check(page(desc, 9, 9, 8)) and order.check(page(desc, 8, 7, number=1))
        assert not order.check(page(desc, 7, 9, number=2)), "a stamp rising on a later page"
        assert not order.check(page(desc, 3)), "once not proven, not proven for the pass"
        for echoed in (None, (), (("lastUpdatedDate", "ASC"),), (("name", "DESC"), ("lastUpdatedDate", "DESC")),
                       (("", ""),)):
            assert not ChangeOrder(S.VENDORS, S.VENDOR_CHANGE_SORT).check(page(echoed, 9, 8)), echoed
    assert len(_sort_warnings(caplog)) == 6, "one warning per pass that is not proven"
    inventory = {"data": [], "meta": {"page": {"number": 0, "sort": [{"direction": "DESC", "property": "x"}, 5]}}}
    assert parse_page(inventory, 0).sort == (("x", "DESC"), ("", ""))
    assert parse_page({"data": [], "meta": {"page": {"sort": "name"}}}, 0).sort is None
    assert parse_page({"content": [], "page": {"number": 0}}, 0).sort is None
    assert parse_page({"content": [], "number": 0, "sort": {"sorted": True}}, 0).sort is None
