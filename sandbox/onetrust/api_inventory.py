"""Inventory (vendors), controls and control-attestation endpoints.

Inventory (scopes INVENTORY / INVENTORY_READ / INVENTORY_WRITE):
- `GET /api/inventory/v2/inventories/{schemaName}` (vendors, assets, processing-activities, entities;
  only vendors hold records) -> `{"data": [...], "meta": {"page": {...}}}`; `page` 0-based, `size`
  default 20 and at most 50 (larger values clamped), `sort` name|number|createdDate|lastUpdatedDate
  (default `name,asc`; the order served is echoed as `meta.page.sort` `[{"direction": "ASC|DESC",
  "property"}]`, the default while the sandbox's `ignore_sort` is on), `filter=searchText=<text>`,
  `markForDelete=true` includes deleted records (bound as Spring binds a boolean: true/on/yes/1,
  false/off/no/0, else 400).
- `POST .../{schemaName}` creates (name required) -> 201 `{"data": record}`; `GET|PUT|PATCH|DELETE
  .../{schemaName}/{id}` read, merge-update and mark for deletion. Every record belongs to an
  organization: `organization.id` must name one (400 otherwise; its `value` is filled in), a record created
  without one gets the root organization [unc: OneTrust may insist on it].

Also `POST .../{schemaName}/criteria` (`api_inventory_criteria`) and `PUT .../{schemaName}/{id}/status`
(`api_inventory_status`).

Controls (scope CONTROL): `POST /api/controls/v1/controls/pages` -> flat Spring page of the library.

Control attestations (scope CONTROL). OneTrust publishes no attestation API, so this shape is the
sandbox's choice; the path is `OneTrustSandbox(attestation_path=...)`, default
`/api/controls/v1/attestations`:
- `POST {path}` body `{"controlId": uuid | "controlIdentifier": "ISO-A.5.15", "result":
  "EFFECTIVE|PARTIALLY_EFFECTIVE|INEFFECTIVE|NOT_APPLICABLE", "externalId": "idempotency key",
  "attestedBy": {"name", "email"}, "attestedOn": ISO date-time (default now), "periodStart",
  "periodEnd", "comment", "evidence": [{"name", "url"}], "source": "ServiceNow", "controlImplementationId"
  (instead of a library control, see :mod:`sandbox.onetrust.api_controls`)}` -> 201 with the stored
  attestation (`id`, `controlName`, `version`, `createdDate`, `lastModifiedDate` added); the same
  `externalId` again updates that attestation (`version` + 1) and answers 200. 400 on an unknown
  control or result.
- `GET {path}?page&size&sort&controlId&controlIdentifier&externalId&result&updatedSince` -> flat Spring
  page (default sort `lastModifiedDate,desc`); `GET {path}/{id}` -> one attestation.
"""

from __future__ import annotations

import copy
import uuid
from typing import TYPE_CHECKING, Any

from sandbox.core.http import HTTPError, Request, Response, Router, json_response
from sandbox.onetrust import vocab as V
from sandbox.onetrust.api_risk import body_json
from sandbox.onetrust.draw import fold_uuid, parse_iso
from sandbox.onetrust.pages import (
    MALFORMED_VARIANTS,
    inventory_page,
    java_bool,
    listing_sort,
    page_params,
    parse_sort,
    parse_sorts,
    public,
    spring_page,
)
from sandbox.onetrust.store import Table

if TYPE_CHECKING:
    from sandbox.onetrust.app import OneTrustSandbox

INV = "/api/inventory/v2/inventories/(?P<schema>[a-z-]+)"
SCHEMAS = ("vendors", "assets", "processing-activities", "entities")
INV_READ = ("INVENTORY", "INVENTORY_READ", "INVENTORY_WRITE")
INV_WRITE = ("INVENTORY", "INVENTORY_WRITE")
VENDOR_SORTS = {"name": "name", "number": "number", "createdDate": "createdDate", "lastUpdatedDate": "lastUpdatedDate"}
VENDOR_FIELDS = ("name", "organization", "type", "status", "criticality", "tier", "country", "owner", "contactEmail")
ATT_SORTS = {"lastModifiedDate": "lastModifiedDate", "attestedOn": "attestedOn", "createdDate": "createdDate",
             "controlIdentifier": "controlIdentifier"}
CTRL_SORTS = {"name": "name", "identifier": "identifier", "createdDate": "createdDate",
              "lastModifiedDate": "lastModifiedDate"}


def _schema(req: Request) -> str:
    schema = req.params["schema"]
    if schema not in SCHEMAS:
        raise HTTPError(404, "Not Found", f"Unknown inventory schema {schema}")
    return schema


def _vendor_view(sb: OneTrustSandbox, rec: dict[str, Any], deleted: bool = False) -> dict[str, Any]:
    out = public(rec, "id", "lastUpdatedDate", sb.faults.malformed_variant("vendor:" + rec["id"], MALFORMED_VARIANTS))
    if deleted:
        out["markForDelete"] = True
    return out


def _vendor_body(req: Request) -> dict[str, Any]:
    """A create/update body; `name` given as anything but a string is 400 (it was stored as sent)."""
    body = body_json(req)
    if "name" in body and not isinstance(body["name"], str):
        raise HTTPError(400, "Bad Request", "name must be a string")
    return body


def register(sb: OneTrustSandbox, router: Router) -> None:
    def list_inventory(req: Request) -> Response:
        sb.authorize(req, *INV_READ)
        schema = _schema(req)
        page, size = page_params(req, 20, 50)
        prop, field, desc = parse_sort(sb.sort_param(req), VENDOR_SORTS, "name,asc")
        if schema != "vendors":
            return json_response(inventory_page([], page, size, 0, prop, desc))
        text = req.query.get("filter", "")
        text = text.split("=", 1)[1].strip().lower() if text.startswith("searchText=") else text.strip().lower()
        removed = java_bool(req, "markForDelete")
        pred = (lambda t, i: text in str(t.value(i, "name") or "").lower()) if text else None
        with sb.store.lock:
            sb.page_faults("vendors")
            t = sb.store.tables["vendors"]
            rows = t.listing(field, desc, pred, text or None, removed)
            data = [_vendor_view(sb, t.row(i), i in t.removed) for i in rows[page * size:(page + 1) * size]]
        return json_response(inventory_page(data, page, size, len(rows), prop, desc))

    def organization(body: dict[str, Any], rec: dict[str, Any]) -> None:
        given = body.get("organization")
        if given is None and rec.get("organization"):
            return
        org_id = given.get("id") if isinstance(given, dict) else None
        orgs = sb.store.seeder.org_groups
        org = next((o for o in orgs if o["id"] == fold_uuid(org_id)), None) if given is not None else orgs[0]
        if org is None:
            raise HTTPError(400, "Bad Request", f"Invalid organization {org_id}")
        rec["organization"] = {"id": org["id"], "value": org["name"]}

    def create_inventory(req: Request) -> Response:
        sb.authorize(req, *INV_WRITE)
        if _schema(req) != "vendors":
            raise HTTPError(400, "Bad Request", "The sandbox stores vendor inventory records only")
        body = _vendor_body(req)
        if not str(body.get("name") or "").strip():
            raise HTTPError(400, "Bad Request", "name is required")
        with sb.store.lock:
            now = sb.store.now()
            rec = {"id": str(uuid.uuid4()), "number": len(sb.store.tables["vendors"].rows) + 1,
                   "status": {"key": "active", "value": "Active"}, "isParent": False, "isEditable": True,
                   "isDeletable": True, "canViewDetails": True, "createdDate": now}
            rec.update({k: copy.deepcopy(body[k]) for k in VENDOR_FIELDS if k in body})
            organization(body, rec)
            sb.store.save("vendors", rec)
        return json_response({"data": _vendor_view(sb, rec)}, 201)

    def one_vendor(req: Request) -> Response:
        schema = _schema(req)
        sb.authorize(req, *(INV_READ if req.method == "GET" else INV_WRITE))
        with sb.store.lock:
            rec = sb.store.get("vendors", req.params["id"]) if schema == "vendors" else None
            if rec is None:
                raise HTTPError(404, "Not Found", f"Inventory record {req.params['id']} not found")
            if req.method == "DELETE":
                sb.store.delete("vendors", [rec["id"]])
                return Response(status=204)
            if req.method in ("PUT", "PATCH"):
                body = _vendor_body(req)
                rec = copy.deepcopy(rec)
                rec.update({k: copy.deepcopy(body[k]) for k in VENDOR_FIELDS if k in body})
                organization(body, rec)
                sb.store.save("vendors", rec)
            return json_response({"data": _vendor_view(sb, rec)})

    def control_pages(req: Request) -> Response:
        sb.authorize(req, "CONTROL")
        body_json(req)  # the criteria body is JSON: 415 for text or a form, 400 for a malformed one
        page, size = page_params(req, 20, 2000)
        sorts = [v for k, v in req.query_pairs if k == "sort"]
        field, desc = listing_sort(parse_sorts(sorts, CTRL_SORTS, "name,asc"))
        with sb.store.lock:
            t = sb.store.tables["controls"]
            rows = t.listing(field, desc)
            content = [public(t.row(i), "id", "lastModifiedDate") for i in rows[page * size:(page + 1) * size]]
        return json_response(spring_page(content, page, size, len(rows)))

    def attest(req: Request) -> Response:
        sb.authorize(req, "CONTROL")
        body = body_json(req)
        with sb.store.lock:
            rec, created = _attestation(sb, body)
            sb.store.save("attestations", rec)
        return json_response(copy.deepcopy(rec), 201 if created else 200)

    def list_attestations(req: Request) -> Response:
        sb.authorize(req, "CONTROL")
        page, size = page_params(req, 20, 2000)
        _, field, desc = parse_sort(req.query.get("sort"), ATT_SORTS, "lastModifiedDate,desc")
        q = req.query
        wanted = {k: fold_uuid(q[k]) for k in ("controlId", "controlIdentifier", "externalId", "result") if q.get(k)}
        since = parse_iso(q["updatedSince"]) if q.get("updatedSince") else None
        if q.get("updatedSince") and since is None:
            raise HTTPError(400, "Bad Request", "updatedSince must be an ISO date-time")

        def pred(t: Table, i: int) -> bool:
            r = t.row(i)
            if any(r.get(k) != v for k, v in wanted.items()):
                return False
            return since is None or (parse_iso(r["lastModifiedDate"]) or 0) > since

        with sb.store.lock:
            t = sb.store.tables["attestations"]
            rows = t.listing(field, desc, pred, (tuple(sorted(wanted.items())), since))
            content = [copy.deepcopy(t.row(i)) for i in rows[page * size:(page + 1) * size]]
        return json_response(spring_page(content, page, size, len(rows)))

    def one_attestation(req: Request) -> Response:
        sb.authorize(req, "CONTROL")
        with sb.store.lock:
            rec = sb.store.get("attestations", req.params["id"])
            if rec is None:
                raise HTTPError(404, "Not Found", f"Attestation {req.params['id']} not found")
            return json_response(copy.deepcopy(rec))

    router.add("GET", INV, list_inventory)
    router.add("POST", INV, create_inventory)
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        router.add(method, INV + r"/(?P<id>[^/]+)", one_vendor)
    router.add("POST", "/api/controls/v1/controls/pages", control_pages)
    path = sb.attestation_path
    router.add("POST", path, attest)
    router.add("GET", path, list_attestations)
    router.add("GET", path + r"/(?P<id>[^/]+)", one_attestation)


def _attestation(sb: OneTrustSandbox, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Validate an attestation body; returns (record to save, created?)."""
    controls = sb.store.tables["controls"]
    ref = fold_uuid(body.get("controlId") or body.get("controlIdentifier"))
    control = next((controls.row(i) for i in range(len(controls.rows))
                    if ref in (controls.row(i)["id"], controls.row(i)["identifier"])), None)
    impl = sb.implementations.get(fold_uuid(str(body.get("controlImplementationId") or "")))
    if body.get("controlImplementationId") and impl is None:
        raise HTTPError(400, "Bad Request", f"Unknown control implementation {body['controlImplementationId']!r}")
    if control is None and impl is not None and not ref:  # an implementation of no library control
        control = {"id": impl.get("controlId"), "identifier": impl.get("controlIdentifier"), "name": impl["name"]}
    if control is None:
        raise HTTPError(400, "Bad Request", f"Unknown control {ref!r}: give controlId, controlIdentifier or "
                                            "controlImplementationId")
    if body.get("result") not in V.ATTESTATION_RESULTS:
        raise HTTPError(400, "Bad Request", f"result must be one of {list(V.ATTESTATION_RESULTS)}")
    for key in ("attestedOn", "periodStart", "periodEnd"):
        if body.get(key) is not None and parse_iso(str(body[key])) is None:
            raise HTTPError(400, "Bad Request", f"{key} must be an ISO date-time")
    now = sb.store.now()
    ext = body.get("externalId")
    t = sb.store.tables["attestations"]
    old = next((t.row(i) for i in range(len(t.rows)) if ext and i not in t.removed
                and t.row(i).get("externalId") == ext), None)
    rec = {
        "id": old["id"] if old else str(uuid.uuid4()), "controlId": control["id"],
        "controlIdentifier": control["identifier"], "controlName": control["name"], "externalId": ext,
        "result": body["result"], "attestedBy": copy.deepcopy(body.get("attestedBy")),
        "attestedOn": body.get("attestedOn") or now, "periodStart": body.get("periodStart"),
        "periodEnd": body.get("periodEnd"), "comment": body.get("comment"),
        "evidence": copy.deepcopy(body.get("evidence") or []), "source": body.get("source"),
        "controlImplementationId": impl["id"] if impl else None,
        "version": old["version"] + 1 if old else 1, "createdDate": old["createdDate"] if old else now,
        "lastModifiedDate": now,
    }
    return rec, old is None
