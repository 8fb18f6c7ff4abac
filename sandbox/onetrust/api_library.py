"""Controls library writes, TPRM contracts, inventory attachments and Integration Manager webhooks
(vendor-apis.md §3.5, §3.6, §3.9).

- `POST /api/controls/v1/controls` (scope CONTROL) body `identifier`, `name` (required), `description`,
  `status` (Active|Archived|Pending, default Active), `frameworkId/Name`, `categoryId/Name`,
  `implementationGuidance`, `attributes` -> 201 the control [unc: status code and answer guessed];
  a duplicate `identifier` -> 409 [unc]. `PUT /api/controls/v1/controls/{controlId}` merges -> 200;
  `DELETE` -> 204. `GET /api/controls/v2/control-entity-types` -> `[{"id", "name", "entityType"}]` [unc].
- `POST /api/vendor/v1/contracts/add` (scopes VRM, GENERIC) body `{"name", "vendorId", ...}` [unc: body]
  -> 201 the contract (`effectiveDate`/`expirationDate` ISO date-times or epoch millis, else 400; served
  back as UTC "...sssZ" [unc]); `POST /api/vendor/v1/contracts/vendors/{vendorId}/contracts?page&size&sort`
  (VRM, VRM_READ, GENERIC) -> flat Spring page, size at most 2000 (clamped). 404 for an unknown vendor.
- `POST /api/inventory/v2/inventories/{inventoryId}/attachments` (INVENTORY, INVENTORY_WRITE):
  multipart part `file` -> 201 `{"id", "inventoryId", "fileName", "contentType", "size"}` [unc: answer].
- Inbound Integration Manager webhooks: `POST /integrationmanager/api/v1/webhook/{uuid}` with a bearer
  token in `Authorization` or as `?Authorization=Bearer%20<token>`; the payload is recorded in
  `sb.webhook_calls` and answered 200 `{"status": "accepted"}` [unc]. No signature (none documented).
"""

from __future__ import annotations

import copy
import uuid
from email import policy
from email.parser import BytesParser
from typing import TYPE_CHECKING, Any

from sandbox.core.http import HTTPError, Request, Response, Router, json_response
from sandbox.onetrust.api_risk import body_json, read_dates
from sandbox.onetrust.draw import fold_uuid, instant_key, stable_uuid
from sandbox.onetrust.pages import page_params, parse_sort, public, spring_page
from sandbox.onetrust.store import is_date_field

if TYPE_CHECKING:
    from sandbox.onetrust.app import OneTrustSandbox

CONTROLS = "/api/controls/v1/controls"
CONTROL_STATUSES = ("Active", "Archived", "Pending")
CONTROL_FIELDS = ("identifier", "name", "description", "status", "frameworkId", "frameworkName", "categoryId",
                  "categoryName", "implementationGuidance", "attributes")
ENTITY_TYPES = ("ASSETS", "PROCESSING_ACTIVITIES", "VENDORS", "ENTITIES", "ASSESSMENTS", "RISKS")
CONTRACT_SORTS = {"name": "name", "createdDate": "createdDate", "expirationDate": "expirationDate"}


def _control(sb: OneTrustSandbox, body: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    if old is None and not str(body.get("name") or "").strip():
        raise HTTPError(400, "Bad Request", "name is required")
    if body.get("status") is not None and body["status"] not in CONTROL_STATUSES:
        raise HTTPError(400, "Bad Request", f"status must be one of {list(CONTROL_STATUSES)}")
    t = sb.store.tables["controls"]
    ident = body.get("identifier")
    if ident and any(i not in t.removed and t.row(i)["identifier"] == ident and (old is None or t.row(i)["id"]
                     != old["id"]) for i in range(len(t.rows))):
        raise HTTPError(409, "Conflict", f"A control with identifier {ident!r} exists")
    now = sb.store.now()
    rec = copy.deepcopy(old) if old else {"id": str(uuid.uuid4()), "identifier": None, "status": "Active",
                                          "description": None, "frameworkId": None, "frameworkName": None,
                                          "categoryId": None, "categoryName": None, "implementationGuidance": None,
                                          "attributes": {}, "createdDate": now}
    rec.update({k: copy.deepcopy(body[k]) for k in CONTROL_FIELDS if k in body})
    return rec


def _file_part(req: Request) -> Any:
    ctype = req.header("Content-Type")
    if "multipart/form-data" not in ctype.lower():
        raise HTTPError(415, "Unsupported Media Type", "attachments must be multipart/form-data")
    msg = BytesParser(policy=policy.HTTP).parsebytes(b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n"
                                                     + req.body)
    parts = [p for p in msg.iter_parts() if p.get_param("name", header="content-disposition") == "file"]
    if not parts:
        raise HTTPError(400, "Bad Request", "No file part: the multipart part must be named 'file'")
    return parts[0]


def register(sb: OneTrustSandbox, router: Router) -> None:
    contracts: dict[str, list[dict[str, Any]]] = sb.contracts

    def create_control(req: Request) -> Response:
        sb.authorize(req, "CONTROL")
        with sb.store.lock:
            rec = _control(sb, body_json(req), None)
            sb.store.save("controls", rec)
        return json_response(public(rec, "id", "lastModifiedDate"), 201)

    def one_control(req: Request) -> Response:
        sb.authorize(req, "CONTROL")
        with sb.store.lock:
            old = sb.store.get("controls", req.params["id"])
            if old is None:
                raise HTTPError(404, "Not Found", f"Control {req.params['id']} not found")
            if req.method == "DELETE":
                sb.store.delete("controls", [old["id"]])
                return Response(status=204)
            rec = _control(sb, body_json(req), old)
            sb.store.save("controls", rec)
        return json_response(public(rec, "id", "lastModifiedDate"))

    def entity_types(req: Request) -> Response:
        sb.authorize(req, "CONTROL")
        return json_response([{"id": stable_uuid(sb.seed, "cet", e), "name": e.replace("_", " ").title(),
                               "entityType": e} for e in ENTITY_TYPES])

    def vendor_or_404(vendor_id: str) -> dict[str, Any]:
        rec = sb.store.get("vendors", vendor_id)
        if rec is None:
            raise HTTPError(404, "Not Found", f"Vendor {vendor_id} not found")
        return rec

    def add_contract(req: Request) -> Response:
        sb.authorize(req, "VRM", "GENERIC")
        body = body_json(req)
        if not str(body.get("name") or "").strip() or not body.get("vendorId"):
            raise HTTPError(400, "Bad Request", "name and vendorId are required")
        if not isinstance(body["vendorId"], str):
            raise HTTPError(400, "Bad Request", "vendorId must be the vendor's id (a UUID string)")
        with sb.store.lock:
            vendor = vendor_or_404(str(body["vendorId"]))
            now = sb.store.now()
            rec = {"id": str(uuid.uuid4()), "name": body["name"], "vendorId": vendor["id"],
                   "vendorName": vendor["name"], "contractType": body.get("contractType"),
                   "status": body.get("status", "ACTIVE"), "effectiveDate": body.get("effectiveDate"),
                   "expirationDate": body.get("expirationDate"), "value": body.get("value"),
                   "currency": body.get("currency"), "createdDate": now, "lastModifiedDate": now}
            read_dates(rec, body, ("effectiveDate", "expirationDate"))  # so `sort=expirationDate` orders them
            contracts.setdefault(vendor["id"], []).append(rec)
        return json_response(rec, 201)

    def vendor_contracts(req: Request) -> Response:
        sb.authorize(req, "VRM", "VRM_READ", "GENERIC")
        body_json(req)  # JSON or none: 415 for text or a form, 400 for a malformed one
        page, size = page_params(req, 20, 2000)
        _, field, desc = parse_sort(req.query.get("sort"), CONTRACT_SORTS, "createdDate,desc")
        with sb.store.lock:
            vendor = vendor_or_404(req.params["vendor"])
            rows = [copy.deepcopy(c) for c in contracts.get(vendor["id"], [])]
        if is_date_field(field):  # by the instant (dates are stored UTC, but ones from before may not be)
            rows.sort(key=lambda r: (r.get(field) is not None, instant_key(r.get(field))), reverse=desc)
        else:
            rows.sort(key=lambda r: (r.get(field) is not None, str(r.get(field) or "")), reverse=desc)
        return json_response(spring_page(rows[page * size:(page + 1) * size], page, size, len(rows)))

    def inventory_attachment(req: Request) -> Response:
        sb.authorize(req, "INVENTORY", "INVENTORY_WRITE")
        part = _file_part(req)
        with sb.store.lock:
            vendor = sb.store.get("vendors", req.params["id"])
            if vendor is None:
                raise HTTPError(404, "Not Found", f"Inventory record {req.params['id']} not found")
            data = part.get_payload(decode=True) or b""
            rec = {"id": str(uuid.uuid4()), "inventoryId": vendor["id"], "fileName": part.get_filename() or "file",
                   "contentType": part.get_content_type(), "size": len(data), "createdDate": sb.store.now()}
            sb.attachments.setdefault(vendor["id"], []).append(rec)
        return json_response(rec, 201)

    def webhook(req: Request) -> Response:
        header = req.header("Authorization") or req.query.get("Authorization", "")
        if header:
            req.headers["Authorization"] = header
        sb.authorize(req)
        try:
            payload = req.json()
        except ValueError:
            payload = req.body.decode("utf-8", "replace")
        with sb.store.lock:
            sb.webhook_calls.append({"webhookId": fold_uuid(req.params["id"]), "payload": payload,
                                     "receivedAt": sb.store.now()})
        return json_response({"status": "accepted"})

    router.add("POST", CONTROLS, create_control)
    router.add("PUT", CONTROLS + r"/(?P<id>[^/]+)", one_control)
    router.add("DELETE", CONTROLS + r"/(?P<id>[^/]+)", one_control)
    router.add("GET", "/api/controls/v2/control-entity-types", entity_types)
    router.add("POST", "/api/vendor/v1/contracts/add", add_contract)
    router.add("POST", r"/api/vendor/v1/contracts/vendors/(?P<vendor>[^/]+)/contracts", vendor_contracts)
    router.add("POST", r"/api/inventory/v2/inventories/(?P<id>[0-9a-fA-F-]{36})/attachments", inventory_attachment)
    router.add("POST", r"/integrationmanager/api/v1/webhook/(?P<id>[0-9a-fA-F-]{36})", webhook)
