"""TPRM engagements (Third-Party Risk Management OAS, "Engagements" tag), kept per sandbox like contracts.

- `POST /api/vendor/v1/vendor-engagements` (scopes VRM, GENERIC): body `name` (required, at most 500
  characters), `vendor{id}` (required, an inventory vendor), `type` (VendorEngagement | ProductEngagement |
  ServiceEngagement, default VendorEngagement), `orgGroupId` (default the vendor's organization; unknown ->
  400), `internalOwnerEmail`, `startDate`, `endDate`, `notes`, `scope`, `externalContact`,
  `attributeValues` -> 201 EngagementDetailInformation (workflow "Default Engagement Workflow" at stage New,
  `engagementStatus` ACTIVE, risk levels null until assessed).
- `GET|PUT|PATCH|DELETE /api/vendor/v1/engagements/{engagementId}`: read (VRM_READ, VRM, GENERIC); PUT
  replaces the editable fields, PATCH merges them (VRM, GENERIC) -> 200; DELETE -> 204; 404 when unknown.
- `PUT /api/vendor/v1/engagements/{engagementId}/status` `{"status": ACTIVE|PENDING|ARCHIVED}` -> 200.
- `POST /api/vendor/v1/engagements-search?page&size(<=2000)&sort(name|createdDate,asc|desc; default
  name,asc)` body `{"filters": [{"field", "operator", "value"}], "fullText"}` -> a flat Spring page whose
  `sort` is a list of orders (as the OAS example). Filter fields: name, type, engagementStatus, orgGroupId,
  vendorId, workflowName, internalOwnerEmail; operators EQUAL_TO, NOT_EQUAL_TO, IN, NOT_IN, LIKE, NOT_LIKE,
  IS_NULL, IS_NOT_NULL (others 400, the sandbox's choice).
- `GET /api/vendor/v1/engagement-schemas` -> the engagement attributes (AttributeInformation list).
`startDate`/`endDate` must be ISO date-times (or epoch millis), else 400; served back as UTC "...sssZ" [unc].
Error bodies are the sandbox's usual Spring ones; the OAS documents only the status codes.
"""

from __future__ import annotations

import copy
import itertools
import uuid
from typing import TYPE_CHECKING, Any

from sandbox.core.http import HTTPError, Request, Response, Router, json_response
from sandbox.onetrust.api_risk import body_json, read_dates
from sandbox.onetrust.draw import fold_uuid, stable_uuid
from sandbox.onetrust.pages import page_params, parse_sort, spring_page

if TYPE_CHECKING:
    from sandbox.onetrust.app import OneTrustSandbox

BASE = "/api/vendor/v1/engagements"
TYPES = ("VendorEngagement", "ProductEngagement", "ServiceEngagement")
STATUSES = ("ACTIVE", "PENDING", "ARCHIVED")
EDITABLE = ("name", "type", "startDate", "endDate", "notes", "scope", "externalContact", "attributeValues")
SORTS = {"name": "name", "createdDate": "createdDate"}
DATES = ("startDate", "endDate")
FILTER_FIELDS = {"name": "name", "type": "type", "engagementStatus": "engagementStatus", "orgGroupId": "orgGroupId",
                 "vendorId": "vendor.id", "workflowName": "workflow.name", "internalOwnerEmail": "internalOwnerEmail"}
SCHEMA = (("Aggregate Risk Level", "aggregateRiskLevel", "SingleSelect", True), ("Engagement Name", "name", "Text",
          False), ("Start Date", "startDate", "Date", False), ("End Date", "endDate", "Date", False),
          ("Scope", "scope", "TextArea", False), ("External Contact", "externalContact", "Text", False))


def _field(rec: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        rec = rec.get(part) if isinstance(rec, dict) else None  # type: ignore[assignment]
    return rec


def _matches(rec: dict[str, Any], flt: Any) -> bool:
    if not isinstance(flt, dict) or flt.get("field") not in FILTER_FIELDS:
        raise HTTPError(400, "Bad Request", f"Unknown filter field; filterable: {sorted(FILTER_FIELDS)}")
    have, op, want = _field(rec, FILTER_FIELDS[flt["field"]]), str(flt.get("operator") or "EQUAL_TO"), flt.get("value")
    wants = [str(fold_uuid(w)) for w in (want if isinstance(want, list) else [want])]
    text = str(have) if have is not None else None
    checks = {"EQUAL_TO": lambda: text in wants, "IN": lambda: text in wants,
              "NOT_EQUAL_TO": lambda: text not in wants, "NOT_IN": lambda: text not in wants,
              "LIKE": lambda: text is not None and any(w.lower() in text.lower() for w in wants),
              "NOT_LIKE": lambda: text is None or not any(w.lower() in text.lower() for w in wants),
              "IS_NULL": lambda: have is None, "IS_NOT_NULL": lambda: have is not None}
    if op not in checks:
        raise HTTPError(400, "Bad Request", f"Unsupported operator {op}; supported: {sorted(checks)}")
    return checks[op]()


def register(sb: OneTrustSandbox, router: Router) -> None:
    engagements: dict[str, dict[str, Any]] = sb.engagements
    numbers = itertools.count(1)  # an engagement's `number` is never reused, deleted or not

    def org_group(org_id: Any) -> dict[str, Any]:
        org = next((o for o in sb.store.seeder.org_groups if o["id"] == fold_uuid(org_id)), None)
        if org is None:
            raise HTTPError(400, "Bad Request", f"Invalid organization {org_id}")
        return org

    def check(body: dict[str, Any], rec: dict[str, Any]) -> None:
        name = rec.get("name")
        if not isinstance(name, str) or not name.strip():
            raise HTTPError(400, "Bad Request", "name is required")
        if len(name) > 500:
            raise HTTPError(400, "Bad Request", "The name of the engagement must be 500 characters or less")
        if rec.get("type") not in TYPES:
            raise HTTPError(400, "Bad Request", f"type must be one of {list(TYPES)}")
        if body.get("orgGroupId"):
            org = org_group(body["orgGroupId"])
            rec.update(orgGroupId=org["id"], orgGroupName=org["name"])
        if "internalOwnerEmail" in body:
            email = str(body.get("internalOwnerEmail") or "").lower()
            owner = next((p for p in sb.store.seeder.people if p["email"].lower() == email), None)
            if email and owner is None:
                raise HTTPError(400, "Bad Request", f"Unknown internal owner {body['internalOwnerEmail']}")
            rec.update(internalOwnerEmail=owner["email"] if owner else None, internalOwnerId=owner and owner["id"],
                       internalOwnerUser=owner and owner["name"])

    def create(req: Request) -> Response:
        sb.authorize(req, "VRM", "GENERIC")
        body = body_json(req)
        vendor_ref = body.get("vendor") if isinstance(body.get("vendor"), dict) else {}
        with sb.store.lock:
            vendor = sb.store.get("vendors", str(vendor_ref.get("id") or ""))
            if vendor is None:
                raise HTTPError(400, "Bad Request", "vendor.id must name an existing vendor")
            org = vendor["organization"]
            now = sb.store.now()
            rec: dict[str, Any] = {
                "engagementId": str(uuid.uuid4()), "number": next(numbers), "name": body.get("name"),
                "orgGroupId": org["id"], "orgGroupName": org["value"], "type": body.get("type") or TYPES[0],
                "startDate": None, "endDate": None, "internalOwnerId": None, "internalOwnerUser": None,
                "internalOwnerEmail": None, "externalContact": None, "notes": None, "scope": None,
                "schemaId": stable_uuid(sb.seed, "engagement-schema", "EngagementSchema"),
                "vendor": {"id": vendor["id"], "name": vendor["name"], "orgGroupId": org["id"],
                           "orgGroupName": org["value"]},
                "workflow": {"id": stable_uuid(sb.seed, "workflow", "engagement"),
                             "nameKey": "DefaultEngagementWorkflow", "name": "Default Engagement Workflow",
                             "stageId": stable_uuid(sb.seed, "stage", "New"), "stageNameKey": "New",
                             "stageName": "New", "stageBadgeColor": "New"},
                "attributeValues": {}, "viewOnly": False, "riskLevel": None, "riskScore": None,
                "inherentRiskLevel": None, "inherentRiskScore": None, "targetRiskLevel": None, "targetRiskScore": None,
                "engagementStatus": "ACTIVE", "createdDate": now, "lastUpdatedDate": now}
            rec.update({k: copy.deepcopy(body[k]) for k in EDITABLE if k in body})
            check(body, rec)
            read_dates(rec, body, DATES)
            engagements[rec["engagementId"]] = rec
            return json_response(copy.deepcopy(rec), 201)

    def one(req: Request) -> Response:
        method = req.method.upper()
        sb.authorize(req, *(("VRM_READ", "VRM", "GENERIC") if method == "GET" else ("VRM", "GENERIC")))
        with sb.store.lock:
            rec = engagements.get(fold_uuid(req.params["id"]))
            if rec is None:
                raise HTTPError(404, "Not Found", f"Engagement {req.params['id']} not found")
            if method == "DELETE":
                del engagements[rec["engagementId"]]
                return Response(status=204)
            if method in ("PUT", "PATCH"):
                body = body_json(req)
                new = copy.deepcopy(rec)
                if method == "PUT":
                    new.update({k: None for k in EDITABLE if k not in ("name", "type", "attributeValues")})
                new.update({k: copy.deepcopy(body[k]) for k in EDITABLE if k in body})
                check(body, new)
                read_dates(new, body, DATES)
                new["lastUpdatedDate"] = sb.store.now()
                rec.clear()
                rec.update(new)
            return json_response(copy.deepcopy(rec))

    def status(req: Request) -> Response:
        sb.authorize(req, "VRM", "GENERIC")
        body = body_json(req)
        if body.get("status") not in STATUSES:
            raise HTTPError(400, "Bad Request", f"status must be one of {list(STATUSES)}")
        with sb.store.lock:
            rec = engagements.get(fold_uuid(req.params["id"]))
            if rec is None:
                raise HTTPError(404, "Not Found", f"Engagement {req.params['id']} not found")
            rec.update(engagementStatus=body["status"], lastUpdatedDate=sb.store.now())
        return Response(status=200)

    def search(req: Request) -> Response:
        sb.authorize(req, "VRM", "VRM_READ", "GENERIC")
        page, size = page_params(req, 20, 2000)
        prop, field, desc = parse_sort(req.query.get("sort"), SORTS, "name,asc")
        body = body_json(req)
        filters, text = body.get("filters") or [], str(body.get("fullText") or "").lower()
        if not isinstance(filters, list):
            raise HTTPError(400, "Bad Request", "filters must be a list")
        with sb.store.lock:
            rows = [copy.deepcopy(r) for r in engagements.values()
                    if text in str(r["name"]).lower() and all(_matches(r, f) for f in filters)]
        rows.sort(key=lambda r: str(r.get(field) or "").lower(), reverse=desc)
        out = spring_page(rows[page * size:(page + 1) * size], page, size, len(rows))
        order = [{"direction": "DESC" if desc else "ASC", "property": prop, "ignoreCase": False,
                  "nullHandling": "NATIVE", "ascending": not desc, "descending": desc}]
        out["sort"] = order
        out["pageable"]["sort"] = copy.deepcopy(order)
        return json_response(out)

    def schemas(req: Request) -> Response:
        sb.authorize(req, "VRM", "VRM_READ", "GENERIC")
        schema_id = stable_uuid(sb.seed, "engagement-schema", "EngagementSchema")
        return json_response([{
            "id": stable_uuid(sb.seed, "engagement-attr", field), "name": name,
            "nameKey": "Engagement." + field[0].upper() + field[1:], "description": None, "descriptionKey": None,
            "fieldName": field, "mappedFieldName": field, "enabled": True, "required": field == "name",
            "readOnly": read_only, "encrypted": False, "allowOther": False, "baseAttribute": True,
            "responseType": kind, "formula": None, "optionType": "none", "optionAllowed": kind == "SingleSelect",
            "schemaId": schema_id, "schemaName": "EngagementSchema", "responseMaxLength": None, "source": None,
            "responseSubType": None, "multiSelectMaxOptionValues": None, "hidden": False}
            for name, field, kind, read_only in SCHEMA])

    router.add("POST", "/api/vendor/v1/vendor-engagements", create)
    router.add("POST", "/api/vendor/v1/engagements-search", search)
    router.add("GET", "/api/vendor/v1/engagement-schemas", schemas)
    router.add("PUT", BASE + r"/(?P<id>[^/]+)/status", status)
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        router.add(method, BASE + r"/(?P<id>[^/]+)", one)
