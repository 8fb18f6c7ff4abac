"""Service operations of a web and a site collection through SharePoint REST that office365-rest-python-client's
own test suite calls, for ``GraphSandbox`` (uses ``rest_recycle.py``'s bin and ``rest_perms.py``'s masks).

- ``POST web/GetRecycleBinItems`` and ``site/GetRecycleBinItems`` (``{"rowLimit", "isAscending", "pagingInfo",
  "orderBy", "itemState"}``, all optional): the bin's items, ``itemState`` 1 the first stage, 2 the second,
  none or 0 all the web's (the first stage) or the site collection's (both) [unc]; by ``DeletedDate``
  (``isAscending``, true when left out), at most ``rowLimit``. They were 400 "The expression … is not valid.".
- ``GET|POST web/GetUserEffectivePermissions(@user)`` (a login name): the app's own login is its mask (as
  ``EffectiveBasePermissions``); a user of the site the app added gets the empty mask here [unc: their real
  rights come from the site's groups, which do not grant anything here]; an unknown login is 404 "User cannot be
  found.".
- A body value of the wrong type (``itemState`` "abc" or a list, ``rowLimit`` text, ``isAscending`` not a
  boolean) is 400 "Cannot convert a primitive value to the expected type 'Edm.Int32'. See the inner exception for
  more details." (``Edm.Boolean`` for ``isAscending``), OData's reading error [unc: SharePoint's code for it].
- ``GET web/lists`` (``rest.py`` hands it here): the libraries and custom lists the app sees; ``$filter`` reads
  every property of a list (whichever kind comes first), then ``$top``, then ``$select`` picks what is shown.
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.core.http import Request, Response
from sandbox.core.numbers import ascii_int
from sandbox.sharepoint.rest import args
from sandbox.sharepoint.rest_errors import RestError
from sandbox.sharepoint.rest_filter import query_rows
from sandbox.sharepoint.rest_perms import base_permissions
from sandbox.sharepoint.store import Drive

NO_USER = ("-2146232832, Microsoft.SharePoint.SPException", "User cannot be found.")
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
BAD_VALUE = "-1, Microsoft.SharePoint.Client.InvalidClientQueryException"  # [unc] the code


def bad_value(kind: str) -> RestError:
    """OData's answer to a body value it cannot read as the parameter's type."""
    return RestError(400, (BAD_VALUE, f"Cannot convert a primitive value to the expected type '{kind}'. See the "
                                      "inner exception for more details."))


def int_param(body: dict[str, Any], key: str) -> int | None:
    """``body[key]`` as an Edm.Int32 (None when left out or null); anything else (ASCII digits only, one optional
    minus, within Int32) is ``bad_value`` [unc: whether a numeric string is read]."""
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
        value = ascii_int(value.strip(), cap=2**32, signed=True)  # 5,000 digits: out of range, no ValueError
    elif isinstance(value, bool) or not isinstance(value, int):
        raise bad_value("Edm.Int32")
    if not INT32_MIN <= value <= INT32_MAX:
        raise bad_value("Edm.Int32")
    return value


class RestWebOps:
    """Mixed into ``GraphSandbox`` with ``RestApi``, ``RestRecycle``, ``RestPerms`` and ``RestUsers``."""

    def rest_web_op(self, req: Request, site: str, segs: list[tuple[str, str | None]], verbose: bool
                    ) -> Response | None:
        """The answer to ``web/…`` or ``site/…`` (``segs`` from ``web``/``site`` on), or None when not one of these."""
        names = [n for n, _ in segs]
        info = self.rest_user_info(req, site, segs, verbose) if names[:1] == ["web"] else None  # rest_user_info.py
        if info is not None:
            return info
        if len(names) == 2 and names[1] == "getrecyclebinitems" and req.method == "POST":
            return self._recycle_bin_items(req, site, names[0], verbose)
        if names[:2] == ["web", "getusereffectivepermissions"] and len(names) == 2 and req.method in ("GET", "POST"):
            login = args(segs[1][1]).get("", "")
            if not login and req.body:
                body = req.json()
                login = str(body.get("userName", "")) if isinstance(body, dict) else ""
            app = self.rest_app_user(req, False)["LoginName"]
            if login.lower() == app.lower():
                value = base_permissions(self.rest_grant(req, site), verbose)
            elif any(str(r["LoginName"]).lower() == login.lower() for r in self._rest_user_rows(req, site)):
                value = base_permissions(None, verbose)
            else:
                raise RestError(404, NO_USER)
            return self._rest_json({"GetUserEffectivePermissions": value} if verbose else value, verbose)
        return None

    def _recycle_bin_items(self, req: Request, site: str, scope: str, verbose: bool) -> Response:
        body: Any = req.json() if req.body else {}
        body = body if isinstance(body, dict) else {}
        state, limit, ascending = int_param(body, "itemState") or 0, int_param(body, "rowLimit"), body.get(
            "isAscending")
        if ascending is not None and not isinstance(ascending, bool):
            raise bad_value("Edm.Boolean")
        entries = [e for e in self._bin(site) if req.principal in self.bin_grants(e)  # rest_recycle.py
                   and (scope == "site" or e.get("ItemState", 1) == 1)
                   and (not state or e.get("ItemState", 1) == state)]
        entries.sort(key=lambda e: e["DeletedDate"], reverse=ascending is False)
        if limit is not None and limit >= 0:
            entries = entries[:limit]
        return self._rest_json(self._rest_collection([self._bin_entity(req, e, verbose) for e in entries], verbose),
                               verbose)

    def rest_web_lists(self, req: Request, site: str, granted: list[Drive], verbose: bool) -> Response:
        """``GET web/lists``: ``$filter`` on every property of each list, ``$top``, then ``$select``."""
        sources: list[Any] = [*granted, *(c for c in self.store.custom_lists.values()
                                          if c.site_id == site and req.principal in c.grants)]
        def render(x: Any, verb: bool, select: str | None = None) -> dict[str, Any]:
            if isinstance(x, Drive):
                return self._rest_list(req, x, verb, select)
            return self.rest_custom_entity(req, x, verb, select)  # custom_lists.py

        fulls = [render(x, False, "") for x in sources]
        of = {id(full): x for full, x in zip(fulls, sources, strict=True)}  # fulls keeps each row alive meanwhile
        kept = [of[id(r)] for r in query_rows(fulls, {k: v for k, v in req.query.items() if k in ("$filter", "$top")})]
        return self._rest_json(self._rest_collection([render(x, verbose) for x in kept], verbose), verbose)
