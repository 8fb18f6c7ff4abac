"""IT Risk Management endpoints (scopes RISK / RISK_READ).

- `POST /api/risk/v2/risks/pages?page&size&sort` - flat Spring page; size default 20, max 100 (clamped);
  sort number|name|orgGroupId|createdDate|description|controlImplementationCount (+ sandbox extension
  lastModifiedDate), default `createdDate,desc`. Body `RiskSearchRequest`: `filters` {field: value or
  [values]} (equality), `predicates` [{field, operator EQUAL_TO|NOT_EQUAL_TO|GREATER_THAN|
  GREATER_THAN_EQUAL_TO|LESS_THAN|LESS_THAN_EQUAL_TO|BETWEEN, value, toValue}] (dotted fields allowed;
  timestamps compared as instants), `fullTextSearch` (name/description substring).
  Incremental sync: predicate `lastModifiedUTCDateTime GREATER_THAN <cursor>`. A predicate on a date field
  (`deadline`, `mitigatedDate`, `...Date`, `...DateTime`) whose value is not an ISO date-time, or a BETWEEN
  without `toValue`, is 400 (it matched nothing, silently) [unc: OneTrust's words].
- `GET /api/risk/v2/risks/{id}`; `POST /api/risk/v2/risks` (needs `type`, `source`, `associatedInventory`
  and `orgGroupId`, as the OAS requires) -> 201 RiskInformation; `POST /api/risk/v3/risks` (needs
  `orgGroupId`) -> 201 with the new id as a JSON string.
- `PUT /api/risk/v2/risks/{id}` - sandbox upsert [unc: OneTrust documents no upsert]: merges the body
  into an existing risk (200) or creates the risk under that id (201). `DELETE` -> 204.
- Writes: `deadline` and `mitigatedDate` must be ISO date-times (with or without millis or an offset, or a bare
  date) or epoch millis, else 400; they are served back as UTC "...sssZ" like every other timestamp [unc].
- `GET /api/risk/v2/risk-categories`. Settings, linked risks, unlink, views: :mod:`api_risk_more`.
"""

from __future__ import annotations

import copy
import uuid
from typing import TYPE_CHECKING, Any

from sandbox.core.http import HTTPError, Request, Response, Router, json_response
from sandbox.core.numbers import finite_number
from sandbox.onetrust import vocab as V
from sandbox.onetrust.draw import fold_uuid, normalize_iso, parse_iso, stable_uuid
from sandbox.onetrust.media import require_json
from sandbox.onetrust.pages import (
    MALFORMED_VARIANTS,
    listing_sort,
    page_params,
    parse_sorts,
    public,
    spring_page,
)
from sandbox.onetrust.store import Table

if TYPE_CHECKING:
    from sandbox.onetrust.app import OneTrustSandbox

BASE = "/api/risk/v2/risks"
SORTS = {"number": "number", "name": "name", "orgGroupId": "_orgGroupId", "createdDate": "createdUTCDateTime",
         "description": "description", "controlImplementationCount": "controlImplementationCount",
         "lastModifiedDate": "lastModifiedUTCDateTime"}
OPS = {"EQUAL_TO", "NOT_EQUAL_TO", "GREATER_THAN", "GREATER_THAN_EQUAL_TO", "LESS_THAN", "LESS_THAN_EQUAL_TO",
       "BETWEEN"}
TYPES = {"ASSESSMENTS", "ASSETS", "PROCESSING_ACTIVITIES", "VENDORS", "ENTITIES", "INCIDENTS", "ESG", "GENERAL"}
WRITABLE = ("name", "description", "recommendation", "remediationProposal", "requestedException", "mitigation",
            "justification", "deadline", "mitigatedDate", "state", "type", "source", "references", "treatment",
            "associatedInventory")
DATES = ("deadline", "mitigatedDate")


def body_json(req: Request) -> dict[str, Any]:
    require_json(req)
    try:
        body = req.json()
    except ValueError as exc:
        raise HTTPError(400, "Bad Request", f"Malformed JSON request body: {exc}") from exc
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise HTTPError(400, "Bad Request", "Request body must be a JSON object")
    return body


def read_dates(rec: dict[str, Any], body: dict[str, Any], keys: tuple[str, ...]) -> None:
    """The date-time fields ``keys`` the body set on ``rec``, read as Jackson reads a date: 400 for one it
    could not read (they were stored as sent), else served back in OneTrust's one format (``normalize_iso``)."""
    for key in keys:
        if key in body and rec.get(key) is not None:
            try:
                rec[key] = normalize_iso(rec[key])
            except ValueError as exc:
                raise HTTPError(400, "Bad Request", f"JSON parse error: {key}: {exc}") from exc


def _get(t: Table, i: int, path: str) -> Any:
    """Field (dotted path allowed) of row i; top-level cheap fields are read without building the row."""
    if "." not in path:
        return t.value(i, path)
    value: Any = t.row(i)
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _comparable(a: Any, b: Any) -> tuple[Any, Any]:
    a, b = fold_uuid(a), fold_uuid(b)
    if isinstance(a, str) and isinstance(b, str) and "T" in a:
        ta, tb = parse_iso(a), parse_iso(b)
        if ta is not None and tb is not None:
            return ta, tb
    if isinstance(a, int | float) and not isinstance(b, int | float):
        number = finite_number(b)  # not float(): '٣' read as 3, ' 3', '1_0', 'nan' taken [round 27]
        return (a, number) if number is not None else (str(a), str(b))
    return a, b


def _predicate(p: dict[str, Any]) -> Any:
    field, op, value, to = p.get("field"), str(p.get("operator", "EQUAL_TO")).upper(), p.get("value"), p.get("toValue")
    if not field or not isinstance(field, str) or op not in OPS:
        raise HTTPError(400, "Bad Request", f"Invalid predicate {p}; operators: {sorted(OPS)}")
    if op == "BETWEEN" and (value is None or to is None):
        raise HTTPError(400, "Bad Request", f"Invalid predicate {p}: BETWEEN needs value and toValue")
    leaf = field.rsplit(".", 1)[-1]
    if leaf in DATES or leaf.endswith(("DateTime", "Date")):  # a date field compared with a non-date: 400
        for bound in (value, to):
            if bound is not None and (not isinstance(bound, str) or parse_iso(bound) is None):
                raise HTTPError(400, "Bad Request", f"Invalid predicate {p}: {bound!r} is not an ISO date-time")

    def test(t: Table, i: int) -> bool:
        got = _get(t, i, field)
        if got is None:
            return op == "NOT_EQUAL_TO"
        try:
            a, b = _comparable(got, value)
            if op == "EQUAL_TO":
                return a == b
            if op == "NOT_EQUAL_TO":
                return a != b
            if op == "GREATER_THAN":
                return a > b
            if op == "GREATER_THAN_EQUAL_TO":
                return a >= b
            if op == "LESS_THAN":
                return a < b
            if op == "LESS_THAN_EQUAL_TO":
                return a <= b
            return b <= a <= _comparable(got, to)[1]
        except TypeError:
            return False
    return test


def search_body(req: Request) -> dict[str, Any]:
    """A `RiskSearchRequest` body: `filters` must be a JSON object and `predicates` an array of objects
    (400 otherwise, as Jackson refuses a value of the wrong JSON type; a 500 before)."""
    body = body_json(req)
    if not isinstance(body.get("filters") or {}, dict):
        raise HTTPError(400, "Bad Request", "filters must be a JSON object of field: value(s)")
    preds = body.get("predicates") or []
    if not isinstance(preds, list) or not all(isinstance(p, dict) for p in preds):
        raise HTTPError(400, "Bad Request", "predicates must be an array of {field, operator, value, toValue}")
    return body


def _level(value: Any, fallback: str) -> str:
    if isinstance(value, dict):
        value = value.get("level") or value.get("name")
    return value if value in V.LEVELS else fallback


def apply_body(sb: OneTrustSandbox, rec: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Merge a create/update body into a risk record (top-level replace; levels and owners normalised)."""
    store = sb.store
    if body.get("source") is not None and not isinstance(body["source"], dict):
        raise HTTPError(400, "Bad Request", "source must be an object such as {\"id\": uuid, \"name\": ...}")
    if "type" in body and not isinstance(body["type"], str):
        raise HTTPError(400, "Bad Request", f"Invalid type {body['type']!r}; one of {sorted(TYPES)}")
    cat_ids = body.get("categoryIds")
    if cat_ids is not None and not (isinstance(cat_ids, list) and all(isinstance(c, str) for c in cat_ids)):
        raise HTTPError(400, "Bad Request", "categoryIds must be an array of category ids")
    for key in WRITABLE:
        if key in body:
            rec[key] = copy.deepcopy(body[key])
    read_dates(rec, body, DATES)
    if "orgGroupId" in body:
        org = next((o for o in store.seeder.org_groups if o["id"] == fold_uuid(body["orgGroupId"])), None)
        if org is None:
            raise HTTPError(400, "Bad Request", f"Unknown orgGroupId {body['orgGroupId']}")
        rec["orgGroup"], rec["_orgGroupId"] = dict(org), org["id"]
    if rec.get("state") not in (*V.RISK_STATES, "ARCHIVED_IN_VERSION"):
        raise HTTPError(400, "Bad Request", f"Invalid state {rec.get('state')}")
    if rec.get("type") not in TYPES:
        raise HTTPError(400, "Bad Request", f"Invalid type {rec.get('type')}; one of {sorted(TYPES)}")
    level = _level(body.get("inherentRiskLevel", body.get("level")), rec.get("level") or "Medium")
    if level != rec.get("level") or "inherentRiskLevel" not in rec:
        lvl = {"levelId": V.LEVEL_IDS[level], "level": level, "colorCode": V.LEVEL_COLORS[level],
               "levelGuid": stable_uuid(sb.seed, "level", level)}
        rec.update(level=level, levelId=V.LEVEL_IDS[level], inherentRiskLevel=lvl, residualRiskLevel=dict(lvl))
    owners = body.get("riskOwners")
    if isinstance(owners, list) and owners:
        rec["riskOwnersId"] = [o.get("id") for o in owners if isinstance(o, dict)]
        rec["riskOwnersName"] = ", ".join(str(o.get("name")) for o in owners if isinstance(o, dict))
    if isinstance(body.get("categoryIds"), list):
        cats = {c["id"]: c for c in store.seeder.categories}
        rec["categories"] = [dict(cats[fold_uuid(c)]) for c in body["categoryIds"] if fold_uuid(c) in cats]
    rec["updatedBy"] = {"id": None, "name": "API Key User"}
    return rec


def new_risk(sb: OneTrustSandbox, body: dict[str, Any], risk_id: str | None = None) -> dict[str, Any]:
    if not body.get("orgGroupId"):
        raise HTTPError(400, "Bad Request", "orgGroupId is required")
    t = sb.store.tables["risks"]
    now = sb.store.now()
    rec: dict[str, Any] = {
        "id": risk_id or str(uuid.uuid4()), "number": len(t.rows) + 1, "name": None, "description": None,
        "level": None, "state": "IDENTIFIED", "previousState": None, "type": "GENERAL", "sourceType": "GENERIC",
        "source": None, "recommendation": None, "mitigation": None, "justification": None, "deadline": None,
        "mitigatedDate": None, "riskOwnersId": [], "riskOwnersName": None, "riskApproversId": [],
        "references": [], "categories": [], "createdUTCDateTime": now, "lastModifiedUTCDateTime": now,
        "createdBy": None, "targetRiskLevel": None, "remediationProposal": None, "requestedException": None,
        "riskType": None, "riskSourceType": None,
    }
    return apply_body(sb, rec, body)


def register(sb: OneTrustSandbox, router: Router) -> None:
    def pages(req: Request) -> Response:
        sb.authorize(req, "RISK", "RISK_READ")
        page, size = page_params(req, 20, 100)
        field, desc = listing_sort(parse_sorts(sb.sort_params(req), SORTS, "createdDate,desc"))
        body = search_body(req)
        tests = [_predicate(p) for p in body.get("predicates") or []]
        for key, want in (body.get("filters") or {}).items():
            wanted = [fold_uuid(w) for w in (want if isinstance(want, list) else [want])]
            tests.append(lambda t, i, k=key, w=wanted: fold_uuid(_get(t, i, k)) in w)
        text = str(body.get("fullTextSearch") or "").lower()
        if text:
            tests.append(lambda t, i: text in f"{t.value(i, 'name')} {t.value(i, 'description')}".lower())
        pred = (lambda t, i: all(test(t, i) for test in tests)) if tests else None
        key = repr((body.get("predicates"), body.get("filters"), text)) if tests else None
        with sb.store.lock:
            sb.page_faults("risks")
            t = sb.store.tables["risks"]
            rows = t.listing(field, desc, pred, key)
            content = [_view(sb, t.row(i)) for i in rows[page * size:(page + 1) * size]]
        return json_response(spring_page(content, page, size, len(rows)))

    def get(req: Request) -> Response:
        sb.authorize(req, "RISK", "RISK_READ")
        with sb.store.lock:
            rec = sb.store.get("risks", req.params["id"])
            if rec is None:
                raise HTTPError(404, "Not Found", f"Risk {req.params['id']} not found")
            return json_response(_view(sb, rec))

    def create(req: Request) -> Response:
        sb.authorize(req, "RISK")
        body = body_json(req)
        if req.path.startswith("/api/risk/v2/"):
            missing = [k for k in ("type", "source", "associatedInventory", "orgGroupId") if not body.get(k)]
            if missing:
                raise HTTPError(400, "Bad Request", f"Required: {', '.join(missing)}")
        with sb.store.lock:
            rec = new_risk(sb, body)
            sb.store.save("risks", rec)
        if req.path.startswith("/api/risk/v3/"):
            return json_response(rec["id"], 201)
        return json_response(public(rec, "id", "lastModifiedUTCDateTime"), 201)

    def upsert(req: Request) -> Response:
        sb.authorize(req, "RISK")
        body, risk_id = body_json(req), req.params["id"]
        try:
            uuid.UUID(risk_id)
        except ValueError as exc:
            raise HTTPError(400, "Bad Request", f"riskId must be a UUID: {risk_id}") from exc
        with sb.store.lock:
            old = sb.store.get("risks", risk_id)
            rec = new_risk(sb, body, risk_id) if old is None else apply_body(sb, copy.deepcopy(old), body)
            created = sb.store.save("risks", rec)
        return json_response(public(rec, "id", "lastModifiedUTCDateTime"), 201 if created else 200)

    def delete(req: Request) -> Response:
        sb.authorize(req, "RISK")
        with sb.store.lock:
            if not sb.store.delete("risks", [req.params["id"]]):
                raise HTTPError(404, "Not Found", f"Risk {req.params['id']} not found")
        return Response(status=204)

    def categories(req: Request) -> Response:
        sb.authorize(req, "RISK", "RISK_READ")
        return json_response([{**c, "description": f"{c['name']} risks"} for c in sb.store.seeder.categories])

    router.add("POST", BASE + "/pages", pages)
    router.add("POST", BASE, create)
    router.add("POST", "/api/risk/v3/risks", create)
    router.add("GET", BASE + r"/(?P<id>[^/]+)", get)
    router.add("PUT", BASE + r"/(?P<id>[^/]+)", upsert)
    router.add("DELETE", BASE + r"/(?P<id>[^/]+)", delete)
    router.add("GET", "/api/risk/v2/risk-categories", categories)
    from sandbox.onetrust import api_risk_more

    api_risk_more.register(sb, router, pages)


def _view(sb: OneTrustSandbox, rec: dict[str, Any]) -> dict[str, Any]:
    variant = sb.faults.malformed_variant("risk:" + rec["id"], MALFORMED_VARIANTS)
    return public(rec, "id", "lastModifiedUTCDateTime", variant)
