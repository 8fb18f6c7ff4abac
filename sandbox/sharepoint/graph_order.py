"""``$orderby`` on Graph list items (custom lists and libraries' lists), for ``graph_lists.py`` and ``sites.py``.

- ``$orderby=fields/{Column}[ asc|desc]`` and the item's own ``createdDateTime``, ``lastModifiedDateTime``
  [unc: which item properties Graph orders by], several joined by commas. A column that is not indexed
  needs ``Prefer: HonorNonIndexedQueriesWarningMayFailRandomly``, else 400 with the text Graph gives for
  ``$filter`` ("… cannot be referenced in filter or orderby as it is not indexed …"); ``ID`` is indexed.
- Numbers order as numbers, text as text (case-insensitive, as SharePoint collates [unc]); an item without a
  value comes first ascending and last descending, as SharePoint sorts empty values [unc].
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sandbox.core.http import Request
from sandbox.core.numbers import finite_number
from sandbox.sharepoint.errors import GraphError

ITEM_PROPS = ("createdDateTime", "lastModifiedDateTime")
PREFER = "honornonindexedquerieswarningmayfailrandomly"


def not_indexed(col: str) -> GraphError:
    return GraphError(400, "invalidRequest", f"Field '{col}' cannot be referenced in filter or orderby as it is not "
                      "indexed. Provide the 'Prefer: HonorNonIndexedQueriesWarningMayFailRandomly' header to allow "
                      "this, but be warned that such queries may fail on large lists.")


def _key(value: Any) -> tuple:
    if value in (None, ""):
        return (0, 0, "")
    if isinstance(value, bool):
        return (1, int(value), "")
    if isinstance(value, (int, float)):
        return (1, value, "")
    number = finite_number(str(value))  # ASCII: float() took '٣' as 3, and 'nan', which no order can sort
    return (2, 0, str(value).lower()) if number is None else (1, number, "")


def order_rows(req: Request, rows: list, shown: Callable[[Any], tuple[dict, dict]], indexed: set[str]) -> list:
    """``rows`` sorted by ``$orderby``; ``shown(row)`` gives (the item's own properties, its fields)."""
    text = (req.query.get("$orderby") or "").strip()
    if not text:
        return rows
    keys = []
    for clause in text.split(","):
        m = re.fullmatch(r"(?:fields/(?P<col>\w+)|(?P<prop>\w+))(?:\s+(?P<dir>asc|desc))?", clause.strip(), re.I)
        if m is None or (m.group("prop") and m.group("prop") not in ITEM_PROPS):
            raise GraphError(400, "invalidRequest", f"Invalid $orderby clause: {clause.strip()!r}")  # [unc] the text
        col = m.group("col")
        if col and col not in indexed | {"ID", "id"} and PREFER not in req.header("Prefer").lower():
            raise not_indexed(col)
        keys.append((col, m.group("prop"), (m.group("dir") or "asc").lower() == "desc"))
    out = list(rows)
    for col, prop, desc in reversed(keys):  # stable sorts, last key first
        out.sort(key=lambda r, c=col, p=prop: _sort_key(shown(r), c, p), reverse=desc)
    return out


def _sort_key(shown: tuple[dict, dict], col: str | None, prop: str | None) -> tuple:
    """A column's or property's order key. Items created within one tick of the clock show the same
    ``createdDateTime``; they were still created in the order of their ids (SharePoint numbers a list's
    items as it creates them), so the id breaks that tie."""
    own, fields = shown
    if col:
        return _key(fields.get(col))
    tie = int(own["id"]) if prop == "createdDateTime" and str(own.get("id", "")).isdecimal() else 0
    return (*_key(own.get(prop)), tie)
