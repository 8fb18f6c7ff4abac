"""Round 27 review: of rows a ServiceNow page serves out of sys_id order, none is lost. A row out of order below
the page's in-order run was left for "its place", which the read had already passed (a swapped pair: the
first of them never loaded); one above it on the range's last page was left for a page never asked for."""

from __future__ import annotations

import pytest

from pipelines.servicenow.keyset import KeysetRange
from tests.test_ingestion_hostile_more import _stored, _sync, _vendor, on_list


def _rows(ids: str) -> list[dict]:
    return [{"sys_id": c * 32, "sys_updated_on": "2026-01-01 00:00:00"} for c in ids]


def _read(pages: list[str], totals: list[int | None], page_size: int) -> tuple[list[str], list[bool]]:
    part, loaded, more = KeysetRange("", None, None), [], []
    for ids, total in zip(pages, totals, strict=True):
        rows = _rows(ids)
        loaded += [r["sys_id"][0] for r in part.fresh(rows)]
        more.append(part.advance(rows, total, page_size))
    return loaded, more


def test_a_swapped_pair_loads_both():
    loaded, more = _read(["1324"], [None], 4)
    assert sorted(loaded) == ["1", "2", "3", "4"] and more == [True]


def test_a_row_ahead_of_its_place_on_the_last_page_is_read_in_its_place():
    loaded, more = _read(["afbc", "f"], [4, 1], 5)  # the count said the first page was the last
    assert loaded == ["a", "b", "c", "f"] and more == [True, False]


@pytest.mark.parametrize("concurrency", [1, 4])
def test_pages_with_swapped_rows_lose_nothing(concurrency, make_servicenow_sandbox, duckdb_warehouse):
    sb = make_servicenow_sandbox(size=50)
    served = {"pages": 0}

    def swap(req, resp, body):
        rows = body["result"]
        served["pages"] += 1
        if len(rows) > 3:
            rows[1], rows[2] = rows[2], rows[1]
    on_list(sb, swap)
    _sync(duckdb_warehouse, sb, concurrency=concurrency)
    assert served["pages"] >= 1
    assert _stored(duckdb_warehouse) == _vendor(sb)
