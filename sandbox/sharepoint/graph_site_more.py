"""A site's subsites and permissions through Graph, for ``GraphSandbox`` (``site_routes`` keeps the rest).

- ``GET /sites/{site}/sites``: the site's subsites; the emulator's sites have none, so ``{"value": []}``
  (a site the app has no grant on is 403 accessDenied, as the site itself). Before, the segment was read as
  part of the site's id: 404 "Requested site could not be found".
- ``GET /sites/{site}/permissions[/{id}]``: the app permissions ``Sites.Selected`` grants are listed only to
  an app holding ``Sites.FullControl.All`` (Graph's least privileged permission for the call); every app here
  holds ``Sites.Selected``, so 403 accessDenied [unc: the message].
"""

from __future__ import annotations

from sandbox.core.http import Request, Response, json_response
from sandbox.sharepoint.errors import GraphError
from sandbox.sharepoint.sites import SITE


class GraphSiteMore:
    """Mixed into ``GraphSandbox`` (uses ``store`` and ``Sites._site``)."""

    def site_more_routes(self, router, authed) -> None:
        router.add("GET", rf"/v1\.0/sites/{SITE}/sites/?", authed(self.subsites))
        router.add("GET", rf"/v1\.0/sites/{SITE}/permissions(?:/[^/]+)?/?", authed(self.site_permissions))

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
