"""Round 30: one OneTrust read listing a record more than once, its copies stamped in mixed ISO-8601 forms
(sandbox over HTTP -> dlt source -> DuckDB, and the rule itself).

The newest copy was picked by comparing ``updated_at`` as text, in the pass (``07.123+00:00`` read as
older than ``07Z``: ``.`` sorts before ``Z``) and in the load (dlt's ``dedup_sort`` on ``updated_at``: a
space sorts before ``T``, so ``2026-03-04T05:06:07Z`` beat ``2026-03-04 05:06:08``). Now the parsed
instant decides (:mod:`pipelines.onetrust.copies`); ties and unreadable stamps follow the stated rule.
"""

from __future__ import annotations

import itertools
import json

import pytest

from pipelines.onetrust.copies import instant_text
from tests.test_ingestion_hostile_more import VENDORS_LIST, _ot_rewrite, _ot_sync, _rows

ID = "0b5c8f8e-1111-4222-8333-944455556666"


def _vendor(stamp, **more):
    return {"id": ID, "name": "acme", "lastUpdatedDate": stamp, **more}


def test_instant_text_is_one_sortable_utc_form():
    assert instant_text("2026-03-04T05:06:07Z") == "2026-03-04T05:06:07.000000Z"
    assert instant_text("2026-03-04T05:06:07.123+00:00") == "2026-03-04T05:06:07.123000Z"
    assert instant_text("2026-03-04 05:06:07") == "2026-03-04T05:06:07.000000Z"
    assert instant_text("2026-03-04T07:06:07.5+02:00") == "2026-03-04T05:06:07.500000Z"
    assert instant_text("0999-06-01T00:00:00Z") < instant_text("2026-01-01T00:00:00Z")
    for bad in ("yesterday", "2026-02-30T00:00:00Z", "", None, 5, "9999-12-31T23:59:59-01:00"):
        assert instant_text(bad) is None, bad


@pytest.mark.parametrize("stamps", [
    ("2026-03-04T05:06:07Z", "2026-03-04T05:06:07.123+00:00"),  # '.' < 'Z': the text put .123 first
    ("2026-03-04T05:06:07Z", "2026-03-04 05:06:08"),  # ' ' < 'T': the text put 08 first
    ("2026-03-04T06:06:07+01:00", "2026-03-04T05:06:07.000001Z"),  # an offset: the text put +01:00 last
])
def test_in_one_page_the_later_instant_wins_in_any_order(stamps):
    from pipelines.onetrust.settings import VENDORS
    from pipelines.onetrust.sync import newest_copies

    older, newer = _vendor(stamps[0], name="older"), _vendor(stamps[1], name="newer")
    for page in itertools.permutations([older, newer]):
        kept, losers = newest_copies(VENDORS, list(page))
        assert kept == [newer] and losers == [], page


def test_equal_instants_in_one_page_keep_the_same_copy_in_any_order_and_hold_the_other():
    from pipelines.onetrust.settings import VENDORS
    from pipelines.onetrust.sync import newest_copies

    forms = ["2026-03-04T05:06:07Z", "2026-03-04T05:06:07.000+00:00", "2026-03-04 05:06:07"]
    # copies that differ only in how the instant is written: one is kept, none is held
    same = [_vendor(f) for f in forms]
    kept = {json.dumps(newest_copies(VENDORS, list(p))[0]) for p in itertools.permutations(same)}
    assert len(kept) == 1 and len(json.loads(kept.pop())) == 1
    assert all(newest_copies(VENDORS, list(p))[1] == [] for p in itertools.permutations(same))
    # other content at the same instant: the same copy wins whatever the order, the other is held with why
    a, b = _vendor(forms[0], name="alpha"), _vendor(forms[1], name="beta")
    outcomes = [newest_copies(VENDORS, list(p)) for p in itertools.permutations([a, b])]
    assert outcomes[0][0] == outcomes[1][0] and len(outcomes[0][0]) == 1
    (loser, reason, rid), = outcomes[0][1]
    assert loser is not outcomes[0][0][0] and rid == ID
    assert "listed twice in one read at the same instant with other content" in reason, reason


def test_an_unreadable_copy_beside_a_readable_one_is_held_with_its_reason_not_dropped():
    from pipelines.onetrust.settings import VENDORS
    from pipelines.onetrust.sync import newest_copies

    good, bad = _vendor("2026-03-04T05:06:07Z"), _vendor("2026-02-30T99:00:00Z", name="broken")
    for page in ([good, bad], [bad, good]):
        kept, losers = newest_copies(VENDORS, page)
        assert kept == [good]
        assert [(r is bad, rid) for r, _, rid in losers] == [(True, ID)]
        assert losers[0][1].startswith('lastUpdatedDate: not a timestamp (got "2026-02-30T99:00:00Z"); another copy')
    # only unreadable copies: left to validation (which quarantines each), none hidden
    assert newest_copies(VENDORS, [bad, {**bad, "name": "x"}])[0] == [bad, {**bad, "name": "x"}]


def _two_pages(sb, first: dict, second: dict, state: dict):
    """The oldest vendor's copy ``first`` on page 0, ``second`` appended to page 1 (a listing that moved)."""
    def moved(req, body):
        page = int(req.query.get("page", "0"))
        rows = body["data"]
        if page == 0 and rows:
            state.setdefault("id", rows[0]["id"])
            rows[0].update(first)
        elif page == 1 and "id" in state:
            rows.append({**json.loads(json.dumps(state["row"])), **second})
        if page == 0 and rows:
            state["row"] = rows[0]
    _ot_rewrite(sb, VENDORS_LIST, moved)


@pytest.mark.parametrize("older,newer", [
    ("2026-03-04T05:06:07Z", "2026-03-04T05:06:07.123+00:00"),  # the pass skipped the newer one
    ("2026-03-04T05:06:07Z", "2026-03-04 05:06:08"),  # both loaded, the load's dedup kept the older
])
def test_a_newer_copy_on_a_later_page_in_another_form_is_the_one_stored(older, newer, make_onetrust_sandbox,
                                                                         duckdb_warehouse):
    sb = make_onetrust_sandbox(size=30)
    state: dict = {}
    _two_pages(sb, {"lastUpdatedDate": older, "name": "older copy"}, {"lastUpdatedDate": newer, "name": "newer copy"},
               state)
    for _ in range(2):  # and the next run does not take the older one for the loaded version
        _ot_sync(duckdb_warehouse, sb, vendor_page_size=10)
        where = f"from onetrust.vendors where vendor_id = '{state['id']}'"
        got = _rows(duckdb_warehouse, f"select name, updated_at {where}")
        assert got == [("newer copy", newer)]
        assert _rows(duckdb_warehouse, f"select updated_at_utc {where}") == [(instant_text(newer),)]
    assert _rows(duckdb_warehouse, "select count(*) from onetrust.quarantine") in ([(0,)], [])


def test_a_tie_across_pages_keeps_the_copy_read_first_and_holds_the_other_once(make_onetrust_sandbox,
                                                                              duckdb_warehouse):
    sb = make_onetrust_sandbox(size=30)
    state: dict = {}
    _two_pages(sb, {"lastUpdatedDate": "2026-03-04T05:06:07Z", "name": "first copy"},
               {"lastUpdatedDate": "2026-03-04T05:06:07.000+00:00", "name": "other copy"}, state)
    for _ in range(2):
        _ot_sync(duckdb_warehouse, sb, vendor_page_size=10)
        assert _rows(duckdb_warehouse, f"select name from onetrust.vendors where vendor_id = '{state['id']}'") == [
            ("first copy",)]
    held = _rows(duckdb_warehouse, "select record_id, reason, record from onetrust.quarantine")
    assert len(held) == 1, held  # once, not again on the second run
    assert held[0][0] == state["id"] and "same instant with other content" in held[0][1]
    assert json.loads(held[0][2])["name"] == "other copy"


@pytest.mark.parametrize("broken", ["2026-02-30T00:00:00Z", "not a date"])
@pytest.mark.parametrize("same_page", [True, False])
def test_an_unreadable_copy_of_a_loaded_record_is_quarantined_once(broken, same_page, make_onetrust_sandbox,
                                                                  duckdb_warehouse):
    sb = make_onetrust_sandbox(size=30)
    state: dict = {}
    if same_page:
        def twice(req, body):
            rows = body["data"]
            if int(req.query.get("page", "0")) == 0 and rows:
                state["id"] = rows[0]["id"]
                rows.append({**rows[0], "lastUpdatedDate": broken, "name": "broken copy"})
        _ot_rewrite(sb, VENDORS_LIST, twice)
    else:
        _two_pages(sb, {}, {"lastUpdatedDate": broken, "name": "broken copy"}, state)
    for _ in range(2):
        _ot_sync(duckdb_warehouse, sb, vendor_page_size=10)
    stored = _rows(duckdb_warehouse, f"select name from onetrust.vendors where vendor_id = '{state['id']}'")
    assert stored and stored[0][0] != "broken copy"
    held = _rows(duckdb_warehouse, "select record_id, reason from onetrust.quarantine")
    assert [r[0] for r in held] == [state["id"]], held
    assert "not a timestamp" in held[0][1] or "lastUpdatedDate" in held[0][1], held


def test_a_warehouse_loaded_with_the_old_dedup_sort_on_updated_at_takes_the_new_column(make_onetrust_sandbox,
                                                                                       duckdb_warehouse):
    """Tables loaded before this round carry ``dedup_sort`` on ``updated_at``; dlt allows one such column a
    table, so the new ``updated_at_utc`` hint failed every load ("multiple dedup_sort column hints") unless
    the old one is taken off."""
    import dlt
    from dlt.common.schema.utils import get_dedup_sort_tuple

    sb = make_onetrust_sandbox(size=10)
    pipeline = duckdb_warehouse.pipeline("onetrust")

    @dlt.source(name="onetrust", max_table_nesting=0)
    def before():  # the source as it loaded before: dedup_sort on updated_at
        return dlt.resource([{"vendor_id": "00000000-0000-4000-8000-000000000000",
                              "updated_at": "2001-01-01T00:00:00Z"}], name="vendors", primary_key="vendor_id",
                            write_disposition="merge", columns={"updated_at": {"data_type": "text",
                                                                               "dedup_sort": "desc"}})
    pipeline.run(before(), loader_file_format="parquet")
    assert get_dedup_sort_tuple(pipeline.schemas["onetrust"].tables["vendors"]) == ("updated_at", "desc")
    _ot_sync(duckdb_warehouse, sb, vendor_page_size=10)
    schema = duckdb_warehouse.pipeline("onetrust").schemas["onetrust"]
    assert get_dedup_sort_tuple(schema.tables["vendors"]) == ("updated_at_utc", "desc")
    stored = dict(_rows(duckdb_warehouse, "select vendor_id, updated_at from onetrust.vendors"))
    assert {k: v for k, v in stored.items() if not k.startswith("00000000")} == {
        v["id"]: v["lastUpdatedDate"] for v in sb.vendors() if not v.get("markForDelete")}
