"""`PUT /api/inventory/v2/inventories/{schemaName}/{id}/status` - Update Inventory Status.

From OneTrust's Data Mapping Automation OAS (`updateInventoryStatusByIdUsingPUT`): body `KeyNameDto`
`{"key": "active", "name": "Active"}`, 200 with no body documented (answered empty here) [unc]; scopes
INVENTORY / INVENTORY_WRITE / DATA_MAPPING_INVENTORY_CHANGE_STATUS; 404 for an unknown record (the id
matched ignoring case). The record's `status` becomes `{"key", "value"}` (the shape the lists serve;
`value` is `name`, or the key capitalised) and its `lastUpdatedDate` moves. Which keys a tenant allows
is configurable in OneTrust, so any non-empty string key is taken [unc]; a missing or non-string key is 400.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from sandbox.core.http import HTTPError, Request, Response, Router
from sandbox.onetrust.api_inventory import INV, _schema
from sandbox.onetrust.api_risk import body_json

if TYPE_CHECKING:
    from sandbox.onetrust.app import OneTrustSandbox

SCOPES = ("INVENTORY", "INVENTORY_WRITE", "DATA_MAPPING_INVENTORY_CHANGE_STATUS")


def register(sb: OneTrustSandbox, router: Router) -> None:
    def status(req: Request) -> Response:
        schema = _schema(req)
        sb.authorize(req, *SCOPES)
        body = body_json(req)
        key, name = body.get("key"), body.get("name")
        if not isinstance(key, str) or not key.strip() or (name is not None and not isinstance(name, str)):
            raise HTTPError(400, "Bad Request", "key (a status key such as 'active') is required; name is a string")
        with sb.store.lock:
            rec = sb.store.get("vendors", req.params["id"]) if schema == "vendors" else None
            if rec is None:
                raise HTTPError(404, "Not Found", f"Inventory record {req.params['id']} not found")
            rec = copy.deepcopy(rec)
            rec["status"] = {"key": key.strip(), "value": name or key.strip().replace("_", " ").capitalize()}
            sb.store.save("vendors", rec)
        return Response(status=200)

    router.add("PUT", INV + r"/(?P<id>[^/]+)/status", status)
