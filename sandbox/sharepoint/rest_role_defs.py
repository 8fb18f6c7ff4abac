"""A site's role definitions (permission levels) through SharePoint REST v1, for ``GraphSandbox``, as
office365-rest-python-client's ``web.role_definitions`` reads and writes them:

- ``GET web/RoleDefinitions`` (SharePoint's six, ``rest_schema.ROLES``, then those made on the site),
  ``RoleDefinitions(id)``, ``GetById(id)``, ``GetByName('…')``, ``GetByType(n)`` (``RoleTypeKind``; a made one is
  0, None, and is not found by type); an unknown one is 404 "Value does not fall within the expected range.".
- ``POST web/RoleDefinitions`` (``role_definitions.add(BasePermissions, name)``: ``Name``, ``BasePermissions``
  ``{High, Low}``, ``Description``, ``Order``) makes one (201, the new ``SP.RoleDefinition``; ids from
  1073741924, unique in the store [unc]); a name the site has (any case) is 400 [unc: the text].
  ``DELETE RoleDefinitions(id)`` removes a made one and its bindings in every role assignment of the site;
  SharePoint's own are 400 [unc].
- Writes need ManagePermissions: only an app granted ``fullcontrol`` on the site (``GraphStore.full_control``);
  a ``write`` (Edit role) app is 403 "Access denied.".
"""

from __future__ import annotations

from typing import Any

from sandbox.core.http import Request, Response
from sandbox.core.numbers import json_int
from sandbox.sharepoint.rest import args
from sandbox.sharepoint.rest_errors import BAD, DENIED, RestError
from sandbox.sharepoint.rest_schema import ROLES

FIRST_ID = 1073741924
NO_ROLE = ("-2147024809, System.ArgumentException", "Value does not fall within the expected range.")
SPX = "-2146232832, Microsoft.SharePoint.SPException"


def _mask(raw: Any) -> tuple[str, str]:
    """``{"High": "432", "Low": "1011030767"}`` (numbers or their text) as two Int64 texts; else 400."""
    if not isinstance(raw, dict):
        raise RestError(400, ("-2147024809, System.ArgumentException", "BasePermissions is required."))  # [unc]
    out = []
    for key in ("High", "Low"):
        value = raw.get(key, 0)
        # ASCII digits (isdigit() took '٣' as 3, and '²', which int() then refused: a 500; 5,000 digits too)
        number = json_int(value.strip() if isinstance(value, str) else value, cap=2**32)
        if number is None or number > 2**32 - 1:
            raise RestError(400, ("-1, Microsoft.OData.ODataException", f"Cannot convert the value of '{key}'."))
        out.append(str(number))
    return out[0], out[1]


class RestRoleDefs:
    """Mixed into ``GraphSandbox`` with ``RestRoleWrites`` (``site_roles``) and ``RestSchema`` (``_rest_role``)."""

    def rest_role_definitions(self, req: Request, site: str, segs: list[tuple[str, str | None]],
                              verbose: bool) -> Response:
        names = [n for n, _ in segs]
        method = req.header("X-HTTP-Method").upper() or req.method
        roles = self.site_roles(site)
        if method != "GET" and req.principal not in self.store.full_control.get(site, set()):
            raise RestError(403, DENIED)  # ManagePermissions
        if names == ["roledefinitions"] and not segs[0][1]:
            if method == "GET":
                return self._rest_json(self._rest_collection([self._rest_role(req, r, verbose) for r in roles],
                                                             verbose), verbose)
            if method != "POST":
                raise RestError(400, BAD)
            body = req.json() if req.body else {}
            body = body if isinstance(body, dict) else {}
            name = body.get("Name")
            if not isinstance(name, str) or not name.strip():
                raise RestError(400, ("-2147024809, System.ArgumentException", "Name is required."))  # [unc]
            high, low = _mask(body.get("BasePermissions"))
            with self.store.lock:
                made = self.store.role_defs.setdefault(site, [])
                if name.strip().lower() in {r[1].lower() for r in self.site_roles(site)}:
                    raise RestError(400, (SPX, "The role definition name is already in use."))  # [unc]
                rid = max([FIRST_ID - 1, *(r[0] for rs in self.store.role_defs.values() for r in rs)]) + 1
                order = body.get("Order") if isinstance(body.get("Order"), int) else 1024  # [unc] the default
                role = (rid, name.strip(), str(body.get("Description") or ""), 0, order, high, low)
                made.append(role)
            return self._rest_json(self._rest_role(req, role, verbose), verbose, 201)
        by = names[1] if len(names) > 1 and names[1] in ("getbyid", "getbyname", "getbytype") else "getbyid"
        key = args(segs[1][1] if by != "getbyid" or names[1:2] == ["getbyid"] else segs[0][1]).get("", "")
        rest = names[2:] if names[1:2] == [by] else names[1:]
        column = {"getbyid": 0, "getbyname": 1, "getbytype": 3}[by]
        hit = next((r for r in roles if str(r[column]).lower() == key.lower() and (by != "getbytype" or r[3])), None)
        if hit is None:
            raise RestError(404, NO_ROLE)
        if rest:
            raise RestError(400, BAD)
        if method == "GET":
            return self._rest_json(self._rest_role(req, hit, verbose), verbose)
        if method != "DELETE":
            raise RestError(400, BAD)
        if hit in ROLES:
            raise RestError(400, (SPX, "You cannot delete a default permission level."))  # [unc]
        with self.store.lock:
            self.store.role_defs[site].remove(hit)
            for pairs in self.store.unique_roles.values():  # its bindings go with it
                pairs[:] = [p for p in pairs if p[1] != hit[0]]
        return Response(200, b"")
