"""``$select`` on a Graph site or drive (``GET /sites/{id}``, ``/sites/root``, ``/sites?search=``,
``/sites/{id}/drives``, ``/sites/{id}/drive``, ``/drives/{id}``): only the properties asked for are returned
(msgraph-sdk's ``RequestConfiguration(query_parameters=…(select=[…]))``); a name the type does not have is
400 BadRequest "Could not find a property named '…' on type 'microsoft.graph.…'.", as for a driveItem
(``listing.py``). Before, ``$select`` on these was ignored and every property came back."""

from __future__ import annotations

from typing import Any

from sandbox.sharepoint.errors import GraphError

DRIVE_PROPERTIES = {
    "id", "name", "driveType", "webUrl", "quota", "description", "createdDateTime", "lastModifiedDateTime",
    "createdBy", "lastModifiedBy", "owner", "sharePointIds", "system", "eTag", "parentReference",
    "createdByUser", "lastModifiedByUser", "root", "items", "list", "special", "following", "bundles"}
SITE_PROPERTIES = {
    "id", "name", "displayName", "createdDateTime", "lastModifiedDateTime", "webUrl", "siteCollection", "root",
    "description", "eTag", "sharepointIds", "isPersonalSite", "parentReference", "error", "createdBy",
    "lastModifiedBy", "createdByUser", "lastModifiedByUser", "drive", "drives", "lists", "columns",
    "contentTypes", "items", "onenote", "operations", "permissions", "sites", "termStore", "analytics", "pages",
    "externalColumns"}
TYPES = {"drive": DRIVE_PROPERTIES, "site": SITE_PROPERTIES}


def selected(out: dict[str, Any], query: dict[str, str], type_name: str) -> dict[str, Any]:
    """``out`` cut to ``$select`` (all of it without one); ``@odata.*`` annotations are kept."""
    raw = query.get("$select")
    if not raw:
        return out
    wanted = [p.strip() for p in raw.split(",") if p.strip()]
    for name in wanted:
        if name not in TYPES[type_name]:
            raise GraphError(400, "BadRequest",
                             f"Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'.")
    return {k: v for k, v in out.items() if k in wanted or k.startswith("@odata.")}
