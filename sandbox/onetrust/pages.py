"""OneTrust's three page envelopes, page/size/sort parsing and the public view of a record.

- assessments: `{"content": [...], "page": {"number", "size", "totalElements", "totalPages"}}`
- risks, controls, attestations: flat Spring `Page` (content, totalElements, totalPages, size, number,
  numberOfElements, first, last, empty, sort{...}, pageable{...})
- inventory (vendors): `{"data": [...], "meta": {"page": {first, last, number, size, totalElements,
  totalPages, sort: [{direction, property}]}}}`

Over-size `size` values are clamped silently to the endpoint's maximum (inventory 50, risks 100,
assessments/controls 2000), as OneTrust does: clients must page from the response, not the request.
"""

from __future__ import annotations

import math
from typing import Any

from sandbox.core.http import HTTPError, Request
from sandbox.core.numbers import ascii_int

INT_MAX = 2**31 - 1


def _java_int(raw: str) -> int:
    """``raw`` as Spring binds a request parameter to an ``int``: ASCII digits with an optional sign, within
    32 bits (no spaces, underscores or fractions, which Python's ``int`` would take); else 400 with the words of
    its MethodArgumentTypeMismatchException [unc: OneTrust's message; Spring Boot may leave it empty]."""
    value = ascii_int(raw, cap=2**32, signed=True)  # 5,000 digits: out of range, not int()'s ValueError
    if value is None or not -INT_MAX - 1 <= value <= INT_MAX:
        raise HTTPError(400, "Bad Request", f"Failed to convert value of type 'java.lang.String' to required type "
                        f"'int'; nested exception is java.lang.NumberFormatException: For input string: \"{raw}\"")
    return value


TRUE_WORDS, FALSE_WORDS = {"true", "on", "yes", "1"}, {"false", "off", "no", "0"}


def java_bool(req: Request, name: str, default: bool = False) -> bool:
    """Query flag ``name`` as Spring binds a ``boolean`` request parameter (``StringToBooleanConverter``):
    true/on/yes/1 and false/off/no/0 in any case, missing or empty the default; anything else is 400 with the
    words of its MethodArgumentTypeMismatchException [unc: OneTrust's message] (``maybe`` was read as false)."""
    raw = req.query.get(name, "").strip()
    if not raw:
        return default
    if raw.lower() in TRUE_WORDS | FALSE_WORDS:
        return raw.lower() in TRUE_WORDS
    raise HTTPError(400, "Bad Request", f"Failed to convert value of type 'java.lang.String' to required type "
                    f"'boolean'; nested exception is java.lang.IllegalArgumentException: Invalid boolean value "
                    f"'{raw}'")


def _canonical(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def lenient_enum(raw: str, allowed: set[str] | tuple[str, ...]) -> str | None:
    """``raw`` as Spring Boot binds a request parameter to an enum (its ``LenientObjectToEnumConverterFactory``,
    registered on the MVC conversion service): case and punctuation ignored, so ``vendor``, ``in-progress`` and
    ``In Progress`` name VENDOR and IN_PROGRESS [unc: that OneTrust binds these as enums on Boot]; None if no
    constant matches."""
    want = _canonical(raw)
    return next((name for name in allowed if _canonical(name) == want), None)


def page_params(req: Request, default: int = 20, maximum: int = 2000) -> tuple[int, int]:
    """0-based `page` and `size`, shared by every list route: missing or empty takes the default; a value
    that is not a Java int is 400 (``_java_int``), a negative page or a size below 1 is 400 with the words of
    Spring Data's ``PageRequest``; a size above the endpoint's ``maximum`` is clamped to it, silently."""
    q = req.query
    page = _java_int(q["page"]) if q.get("page") else 0
    size = _java_int(q["size"]) if q.get("size") else default
    if page < 0:
        raise HTTPError(400, "Bad Request", "Page index must not be less than zero")
    if size < 1:
        raise HTTPError(400, "Bad Request", "Page size must not be less than one")
    return page, min(size, maximum)


def parse_sort(raw: str | None, allowed: dict[str, str], default: str) -> tuple[str, str, bool]:
    """"property,asc|desc" -> (property as sent, record field, descending); 400 for unknown properties."""
    text = (raw or default).strip()
    prop, _, direction = text.partition(",")
    prop = prop.strip()
    direction = (direction.strip() or "asc").lower()
    if prop not in allowed or direction not in ("asc", "desc"):
        raise HTTPError(400, "Bad Request", f"Invalid sort '{text}'; sortable: {sorted(allowed)}")
    return prop, allowed[prop], direction == "desc"


def parse_sorts(raws: list[str] | None, allowed: dict[str, str], default: str) -> list[tuple[str, str, bool]]:
    """Spring Data's `sort` on the Pageable lists: repeated `sort` parameters, each "p1[,p2...][,asc|desc]"
    (the direction, any case, applies to every property of that parameter; none means asc), applied in
    order, the first the primary key. Empty values are skipped; none left means `default`. 400 for an
    unknown property, as `parse_sort`."""
    out: list[tuple[str, str, bool]] = []
    for raw in raws or []:
        tokens = [t.strip() for t in raw.split(",") if t.strip()]
        desc = False
        if len(tokens) > 1 and tokens[-1].lower() in ("asc", "desc"):
            desc = tokens.pop().lower() == "desc"
        for prop in tokens:
            if prop not in allowed:
                raise HTTPError(400, "Bad Request", f"Invalid sort '{raw}'; sortable: {sorted(allowed)}")
            out.append((prop, allowed[prop], desc))
    if not out:
        prop, field, desc = parse_sort(default, allowed, default)
        out.append((prop, field, desc))
    return out


def listing_sort(sorts: list[tuple[str, str, bool]]) -> tuple[str | tuple[tuple[str, bool], ...], bool]:
    """(sort, desc) for `Table.listing`: one key as before, several as a tuple of (field, desc)."""
    if len(sorts) == 1:
        return sorts[0][1], sorts[0][2]
    return tuple((field, desc) for _, field, desc in sorts), False


def _total_pages(total: int, size: int) -> int:
    return math.ceil(total / size) if size else 0


def assessment_page(content: list[Any], page: int, size: int, total: int) -> dict[str, Any]:
    return {"content": content,
            "page": {"number": page, "size": size, "totalElements": total, "totalPages": _total_pages(total, size)}}


def spring_page(content: list[Any], page: int, size: int, total: int, sorted_: bool = True) -> dict[str, Any]:
    pages = _total_pages(total, size)
    sort = {"empty": not sorted_, "sorted": sorted_, "unsorted": not sorted_}
    return {
        "content": content, "totalElements": total, "totalPages": pages, "size": size, "number": page,
        "numberOfElements": len(content), "first": page == 0, "last": page >= pages - 1, "empty": not content,
        "sort": sort,
        "pageable": {"offset": page * size, "pageNumber": page, "pageSize": size, "paged": True, "unpaged": False,
                     "sort": dict(sort)},
    }


def inventory_page(data: list[Any], page: int, size: int, total: int, prop: str, desc: bool) -> dict[str, Any]:
    pages = _total_pages(total, size)
    return {"data": data, "meta": {"page": {
        "first": page == 0, "last": page >= pages - 1, "number": page, "size": size, "totalElements": total,
        "totalPages": pages, "sort": [{"direction": "DESC" if desc else "ASC", "property": prop}]}}}


MALFORMED_VARIANTS = 3


def public(rec: dict[str, Any], id_field: str, ts_field: str, variant: int | None = None) -> dict[str, Any]:
    """The record as served: sandbox-only "_" keys dropped; `variant` applies one schema-invalid change
    (0: unparseable timestamp, 1: null name, 2: empty id) for the `rate_malformed` fault."""
    out = {k: v for k, v in rec.items() if not k.startswith("_")}
    if variant == 0:
        out[ts_field] = "not-a-date"
    elif variant == 1:
        out["name"] = None
    elif variant == 2:
        out[id_field] = ""
    return out
