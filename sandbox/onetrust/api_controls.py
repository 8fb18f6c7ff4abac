"""Control implementations and attestation evidence attachments (scope CONTROL).

OneTrust documents a control-implementations API group (``onetrust-control-implementations-api``)
but the reference (vendor-apis.md §3.6) gives no paths or bodies, and no attestation API at all, so
these shapes are the sandbox's choice, modelled on the controls library endpoints beside them:

- ``POST /api/controls/v1/control-implementations`` body ``{"name" (required), "description",
  "externalId" (idempotency key), "controlId" | "controlIdentifier" (optional: the library control
  implemented; unknown -> 400), "status": NOT_IMPLEMENTED|PARTIALLY_IMPLEMENTED|IMPLEMENTED,
  "owner": {"name", "email"}, "source"}`` -> 201 with the stored record (``id``, ``version``,
  ``createdDate``, ``lastModifiedDate`` added); the same ``externalId`` again merges into that record
  (``version`` + 1) and answers 200.
- ``GET /api/controls/v1/control-implementations?externalId&page&size`` -> flat Spring page;
  ``GET|PUT /api/controls/v1/control-implementations/{id}`` (PUT merges the body, 200; 404 unknown).
- Attestations (see :mod:`sandbox.onetrust.api_inventory`) also take ``controlImplementationId``.
- ``POST {attestation path}/{id}/attachments``: ``multipart/form-data`` with one part named
  ``file`` -> 201 ``{"id", "attestationId", "fileName", "contentType", "size", "sha256",
  "createdDate"}`` (no idempotency: the same file twice is two attachments, so clients list first);
  ``GET {attestation path}/{id}/attachments`` -> ``{"content": [...]}``. 404 for an unknown
  attestation, 413 above 10 MiB, 400 without a ``file`` part.
"""

from __future__ import annotations

import copy
import hashlib
import uuid
from email import policy
from email.parser import BytesParser
from typing import TYPE_CHECKING, Any

from sandbox.core.http import HTTPError, Request, Response, Router, json_response
from sandbox.onetrust.api_risk import body_json
from sandbox.onetrust.draw import fold_uuid
from sandbox.onetrust.pages import page_params, spring_page

if TYPE_CHECKING:
    from sandbox.onetrust.app import OneTrustSandbox

IMPL = "/api/controls/v1/control-implementations"
STATUSES = ("NOT_IMPLEMENTED", "PARTIALLY_IMPLEMENTED", "IMPLEMENTED")
FIELDS = ("name", "description", "status", "owner", "source")
MAX_ATTACHMENT = 10 * 1024 * 1024


def library_control(sb: OneTrustSandbox, ref: Any) -> dict[str, Any] | None:
    ref = fold_uuid(ref)
    controls = sb.store.tables["controls"]
    return next((controls.row(i) for i in range(len(controls.rows))
                 if ref in (controls.row(i)["id"], controls.row(i)["identifier"])), None)


def register(sb: OneTrustSandbox, router: Router) -> None:
    def upsert(req: Request) -> Response:
        sb.authorize(req, "CONTROL")
        body = body_json(req)
        with sb.store.lock:
            ext = body.get("externalId")
            old = next((r for r in sb.implementations.values() if ext and r.get("externalId") == ext), None)
            rec = _implementation(sb, body, old)
            sb.implementations[rec["id"]] = rec
        return json_response(copy.deepcopy(rec), 200 if old else 201)

    def listing(req: Request) -> Response:
        sb.authorize(req, "CONTROL")
        page, size = page_params(req, 20, 2000)
        ext = req.query.get("externalId")
        with sb.store.lock:
            rows = [copy.deepcopy(r) for r in sb.implementations.values() if not ext or r.get("externalId") == ext]
        rows.sort(key=lambda r: r["createdDate"])
        return json_response(spring_page(rows[page * size:(page + 1) * size], page, size, len(rows)))

    def one(req: Request) -> Response:
        sb.authorize(req, "CONTROL")
        with sb.store.lock:
            old = sb.implementations.get(fold_uuid(req.params["id"]))
            if old is None:
                raise HTTPError(404, "Not Found", f"Control implementation {req.params['id']} not found")
            if req.method == "PUT":
                old = sb.implementations[old["id"]] = _implementation(sb, body_json(req), old)
            return json_response(copy.deepcopy(old))

    def attach(req: Request) -> Response:
        sb.authorize(req, "CONTROL")
        ctype = req.header("Content-Type")
        if "multipart/form-data" not in ctype.lower():
            raise HTTPError(415, "Unsupported Media Type", "attachments must be multipart/form-data")
        if len(req.body) > MAX_ATTACHMENT:
            raise HTTPError(413, "Payload Too Large", f"attachments are limited to {MAX_ATTACHMENT} bytes")
        msg = BytesParser(policy=policy.HTTP).parsebytes(b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n"
                                                         + req.body)
        parts = [p for p in msg.iter_parts() if p.get_param("name", header="content-disposition") == "file"]
        if not parts:
            raise HTTPError(400, "Bad Request", "No file part: the multipart part must be named 'file'")
        data = parts[0].get_payload(decode=True) or b""
        with sb.store.lock:
            att = sb.store.get("attestations", req.params["id"])
            if att is None:
                raise HTTPError(404, "Not Found", f"Attestation {req.params['id']} not found")
            rec = {"id": str(uuid.uuid4()), "attestationId": att["id"],
                   "fileName": parts[0].get_filename() or "evidence", "contentType": parts[0].get_content_type(),
                   "size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "createdDate": sb.store.now()}
            sb.attachments.setdefault(att["id"], []).append(rec)
        return json_response(rec, 201)

    def attachments(req: Request) -> Response:
        sb.authorize(req, "CONTROL")
        with sb.store.lock:
            att = sb.store.get("attestations", req.params["id"])
            if att is None:
                raise HTTPError(404, "Not Found", f"Attestation {req.params['id']} not found")
            return json_response({"content": copy.deepcopy(sb.attachments.get(att["id"], []))})

    router.add("POST", IMPL, upsert)
    router.add("GET", IMPL, listing)
    router.add("GET", IMPL + r"/(?P<id>[^/]+)", one)
    router.add("PUT", IMPL + r"/(?P<id>[^/]+)", one)
    router.add("POST", sb.attestation_path + r"/(?P<id>[^/]+)/attachments", attach)
    router.add("GET", sb.attestation_path + r"/(?P<id>[^/]+)/attachments", attachments)


def _implementation(sb: OneTrustSandbox, body: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    if old is None and not str(body.get("name") or "").strip():
        raise HTTPError(400, "Bad Request", "name is required")
    if body.get("status") is not None and body["status"] not in STATUSES:
        raise HTTPError(400, "Bad Request", f"status must be one of {list(STATUSES)}")
    ref = body.get("controlId") or body.get("controlIdentifier")
    control = library_control(sb, ref) if ref else None
    if ref and control is None:
        raise HTTPError(400, "Bad Request", f"Unknown control {ref!r}: give a controlId or controlIdentifier "
                                            "from the controls library, or none")
    now = sb.store.now()
    rec = copy.deepcopy(old) if old else {"id": str(uuid.uuid4()), "externalId": body.get("externalId"),
                                          "status": "NOT_IMPLEMENTED", "version": 0, "createdDate": now,
                                          "controlId": None, "controlIdentifier": None}
    rec.update({k: copy.deepcopy(body[k]) for k in FIELDS if k in body})
    if control is not None:
        rec.update(controlId=control["id"], controlIdentifier=control["identifier"])
    rec.update(version=rec["version"] + 1, lastModifiedDate=now)
    return rec
