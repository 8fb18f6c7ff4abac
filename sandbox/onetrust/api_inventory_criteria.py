"""`POST /api/inventory/v2/inventories/{schemaName}/criteria` - Get List of Inventories by Criteria.

From OneTrust's Data Mapping Automation OAS (`getListOfInventoriesByFilterCriteriaUsingPOST`): query
`page` (0-based), `size` (default 20, at most 50, larger values clamped like the GET list),
`markForDelete`; body `BasicInventoryFilterRequest` `{"filters": [CriteriaDefinition]}` where a
`CriteriaDefinition` is `{"attributeKey": "name" | "status.key" | dotted path, "operator", "values":
[strings], "dataType"?, "date"?}` and the criteria are ANDed. Operators (the OAS enum): `EQUAL_TO`/`EQ`
(the attribute equals one of `values`), `NOT_EQUAL_TO`, `CONTAINS`/`DOES_NOT_CONTAIN` (substring of any
value, ignoring case), `LT`/`GT`/`LE`/`GE` (against `values[0]`, numerically when both are numbers),
`IN_BETWEEN` (`values[0]` <= attribute <= `values[1]`). Answers the same `data` + `meta.page` envelope
as the GET list, sorted `name,asc`. Scopes INVENTORY / INVENTORY_READ / INVENTORY_WRITE.

[unc] what OneTrust does with an unknown `attributeKey` (here: the attribute is missing, so only the
negative operators match), whether equality ignores case (here: UUID-shaped values ignore case, other
text is exact), and its 400 messages. A body that is not an object, `filters` that is not an array of
objects, an unknown operator or missing `values` is 400; only vendors hold records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import HTTPError, Request, Response, Router, json_response
from sandbox.core.numbers import finite_number
from sandbox.onetrust.api_inventory import INV, INV_READ, _schema, _vendor_view
from sandbox.onetrust.api_risk import body_json
from sandbox.onetrust.draw import fold_uuid
from sandbox.onetrust.pages import inventory_page, java_bool, page_params
from sandbox.onetrust.store import Table

if TYPE_CHECKING:
    from sandbox.onetrust.app import OneTrustSandbox

OPERATORS = {"EQUAL_TO", "EQ", "NOT_EQUAL_TO", "CONTAINS", "DOES_NOT_CONTAIN", "LT", "GT", "LE", "GE",
             "IN_BETWEEN"}


def _attribute(t: Table, i: int, key: str) -> Any:
    head, _, rest = key.partition(".")
    value: Any = t.value(i, head) if not rest else t.row(i).get(head)
    for part in rest.split(".") if rest else []:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _number(v: Any) -> float | None:
    return finite_number(v)  # not float(): '٣' read as 3, ' 3', '1_0', 'nan', 1e999 taken [round 27]


def _cmp(a: Any, b: str) -> int | None:
    """-1/0/1 comparing attribute a with the string b; None when a is missing."""
    if a is None:
        return None
    na, nb = _number(a), _number(b)
    x, y = (na, nb) if na is not None and nb is not None else (str(a), b)
    return (x > y) - (x < y)  # type: ignore[operator]


def _criterion(c: dict[str, Any]) -> Any:
    key, op, values = c.get("attributeKey"), str(c.get("operator") or "").upper(), c.get("values")
    if not isinstance(key, str) or not key.strip():
        raise HTTPError(400, "Bad Request", "attributeKey is required in every filter")
    if op.startswith("FILTEROPERATOR."):  # the OAS enum also lists "FilterOperator.EQ(description=..)"
        op = op.split(".", 1)[1].split("(", 1)[0]
    if op not in OPERATORS:
        raise HTTPError(400, "Bad Request", f"Invalid operator {c.get('operator')!r}; one of {sorted(OPERATORS)}")
    if not isinstance(values, list) or not values or not all(isinstance(v, (str, int, float)) for v in values):
        raise HTTPError(400, "Bad Request", f"values must be a non-empty array of strings for {key}")
    values = [str(v) for v in values]
    if op == "IN_BETWEEN" and len(values) < 2:
        raise HTTPError(400, "Bad Request", "IN_BETWEEN needs two values")
    folded = {fold_uuid(v) for v in values}
    lowered = [v.lower() for v in values]

    def test(t: Table, i: int) -> bool:
        a = _attribute(t, i, key.strip())
        if op in ("EQUAL_TO", "EQ", "NOT_EQUAL_TO"):
            hit = a is not None and fold_uuid(str(a)) in folded
            return hit if op != "NOT_EQUAL_TO" else not hit
        if op in ("CONTAINS", "DOES_NOT_CONTAIN"):
            hit = a is not None and any(v in str(a).lower() for v in lowered)
            return hit if op == "CONTAINS" else not hit
        if op == "IN_BETWEEN":
            lo, hi = _cmp(a, values[0]), _cmp(a, values[1])
            return lo is not None and hi is not None and lo >= 0 and hi <= 0
        r = _cmp(a, values[0])
        return r is not None and {"LT": r < 0, "GT": r > 0, "LE": r <= 0, "GE": r >= 0}[op]
    return test


def register(sb: OneTrustSandbox, router: Router) -> None:
    def criteria(req: Request) -> Response:
        sb.authorize(req, *INV_READ)
        schema = _schema(req)
        page, size = page_params(req, 20, 50)
        filters = body_json(req).get("filters") or []
        if not isinstance(filters, list) or not all(isinstance(c, dict) for c in filters):
            raise HTTPError(400, "Bad Request", "filters must be an array of {attributeKey, operator, values}")
        tests = [_criterion(c) for c in filters]
        if schema != "vendors":
            return json_response(inventory_page([], page, size, 0, "name", False))
        removed = java_bool(req, "markForDelete")
        pred = (lambda t, i: all(test(t, i) for test in tests)) if tests else None
        key = ("criteria", repr(filters)) if tests else None
        with sb.store.lock:
            sb.page_faults("vendors")
            t = sb.store.tables["vendors"]
            rows = t.listing("name", False, pred, key, removed)
            data = [_vendor_view(sb, t.row(i), i in t.removed) for i in rows[page * size:(page + 1) * size]]
        return json_response(inventory_page(data, page, size, len(rows), "name", False))

    router.add("POST", INV + "/criteria", criteria)
