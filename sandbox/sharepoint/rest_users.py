"""SharePoint REST v1 site users, as office365-rest-python-client's ``Web`` reads them:

- ``web/SiteUsers`` (``$filter``/``$select``), ``web/SiteUsers/GetById(n)``, ``web/GetUserById(n)``,
  ``web/SiteUsers/GetByEmail('…')``, ``web/SiteUsers/GetByLoginName('…')``: the app (id 1073741823, as
  ``CurrentUser``) and every user ``EnsureUser`` added; an unknown one is 404 "User cannot be found." [unc: status];
- ``POST web/EnsureUser('<login or email>')``: a user of the tenant (a claims login ``i:0#.f|membership|<upn>``
  or a bare UPN/e-mail) is added to the site once and answered (``SP.User``); a name that is not a UPN is
  "The specified user … could not be found." [unc: the sandbox has no directory of people, any UPN exists];
- ``…/File/CheckedOutByUser``: the app while the file is checked out, a null otherwise [unc].
"""

from __future__ import annotations

from typing import Any

from sandbox.core.http import Request, Response
from sandbox.sharepoint.rest import args
from sandbox.sharepoint.rest_errors import BAD, RestError
from sandbox.sharepoint.rest_filter import query_rows

APP_ID = 1073741823
NO_USER = ("-2146232832, Microsoft.SharePoint.SPException", "User cannot be found.")
CLAIM = "i:0#.f|membership|"


class RestUsers:
    """Mixed into ``GraphSandbox`` with ``RestApi``."""

    def _rest_site_users(self, site: str) -> dict[str, dict[str, Any]]:
        """The users ``EnsureUser`` added to ``site``, by lower-cased UPN."""
        every = self.__dict__.setdefault("_rest_users", {})
        return every.setdefault(site, {})

    def _rest_user_rows(self, req: Request, site: str) -> list[dict[str, Any]]:
        app = self.rest_app_user(req, False)
        return [app, *self._rest_site_users(site).values()]

    def _rest_user_entity(self, req: Request, row: dict[str, Any], verbose: bool) -> dict[str, Any]:
        uri = f"{self._rest_web_url(req)[0]}/_api/Web/GetUserById({row['Id']})"
        return self._rest_entity(row, "SP.User", uri, verbose)

    def rest_users_route(self, req: Request, site: str, segs: list[tuple[str, str | None]],
                         verbose: bool) -> Response:
        """``segs`` after ``web``: ``SiteUsers…``, ``GetUserById(n)`` or ``EnsureUser('…')``."""
        names = [n for n, _ in segs]
        rows = self._rest_user_rows(req, site)
        if names == ["ensureuser"] and req.method == "POST":
            key = args(segs[0][1]).get("", "")
            if not key and req.body:
                body = req.json()
                key = str(body.get("logonName", "")) if isinstance(body, dict) else ""
            return self._rest_json(self._rest_user_entity(req, self._rest_ensure(site, key), verbose), verbose)
        if req.method != "GET":
            raise RestError(400, BAD)
        if names == ["getuserbyid"]:
            names, segs = ["siteusers", "getbyid"], [("siteusers", None), segs[0]]
        if names == ["siteusers"] and not segs[0][1]:
            picked = query_rows(rows, req.query)
            return self._rest_json(self._rest_collection([self._rest_user_entity(req, r, verbose) for r in picked],
                                                         verbose), verbose)
        key = args(segs[1][1] if len(segs) == 2 else segs[0][1]).get("", "").lower()
        by = names[1] if len(names) == 2 else "getbyid"
        field = {"getbyid": "Id", "getbyemail": "Email", "getbyloginname": "LoginName"}.get(by)
        if field is None or len(names) > 2:
            raise RestError(400, BAD)
        found = next((r for r in rows if str(r[field]).lower() == key), None)
        if found is None:
            raise RestError(404, NO_USER)
        return self._rest_json(self._rest_user_entity(req, found, verbose), verbose)

    def _rest_ensure(self, site: str, key: str) -> dict[str, Any]:
        upn = key[len(CLAIM):] if key.lower().startswith(CLAIM) else key
        if "@" not in upn or upn.startswith("@") or upn.endswith("@") or "|" in upn:
            raise RestError(400, ("-2146232832, Microsoft.SharePoint.SPException",
                                  f"The specified user {key} could not be found."))
        users = self._rest_site_users(site)
        with self.store.lock:
            if upn.lower() not in users:
                local = upn.split("@", 1)[0]
                users[upn.lower()] = {"Id": 10 + len(users), "IsHiddenInUI": False, "LoginName": CLAIM + upn.lower(),
                                      "Title": local.replace(".", " ").title(), "PrincipalType": 1, "Email": upn,
                                      "IsSiteAdmin": False,
                                      "UserId": {"NameId": f"10032000{len(users):08x}",
                                                 "NameIdIssuer": "urn:federation:microsoftonline"},
                                      "UserPrincipalName": upn.lower()}
            return users[upn.lower()]

    def rest_checked_out_by(self, req: Request, checked_out: bool, verbose: bool) -> Response:
        if checked_out:
            return self._rest_json(self.rest_app_user(req, verbose), verbose)
        return self._rest_json({"CheckedOutByUser": None} if verbose else {"odata.null": True}, verbose)
