"""SharePoint's realm challenge, for ``GraphSandbox``: how a SharePoint app-only client (ACS) finds its tenant.

office365-rest-python-client's ``ACSTokenProvider`` (``AuthenticationContext.acquire_token_for_app``,
``ClientContext.with_client_credentials``) sends ``HEAD {site URL}`` with ``Authorization: Bearer`` and no
token, and reads the realm (the tenant id) from the first part of the ``WWW-Authenticate`` header of the 401;
other tools do the same with ``GET {site}/_vti_bin/client.svc``. SharePoint Online answers 401 with
``Bearer realm="<tenant id>",client_id="00000003-0000-0ff1-ce00-000000000000",trusted_issuers=…,
authorization_uri=…`` (``rest_errors.CHALLENGE``) on the tenant's root, a site's URL and ``_vti_bin/client.svc``.

The emulator's realm of a site is the tenant of the apps granted one of its libraries (the store keeps no
tenant per site); on the root, that of the first such site, else the only tenant the directory has.
With a valid token: the site URL answers a bare HTML page [unc: SharePoint renders the site's home page];
``client.svc`` (CSOM's ``ProcessQuery``) is not emulated: 400 in SharePoint's error shape.

(``ACSTokenProvider`` then posts to ``https://login.microsoftonline.com/{realm}/tokens/OAuth/2``, a host it
hard-codes, so that second step never reaches the sandbox.)
"""

from __future__ import annotations

from urllib.parse import unquote

from sandbox.core.http import Request, Response
from sandbox.sharepoint.rest_errors import error_response, request_ids, unauthorized

SITE = r"/(?P<kind>sites|teams)/(?P<site>[^/]+)"


class RestRealm:
    """Mixed into ``GraphSandbox`` (uses ``store``, ``directory`` and ``RestApi``'s ``_rest_auth``)."""

    def realm_routes(self, router) -> None:
        router.add("GET", r"/?", self.realm_site, auth_faults=False)  # the tenant's root site
        router.add("GET", SITE + r"/?", self.realm_site, auth_faults=False)
        for method in ("GET", "POST"):
            router.add(method, r"(?:" + SITE + r")?/_vti_bin/client\.svc(?:/.*)?", self.realm_site,
                       auth_faults=False)

    def realm_of(self, site: str | None) -> str:
        """The tenant id SharePoint names as the realm of ``site`` (None: the tenant's root)."""
        for drive in self.store.drives.values():
            if site is None or drive.site_id == site:
                for principal in drive.grants:
                    return str(principal).split("/")[0]
        tenants = sorted(self.directory.tenants)
        return tenants[0] if len(tenants) == 1 else ""

    def _realm_site_id(self, req: Request) -> str | None:
        name = unquote(req.params.get("site") or "").lower()
        if not name:
            return None
        return next((sid for sid, n in self.store.sites.items() if name in (n.lower(), n.lower().replace(" ", ""))),
                    None)

    def realm_site(self, req: Request) -> Response:
        site = self._realm_site_id(req)
        if req.params.get("site") and site is None:
            return Response(404, b"<html><body>404 NOT FOUND</body></html>", "text/html; charset=utf-8",
                            request_ids())  # [unc] SharePoint's page for an unknown site
        sites = list(self.store.sites)
        target = site or (sites[0] if sites else None)
        if target is None:
            return unauthorized("Unsupported security token.", self.realm_of(None))
        refused = self._rest_auth(req, target)  # rest.py: 401 with this realm for a missing or refused token
        if refused is not None:
            return refused
        if "/_vti_bin/" in req.path:
            return error_response(req, 400, "-1, Microsoft.SharePoint.Client.ClientServiceException",
                                  "client.svc (CSOM ProcessQuery) is not emulated; use the REST API (_api).")
        return Response(200, b"<!DOCTYPE html><html><head><title>SharePoint</title></head><body></body></html>",
                        "text/html; charset=utf-8", request_ids())

