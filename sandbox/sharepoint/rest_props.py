"""SharePoint REST property bags: ``GET _api/web/AllProperties`` (also ``web/RootFolder/Properties``) and
``GET _api/web/lists/getbytitle('X')/RootFolder/Properties`` (libraries and custom lists), as ``SP.PropertyValues``.

- Keys are shown as SharePoint's REST shows them: ``_`` written ``_x005f_`` (``vti_x005f_defaultlanguage``), a
  space ``_x0020_``; values are text. A web starts with a few of SharePoint's own keys
  (``vti_defaultlanguage``, ``vti_extenderversion``, ``vti_associatemembergroup``) [unc: the real set is longer];
  a list's root folder with ``vti_listtitle`` [unc]. ``$select`` picks keys (by their shown names).
- Writes: SharePoint REST does not write property bags (it takes CSOM, and is denied on no-script sites);
  ``MERGE``/``PATCH``/``PUT`` on ``AllProperties`` or ``…/Properties`` is 400 "The type SP.PropertyValues does not
  support HTTP MERGE method." [unc: recalled wording], and an ``SP.Web`` update that carries ``AllProperties``
  (office365's ``web.set_property("AllProperties", {...}).update()``) is 400 the same way [unc: SharePoint may
  ignore it instead]. The sandbox sets values through ``sb.property_bag(scope)`` (a dict; scope is the site id,
  ``{site id}/{library name}``, or ``{site id}/{list id}`` for a custom list, which keeps its bag when renamed)
  [sandbox allowance].
"""

from __future__ import annotations

from typing import Any

from sandbox.core.http import Request, Response
from sandbox.sharepoint.rest_errors import RestError

WEB_DEFAULTS = {"vti_defaultlanguage": "en-us", "vti_extenderversion": "16.0.0.24720",
                "vti_associatemembergroup": "5", "vti_associateownergroup": "3", "vti_associatevisitorgroup": "4"}
NO_WRITE = ("-1, Microsoft.SharePoint.Client.InvalidClientQueryException", "The type SP.PropertyValues does not "
            "support HTTP {method} method.")


def shown_key(key: str) -> str:
    return key.replace("_", "_x005f_").replace(" ", "_x0020_")


class RestProps:
    """Mixed into ``GraphSandbox`` (uses ``_rest_json``, ``_rest_entity``, ``_rest_web_url``, ``store``)."""

    def property_bag(self, scope: str, title: str = "") -> dict[str, str]:
        """The bag of ``scope``, made on first use (``title``: a list's, when its scope names it by id)."""
        bags = self.__dict__.setdefault("_property_bags", {})
        if scope not in bags:
            bags[scope] = dict(WEB_DEFAULTS) if "/" not in scope else {
                "vti_listtitle": title or scope.split("/", 1)[1]}  # [unc] kept as made when the list is renamed
        return bags[scope]

    def rest_props(self, req: Request, scope: str, uri: str, verbose: bool, title: str = "") -> Response:
        if req.method != "GET" or req.header("X-HTTP-Method").upper() in ("MERGE", "PATCH", "PUT", "DELETE"):
            method = (req.header("X-HTTP-Method") or req.method).upper()
            raise RestError(400, (NO_WRITE[0], NO_WRITE[1].format(method=method)))
        shown = {shown_key(k): str(v) for k, v in sorted(self.property_bag(scope, title).items())}
        wanted = [s.strip() for s in req.query.get("$select", "").split(",") if s.strip()]
        if wanted:
            shown = {k: v for k, v in shown.items() if k in wanted}
        return self._rest_json(self._rest_entity(shown, "SP.PropertyValues", uri, verbose), verbose)

    @staticmethod
    def rest_refuse_bag_write(req: Request, body: Any) -> None:
        """An ``SP.Web`` update carrying ``AllProperties``: refused as SharePoint REST does not write it [unc]."""
        if isinstance(body, dict) and "AllProperties" in body:
            raise RestError(400, (NO_WRITE[0], NO_WRITE[1].format(method="MERGE")))
