"""Round 29: OneTrust instants that are valid ISO-8601 but odd — a year before 1000, offsets, 1 to 9 fractional
digits, ``Z`` against ``+00:00`` — through the incremental pass (sandbox over HTTP -> dlt source -> DuckDB).

The pass compared update times as text after ``strftime("%Y-%m-%d %H:%M:%S")``, which writes year 999 as
``999``: ``999-06-01`` sorted after ``2026-…``. So a record stamped in year 999

- read as the newest of all: the cursor went to our own clock (its clamp for the future) instead of the
  vendor's last change, and the older copy of a record listed twice won over a copy from this decade;
- in the deleted-assessment log, crashed every assessments run (``'999-06-01 00:00:00'`` is no ISO text);
- and a window re-read starting before year 1000 asked the risk grid for ``999-…`` (a 400) and found nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tests.test_ingestion_hostile_more import RISKS_LIST, VENDORS_LIST, _ot_rewrite, _ot_stored, _ot_sync, _rows

DELETE_LOG = "/api/assessment/v2/assessments/activities/types/assessmentdelete"
ODD = {  # raw stamp -> the same instant in the cursor's UTC text
    "0999-06-01T00:00:00Z": "0999-06-01 00:00:00",
    "0001-01-01T00:00:00.123456789Z": "0001-01-01 00:00:00",
    "2026-01-01T05:30:00.1+05:30": "2026-01-01 00:00:00",
    "2026-01-01T00:00:00+00:00": "2026-01-01 00:00:00",
    "2025-12-31T19:00:00.123456789-05:00": "2026-01-01 00:00:00",
}


def test_odd_instants_normalise_to_one_sortable_text():
    from pipelines.onetrust.sync import normalise

    for raw, want in ODD.items():
        assert normalise(raw) == want, raw
    assert sorted(ODD, key=normalise)[:2] == ["0001-01-01T00:00:00.123456789Z", "0999-06-01T00:00:00Z"]


def _cursor(settings, resource: str) -> str:
    state = settings.pipeline("onetrust").state["sources"]["onetrust"]["resources"][resource]
    return state["last_value"]


def test_a_risk_stamped_in_year_999_neither_moves_the_cursor_nor_hides(make_onetrust_sandbox, duckdb_warehouse):
    sb = make_onetrust_sandbox(size=12, anchor="2026-03-01T00:00:00Z")
    risks = sorted(sb.risks(), key=lambda r: r["id"])
    old, twice = risks[0]["id"], risks[1]["id"]
    newest = max(r["lastModifiedUTCDateTime"] for r in risks[2:])

    def odd(req, body):
        rows = body.get("content") or []
        for row in list(rows):
            if row["id"] == old:
                row["lastModifiedUTCDateTime"] = "0999-06-01T00:00:00Z"
            if row["id"] == twice:  # listed twice: a stale copy of year 999 after the real one
                stale = json.loads(json.dumps(row))
                stale.update(lastModifiedUTCDateTime="0999-06-01T00:00:00.000Z", name="stale copy")
                rows.append(stale)
    _ot_rewrite(sb, RISKS_LIST, odd)
    _ot_sync(duckdb_warehouse, sb, ["risks"])
    stored = _ot_stored(duckdb_warehouse, "risks", "risk_id")
    assert stored[old] == "0999-06-01T00:00:00Z"
    assert stored[twice] == risks[1]["lastModifiedUTCDateTime"]
    assert _rows(duckdb_warehouse, f"select name from onetrust.risks where risk_id = '{twice}'") != [("stale copy",)]
    # the vendor's newest change, not our clock (the year-999 stamp read as the newest of all)
    assert _cursor(duckdb_warehouse, "risks") == newest[:19].replace("T", " ")


def test_a_delete_logged_in_year_999_is_no_crash_loop_and_an_offset_one_is_recorded(make_onetrust_sandbox,
                                                                                    duckdb_warehouse):
    sb = make_onetrust_sandbox(size=8)
    gone = sorted(a["assessmentId"] for a in sb.assessments())[:2]
    sb.delete("assessments", gone)
    stamps = {gone[0]: "0999-06-01T00:00:00Z", gone[1]: "2026-01-01T05:30:00.123456789+05:30"}

    def odd(req, body):
        for entry in body.get("content") or []:
            entry["deletedDT"] = stamps.get(entry["assessmentId"], entry["deletedDT"])
    _ot_rewrite(sb, DELETE_LOG, odd)
    for _ in range(2):  # and again: each delete is recorded once
        _ot_sync(duckdb_warehouse, sb, ["assessments"])
    rows = _rows(duckdb_warehouse, "select record_id, deleted_at from onetrust.deletions where entity = 'assessments'")
    # the year-999 entry is older than where the log's cursor starts (1970): as any entry read before, skipped
    assert [(rid, at.astimezone(UTC)) for rid, at in rows] == [(gone[1], datetime(2026, 1, 1, tzinfo=UTC))], rows


def test_newest_first_vendors_ending_in_year_999_stay_proven_in_order(make_onetrust_sandbox, duckdb_warehouse, caplog):
    """Served newest change first, the oldest last in year 999: that is the order asked for, and the delta
    stops at the cursor; the year-999 stamp read as newer than the rest, so the order counted as broken."""
    sb = make_onetrust_sandbox(size=30)
    _ot_sync(duckdb_warehouse, sb, ["vendors"], vendor_page_size=10)  # full pass first
    last = {}

    def oldest_last(req, body):
        rows = body["data"]
        if rows and req.query.get("sort", "").startswith("lastUpdatedDate"):
            if "page=0" in req.raw_query:
                last["id"] = rows[-1]["id"]
            if rows[-1]["id"] == last.get("id") or body["meta"]["page"]["last"]:
                rows[-1]["lastUpdatedDate"] = "0999-06-01T00:00:00Z"
    _ot_rewrite(sb, VENDORS_LIST, oldest_last)
    sb.touch("vendors", n=2)
    caplog.set_level("WARNING", logger="pipelines.onetrust")
    _ot_sync(duckdb_warehouse, sb, ["vendors"], vendor_page_size=10, reconcile=False)
    assert "not newest first" not in caplog.text, caplog.text


def test_a_window_from_before_year_1000_rereads_everything_in_it(make_onetrust_sandbox, duckdb_warehouse):
    from pipelines.onetrust import onetrust_source

    sb = make_onetrust_sandbox(size=10)
    creds = sb.credentials
    from tests.test_ingestion_hostile_more import FAST
    window = (datetime(500, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    source = onetrust_source(base_url=sb.url, client_id=creds["client_id"], client_secret=creds["client_secret"],
                             entities=["risks", "vendors"], policy=FAST, window=window)
    duckdb_warehouse.pipeline("onetrust").run(source, loader_file_format="parquet")
    assert set(_ot_stored(duckdb_warehouse, "risks", "risk_id")) == {r["id"] for r in sb.risks()}
    assert set(_ot_stored(duckdb_warehouse, "vendors", "vendor_id")) == {
        v["id"] for v in sb.vendors() if not v.get("markForDelete")}
