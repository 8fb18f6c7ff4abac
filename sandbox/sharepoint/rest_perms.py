"""``EffectiveBasePermissions`` in SharePoint REST v1: the app's permissions on the web, a list or a list item,
as scripts read them before writing (office365's ``list.effective_base_permissions.has(PermissionKind.…)``
after ``get().select(["EffectiveBasePermissions"])``, or ``GET …/EffectiveBasePermissions``). A
``Sites.Selected`` ``write`` grant is SharePoint's Edit role, ``read`` its Read role (``SP.BasePermissions``
``High``/``Low`` as Int64 text: Edit 432 / 1011030767, Read 176 / 138612833); on the web, the app's highest grant
on any of the site's libraries [unc: Sites.Selected grants a whole site; the emulator grants per library].
The property is shown only when ``$select`` names it, as SharePoint does. Before, the path was 400 "The
expression … is not valid." and ``$select`` left it out (office365 saw an empty mask: no permission at all)."""

from __future__ import annotations

from typing import Any

from sandbox.core.http import Request, Response
from sandbox.sharepoint.store import Drive

MASKS = {"write": ("432", "1011030767"), "read": ("176", "138612833")}  # Edit, Read


def base_permissions(grant: str | None, verbose: bool) -> dict[str, Any]:
    high, low = MASKS.get(grant or "", ("0", "0"))
    value = {"High": high, "Low": low}
    return {"__metadata": {"type": "SP.BasePermissions"}, **value} if verbose else value


class RestPerms:
    """Mixed into ``GraphSandbox`` with ``RestApi`` (uses ``store`` and ``_rest_json``)."""

    def rest_grant(self, req: Request, site: str, d: Drive | None = None) -> str | None:
        """The app's grant on ``d``, or its highest on the site's libraries."""
        drives = [d] if d is not None else [x for x in self.store.drives.values() if x.site_id == site]
        grants = {x.grants.get(req.principal) for x in drives}
        return "write" if "write" in grants else "read" if "read" in grants else None

    def rest_effective_perms(self, req: Request, site: str, d: Drive | None, verbose: bool) -> Response:
        value = base_permissions(self.rest_grant(req, site, d), verbose)
        return self._rest_json({"EffectiveBasePermissions": value} if verbose else value, verbose)
