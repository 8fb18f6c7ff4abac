"""Sharing of a drive item, for ``GraphSandbox``: ``createLink``, ``invite`` and ``permissions``.

- ``POST createLink`` ``{"type": "view"|"edit", "scope": "anonymous"|"organization"|"users",
  "password"?, "expirationDateTime"?}``; without ``scope`` the organisation's default link scope is made, as
  Graph documents ("the default link type for the organization"): ``GraphSandbox.default_link_scope``,
  ``organization`` unless a test sets another (SharePoint admin's default link setting) [unc: tenants
  differ]. ``201`` and a permission with ``link`` (``type``, ``scope``,
  ``webUrl``, ``preventsDownload``) and ``roles`` (``read``; ``write`` for edit); the same type and
  scope again answers the existing link with ``200``, as Graph does. Other types or scopes: 400.
  ``embed`` is OneDrive personal's only: SharePoint answers ``notSupported`` "Requested sharingLink type is
  not yet available." (the code and message as Graph gives them; the status 400 is [unc]).
- ``POST invite`` ``{"recipients": [{"email"}], "roles": ["read"|"write"], "requireSignIn",
  "sendInvitation", "message"}``: ``200`` and ``{"value": [permission…]}``, one per recipient, with
  ``grantedTo``/``grantedToV2`` and ``invitation``. No recipients or roles: 400.
- ``GET permissions`` (and ``$expand=permissions`` on the item), ``GET``/``PATCH`` (``roles``, and
  ``expirationDateTime``)/``DELETE`` ``permissions/{id}`` (``204``); an unknown id is 404.
- ``GET /shares/{shareId}/driveItem[/content]``: the item a link shares, by the link's ``shareId`` or by its
  URL encoded as Graph asks (``u!`` + unpadded base64url of ``link.webUrl``); the app still needs a grant on
  the drive (403 accessDenied), and an unknown or deleted link is 404 itemNotFound.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import uuid
from typing import Any
from urllib.parse import unquote

from sandbox.core.http import Request, Response, json_response
from sandbox.sharepoint.errors import GraphError
from sandbox.sharepoint.store import Item

LINK_TYPES = {"view": ["read"], "edit": ["write"], "embed": ["read"]}  # embed: refused below
SCOPES = {"anonymous", "organization", "users"}
ROLES = {"read", "write", "owner"}


class Sharing:
    """Mixed into ``GraphSandbox`` (uses its ``store``, ``_item_resource`` and ``_download_url``)."""

    default_link_scope = "organization"  # the tenant's default sharing link scope, for createLink without one

    def permissions_route(self, item: Item, op: str, rest: str, req: Request) -> Response:
        if op == "createLink" and req.method == "POST" and not rest:
            return self.create_link(item, req)
        if op == "invite" and req.method == "POST" and not rest:
            return self.invite(item, req)
        if op != "permissions":
            raise GraphError(405, "invalidRequest", f"{req.method} is not supported on {op}.")
        pid = rest.strip("/")
        if not pid:
            if req.method != "GET":
                raise GraphError(405, "invalidRequest", f"{req.method} is not supported on permissions.")
            return json_response({"@odata.context": f"{req.base_url}/v1.0/$metadata#Collection(permission)",
                                  "value": list(item.permissions)})
        perm = next((p for p in item.permissions if p["id"] == pid), None)
        if perm is None:
            raise GraphError(404, "itemNotFound", "The permission was not found.")
        if req.method == "GET":
            return json_response(perm)
        if req.method == "DELETE":
            item.permissions.remove(perm)
            return Response(204, b"")
        if req.method == "PATCH":
            body = self._body(req)
            roles = body.get("roles")
            if roles is not None and (not isinstance(roles, list) or not set(roles) <= ROLES or not roles):
                raise GraphError(400, "invalidRequest", "Invalid value for roles.")
            if roles is not None:
                perm["roles"] = list(roles)
            if body.get("expirationDateTime"):
                perm["expirationDateTime"] = str(body["expirationDateTime"])
            return json_response(perm)
        raise GraphError(405, "invalidRequest", f"{req.method} is not supported on a permission.")

    def shared_item(self, req: Request) -> Response:
        ref = unquote(req.params["share"])
        try:
            url = base64.urlsafe_b64decode(ref[2:] + "=" * (-len(ref[2:]) % 4)).decode() if ref[:2] == "u!" else None
        except (binascii.Error, ValueError):
            url = None
        for item in list(self.store.items.values()):
            if any(p.get("shareId") == ref or (url and (p.get("link") or {}).get("webUrl") == url)
                   for p in item.permissions):
                drive = self.store.drives[item.drive_id]
                if req.principal not in drive.grants:
                    raise GraphError(403, "accessDenied", "Access denied")
                if req.params.get("rest") and item.content is not None:
                    return Response(302, b"", "text/plain", [("Location", self._download_url(item, req))])
                return json_response(self._item_resource(item, drive, req))
        raise GraphError(404, "itemNotFound", "The sharing link could not be found.")

    @staticmethod
    def _body(req: Request) -> dict[str, Any]:
        try:
            body = req.json() if req.body else {}
        except ValueError:
            raise GraphError(400, "BadRequest", "Unable to read JSON request payload.") from None
        if not isinstance(body, dict):
            raise GraphError(400, "BadRequest", "The request body must be a JSON object.")
        return body

    def create_link(self, item: Item, req: Request) -> Response:
        body = self._body(req)
        kind, scope = body.get("type"), body.get("scope") or self.default_link_scope
        if kind not in LINK_TYPES:
            raise GraphError(400, "invalidRequest", f"Invalid value '{kind}' for the link type.")
        if kind == "embed":  # documented for OneDrive personal only; the status is [unc]
            raise GraphError(400, "notSupported", "Requested sharingLink type is not yet available.")
        if scope not in SCOPES:
            raise GraphError(400, "invalidRequest", f"Invalid value '{scope}' for the link scope.")
        for perm in item.permissions:
            link = perm.get("link") or {}
            if link.get("type") == kind and link.get("scope") == scope and not body.get("password"):
                return json_response(perm, 200)
        share = "u!" + secrets.token_urlsafe(18)
        letter = {"view": "r", "edit": "w", "embed": "e"}[kind]
        perm: dict[str, Any] = {
            "id": secrets.token_hex(16), "roles": list(LINK_TYPES[kind]), "shareId": share,
            "hasPassword": bool(body.get("password")), "grantedToIdentitiesV2": [], "grantedToIdentities": [],
            "link": {"type": kind, "scope": scope, "preventsDownload": False,
                     "webUrl": f"https://contoso.sharepoint.com/:{letter}:/s/GRC/{secrets.token_urlsafe(22)}"}}
        if body.get("expirationDateTime"):
            perm["expirationDateTime"] = str(body["expirationDateTime"])
        item.permissions.append(perm)
        return json_response(perm, 201)

    def invite(self, item: Item, req: Request) -> Response:
        body = self._body(req)
        recipients, roles = body.get("recipients"), body.get("roles")
        if not isinstance(recipients, list) or not recipients:
            raise GraphError(400, "invalidRequest", "At least one recipient is required.")
        if not isinstance(roles, list) or not roles or not set(roles) <= ROLES:
            raise GraphError(400, "invalidRequest", "Invalid value for roles: use read or write.")
        made = []
        for r in recipients:
            email = (r or {}).get("email") or (r or {}).get("alias") or ""
            if not email and not (r or {}).get("objectId"):
                raise GraphError(400, "invalidRequest", "A recipient needs an email, alias or objectId.")
            who = {"user": {"email": email, "displayName": email.split("@")[0] or r.get("objectId"),
                            "id": r.get("objectId") or str(uuid.uuid5(uuid.NAMESPACE_URL, email))}}
            perm = {"id": secrets.token_hex(16), "roles": list(roles), "grantedTo": who, "grantedToV2": who,
                    "invitation": {"email": email, "signInRequired": bool(body.get("requireSignIn", True))}}
            if body.get("expirationDateTime"):
                perm["expirationDateTime"] = str(body["expirationDateTime"])
            item.permissions.append(perm)
            made.append(perm)
        return json_response({"@odata.context": f"{req.base_url}/v1.0/$metadata#Collection(permission)",
                              "value": made})
