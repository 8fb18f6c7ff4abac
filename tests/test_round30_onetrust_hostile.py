"""Round 30: a hostile OneTrust front (sandbox over HTTP -> dlt source -> DuckDB) where earlier rounds left gaps.

- a listing that loops for ever in a *delta* (page n answered with the records of page n - 2, numbered right,
  no ``totalPages``): the loop check ran only on full passes, and each page differed from the one before,
  so a changes-only read paged on without end;
- a list endpoint or an assessment export answering 200 with an HTML page (a proxy's login, a maintenance
  page): the run stops naming what came back and the setting, and records no delete.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from sandbox.core.http import Response
from tests.test_ingestion_hostile_more import VENDORS_LIST, _ot_rewrite, _ot_sync, _rows

PAGE_CAP_SECONDS = 60  # the loop below must stop well inside this


def _deleted(settings) -> list:
    return _rows(settings, "select record_id from onetrust.deletions")


def test_a_delta_listing_looping_for_ever_stops_with_an_error(make_onetrust_sandbox, duckdb_warehouse):
    """Vendors (50 a page at most, read newest change first): risks share the pager but ask 100 a page."""
    entity, path = "vendors", VENDORS_LIST
    sb = make_onetrust_sandbox(size=40)
    _ot_sync(duckdb_warehouse, sb, [entity], vendor_page_size=10)  # a full pass first
    sb.touch(entity, n=40)  # every record changed: the delta has pages to read
    seen: dict[int, list] = {}
    asked = {"pages": 0}

    def loop(req, body):
        page = int(req.query.get("page", "0"))
        asked["pages"] += 1
        key = "data" if "data" in body else "content"
        info = body["meta"]["page"] if key == "data" else body
        if page < 2:
            seen[page] = body[key]
        else:  # the gateway loops: page n is page n - 2 again, counts withheld, the number echoed right
            body[key] = json.loads(json.dumps(seen[page % 2]))
        for k in ("totalPages", "totalElements", "last"):
            info.pop(k, None)
        info["number"] = page
    _ot_rewrite(sb, path, loop)
    outcome: dict = {}

    def run():
        try:
            _ot_sync(duckdb_warehouse, sb, [entity], vendor_page_size=10, reconcile=False)
        except Exception as exc:  # the outcome is asserted below
            outcome["error"] = exc
        outcome["done"] = True
    worker = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(PAGE_CAP_SECONDS)
    assert outcome.get("done"), f"the read was still paging after {asked['pages']} pages"
    assert time.monotonic() - started < PAGE_CAP_SECONDS
    assert "error" in outcome and "only records of earlier pages" in str(outcome["error"]), outcome
    assert asked["pages"] < 100, asked
    assert _deleted(duckdb_warehouse) == []


HTML = b"<html><body><form action=/login>Sign in to the corporate proxy</form></body></html>"


@pytest.mark.parametrize("where", ["vendors", "export"])
def test_html_with_status_200_stops_the_run_naming_it_and_records_no_delete(where, make_onetrust_sandbox,
                                                                          duckdb_warehouse):
    sb = make_onetrust_sandbox(size=20)
    entities = ["vendors"] if where == "vendors" else ["assessments"]
    _ot_sync(duckdb_warehouse, sb, entities, vendor_page_size=10)
    before = _rows(duckdb_warehouse, f"select count(*) from onetrust.{entities[0]}")
    if where == "export":
        sb.touch("assessments", n=3)

    def html(req, resp):
        hit = req.path == VENDORS_LIST if where == "vendors" else req.path.endswith("/export")
        return Response(200, HTML, content_type="text/html") if hit else resp
    sb.rewrite_responses(html)
    with pytest.raises(Exception) as failed:
        _ot_sync(duckdb_warehouse, sb, entities, vendor_page_size=10)
    message = str(failed.value)
    assert "not JSON" in message and "text/html" in message and "Sign in to the corporate proxy" in message, message
    assert "ONETRUST_BASE_URL" in message or "ONETRUST_REGION" in message, message
    assert _deleted(duckdb_warehouse) == []
    assert _rows(duckdb_warehouse, f"select count(*) from onetrust.{entities[0]}") == before
    sb.rewrite_responses(None)  # served right again: the next run loads as before
    _ot_sync(duckdb_warehouse, sb, entities, vendor_page_size=10)
    assert _deleted(duckdb_warehouse) == []
