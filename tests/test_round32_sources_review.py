"""Round 32, review of the hostile-source fixes: what they must still let through.

- ServiceNow's 9-digit integer check (staging's INTEGER) had covered ``size_bytes`` too, which staging reads as
  BIGINT: every attachment over 954 MiB (ServiceNow's default largest is 1 GiB) was quarantined.
- Jira's ``startAt`` loop guard raised on the first page holding only items already listed, which is also what a
  listing that grows while it is read answers (a project created mid-read moves the last one onto the next page):
  the read failed. Two such pages in a row are a loop; one is read on, without giving its items twice."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.jira.helpers import JiraClient, RepeatedPage


def test_an_attachment_of_several_gigabytes_is_no_quarantine_but_counts_stay_at_nine_digits():
    from pipelines.common.validation import validate_page
    from pipelines.servicenow.schemas import ATTACHMENT_SPEC, table_schema

    base = {f: None for f in ATTACHMENT_SPEC.fields} | {"sys_updated_on": "2026-01-01 00:00:00"}
    sizes = ["1073741824", "3221225472", "123456789012345678", "1234567890123456789", "12x"]
    rows = [base | {"sys_id": c * 32, "size_bytes": size} for c, size in zip("abcde", sizes, strict=True)]
    check = validate_page(rows, table_schema("sys_attachment"), ATTACHMENT_SPEC.fields)
    assert check.valid["size_bytes"].to_list() == sizes[:3]
    assert sorted(r["size_bytes"] for r, _ in check.rejected) == sorted(sizes[3:])
    mods = [base | {"sys_id": "f" * 32, "size_bytes": "10", "sys_mod_count": "1234567890"}]
    assert len(validate_page(mods, table_schema("sys_attachment"), ATTACHMENT_SPEC.fields).rejected) == 1


class _Listing(JiraClient):
    """A ``startAt`` list answered from ``pages`` (one answer per call), counting the calls."""

    def __init__(self, pages: list[dict[str, Any]]):
        self.pages, self.calls = pages, []

    def get(self, path: str, **params: Any) -> Any:
        self.calls.append(params["startAt"])
        return self.pages[min(len(self.calls), len(self.pages)) - 1]


def _projects(keys: list[str]) -> list[dict[str, Any]]:
    return [{"id": str(10000 + i), "key": k} for i, k in enumerate(keys)]


def test_a_listing_that_grows_while_it_is_read_is_read_to_its_end_without_twins():
    first = _projects([f"P{i:03d}" for i in range(50)])
    second = _projects([f"P{i:03d}" for i in range(50, 100)])
    # a project sorting first was created while page two was read (its total counts it, its items do not yet):
    # page three is the old last item alone, already listed
    client = _Listing([{"values": first, "total": 100}, {"values": second, "total": 101},
                       {"values": [second[-1]], "total": 101}, {"values": [second[-1]], "total": 101}])
    got = [v["key"] for page in client.paged_values("/project/search") for v in page]
    assert got == [p["key"] for p in first + second]  # none twice, none lost
    assert client.calls == [0, 50, 100]


def test_two_pages_in_a_row_of_known_items_are_still_a_loop():
    a, b = _projects(["A1", "A2"]), _projects(["B1", "B2"])
    client = _Listing([{"values": a}, {"values": b}, {"values": a}, {"values": b}, {"values": a}])
    with pytest.raises(RepeatedPage, match="startAt"):
        for _ in client.paged_values("/project/search", page_size=2):
            pass
    assert len(client.calls) == 4
