"""A site's subsites and permissions through Graph, for ``GraphSandbox`` (``site_routes`` keeps the rest).

- ``GET /sites/{site}/sites``: the site's subsites; the emulator's sites have none, so ``{"value": []}``
  (a site the app has no grant on is 403 accessDenied, as the site itself). Before, the segment was read as
  part of the site's id: 404 "Requested site could not be found".
- ``GET /sites/{site}/permissions[/{id}]``: the app permissions ``Sites.Selected`` grants are listed only to
  an app holding ``Sites.FullControl.All`` (Graph's least privileged permission for the call); every app here
  holds ``Sites.Selected``, so 403 accessDenied [unc: the message].
- ``GET /sites/{site}/columns`` and ``/sites/{site}/contentTypes`` (msgraph-sdk's ``sites.by_site_id(…).columns``
  / ``.content_types``): the site's built-in columns (Title, FileLeafRef, ID, ContentType, Modified, Created,
  Author, Editor) and content types (Item ``0x01``, Document ``0x0101``, Folder ``0x0120``) [unc: a real site
  lists hundreds of built-in columns and dozens of content types; these are the ones lists here use].
  Before, the segment was read as part of the site's id: 404 "Requested site could not be found".
"""

from __future__ import annotations

from sandbox.core.http import Request, Response, json_response
from sandbox.sharepoint.errors import GraphError
from sandbox.sharepoint.graph_lists import BUILT_IN, LIBRARY_BUILT_IN
from sandbox.sharepoint.sites import SITE


class GraphSiteMore:
    """Mixed into ``GraphSandbox`` (uses ``store`` and ``Sites._site``)."""

    def site_more_routes(self, router, authed) -> None:
        router.add("GET", rf"/v1\.0/sites/{SITE}/sites/?", authed(self.subsites))
        router.add("GET", rf"/v1\.0/sites/{SITE}/permissions(?:/[^/]+)?/?", authed(self.site_permissions))
        router.add("GET", rf"/v1\.0/sites/{SITE}/columns/?", authed(self.site_columns))
        router.add("GET", rf"/v1\.0/sites/{SITE}/contentTypes/?", authed(self.site_content_types))

    def _granted_site(self, req: Request) -> str:
        site = self._site(req.params["site"])
        if not any(req.principal in d.grants for d in self.store.drives.values() if d.site_id == site):
            raise GraphError(403, "accessDenied", "Access denied")
        return site

    def subsites(self, req: Request) -> Response:
        self._granted_site(req)
        return json_response({"@odata.context": f"{req.base_url}/v1.0/$metadata#sites", "value": []})

    def site_permissions(self, req: Request) -> Response:
        self._site(req.params["site"])
        raise GraphError(403, "accessDenied", "Access denied")

    def site_columns(self, req: Request) -> Response:
        site = self._granted_site(req)
        built_in = (*BUILT_IN[:1], *LIBRARY_BUILT_IN[1:2], *BUILT_IN[1:7])
        value = [{**self._g_column(site, n, kind, ro, built_in=gid), "columnGroup": "Core Document Columns"
                  if n == "FileLeafRef" else "_Hidden" if n == "ContentType" else "Base Columns"}
                 for n, gid, kind, ro in built_in]
        return json_response({"@odata.context": f"{req.base_url}/v1.0/$metadata#sites('{site}')/columns",
                              "value": value})

    def site_content_types(self, req: Request) -> Response:
        site = self._granted_site(req)
        value = [{"id": cid, "name": name, "description": desc, "group": group, "hidden": False, "readOnly": False,
                  "sealed": False, "isBuiltIn": True, **({"parentId": parent} if parent else {}),
                  "base": {"id": cid, "name": name}}
                 for cid, name, desc, group, parent in (
                     ("0x01", "Item", "Create a new list item.", "List Content Types", None),
                     ("0x0101", "Document", "Create a new document.", "Document Content Types", "0x01"),
                     ("0x0120", "Folder", "Create a new folder.", "Folder Content Types", "0x01"))]
        return json_response({"@odata.context": f"{req.base_url}/v1.0/$metadata#sites('{site}')/contentTypes",
                              "value": value})
