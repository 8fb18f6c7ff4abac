"""The hidden User Information List of a site through SharePoint REST v1, for ``GraphSandbox``: ``web/
SiteUserInfoList`` (office365's ``Web.site_user_info_list``), ``lists/GetByTitle('User Information List')`` (also
``'UserInfo'``) and ``lists(guid'…')`` by its id. Before, ``SiteUserInfoList`` was 400 "The expression … is not
valid." and the title 404.

- The list: ``BaseTemplate`` 112, ``Hidden`` true, ``EntityTypeName`` ``UserInfo``, at ``{site}/_catalogs/users``
  [unc: ``web/lists`` leaves it out here; SharePoint lists hidden lists there too].
- ``Items`` (``$filter``, ``$select``, ``$orderby``, ``$top``), ``Items(n)`` / ``GetItemById(n)``: one item per site
  user (``rest_users.py``: the app, and those ``EnsureUser`` added) with the same ids: ``Title`` (display name),
  ``Name`` (login), ``EMail``, ``UserName`` (UPN), ``IsSiteAdmin``, ``Deleted``, ``IsActive``, content type Person
  (``0x010A…``); a missing id is 404 "Item does not exist…".
- Writes are 403 access denied: the list needs ManageWeb, which a Sites.Selected write app has not [unc].
"""

from __future__ import annotations

import uuid
from typing import Any

from sandbox.core.http import Request, Response
from sandbox.core.numbers import ascii_int
from sandbox.sharepoint.rest import args, pick
from sandbox.sharepoint.rest_errors import BAD, DENIED, RestError
from sandbox.sharepoint.rest_filter import query_rows

TITLES = ("user information list", "userinfo")
MISSING = ("-2147024809, System.ArgumentException", "Item does not exist. It may have been deleted by another user.")


class RestUserInfo:
    """Mixed into ``GraphSandbox`` with ``RestApi`` and ``RestUsers``."""

    @staticmethod
    def user_info_id(site: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{site}/_catalogs/users"))

    def rest_user_info(self, req: Request, site: str, segs: list[tuple[str, str | None]], verbose: bool
                       ) -> Response | None:
        """``segs`` from ``web`` on: the answer when they name the User Information List, else None."""
        names = [n for n, _ in segs]
        if names[:2] == ["web", "siteuserinfolist"]:
            rest = segs[2:]
        elif names[:3] == ["web", "lists", "getbytitle"] and args(segs[2][1]).get("", "").lower() in TITLES:
            rest = segs[3:]
        elif (names[:3] == ["web", "lists", "getbyid"] and args(segs[2][1]).get("", "").lower()
              == self.user_info_id(site)) or (names[:2] == ["web", "lists"] and segs[1][1]
                                               and args(segs[1][1]).get("", "").lower() == self.user_info_id(site)):
            rest = segs[3:] if names[2:3] == ["getbyid"] else segs[2:]
        else:
            return None
        method = req.header("X-HTTP-Method").upper() or req.method
        if method != "GET":
            raise RestError(403, DENIED)
        base = f"{self._rest_web_url(req)[0]}/_api/Web/Lists(guid'{self.user_info_id(site)}')"
        rows = [self._user_info_item(u) for u in self._rest_user_rows(req, site)]
        rnames = [n for n, _ in rest]
        if not rnames:
            return self._rest_json(self._rest_entity(pick(self._user_info_list(req, site, rows),
                                                          req.query.get("$select", "")), "SP.List", base, verbose),
                                   verbose)
        if rnames == ["items"] and not rest[0][1]:
            picked = query_rows(rows, req.query)
            shown = [self._rest_entity(pick(r, req.query.get("$select", "")) | {"Id": r["Id"]}, "SP.Data.UserInfoItem",
                                       f"{base}/Items({r['Id']})", verbose) for r in picked]
            return self._rest_json(self._rest_collection(shown, verbose), verbose)
        if (rnames == ["items"] and rest[0][1]) or rnames == ["getitembyid"] or rnames == ["items", "getbyid"]:
            key = ascii_int(args(rest[-1][1]).get("", ""))
            row = next((r for r in rows if r["Id"] == key), None)
            if row is None:
                raise RestError(404, MISSING)
            return self._rest_json(self._rest_entity(pick(row, req.query.get("$select", "")) | {"Id": row["Id"]},
                                                     "SP.Data.UserInfoItem", f"{base}/Items({key})", verbose), verbose)
        raise RestError(400, BAD)

    def _user_info_list(self, req: Request, site: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
        rel = self._rest_web_url(req)[1]
        stamp = "2024-01-01T00:00:00Z"  # [unc] the site's creation
        return {"Id": self.user_info_id(site), "Title": "User Information List", "BaseTemplate": 112, "BaseType": 0,
                "Hidden": True, "ItemCount": len(rows), "EntityTypeName": "UserInfo", "ParentWebUrl": rel,
                "ListItemEntityTypeFullName": "SP.Data.UserInfoItem", "EnableAttachments": False,
                "EnableVersioning": False, "ContentTypesEnabled": True, "Description": "All people.",
                "DefaultViewUrl": f"{rel}/_catalogs/users/simple.aspx", "Created": stamp,
                "LastItemModifiedDate": stamp, "NoCrawl": True}

    @staticmethod
    def _user_info_item(user: dict[str, Any]) -> dict[str, Any]:
        first, _, last = str(user["Title"]).partition(" ")
        return {"FileSystemObjectType": 0, "Id": user["Id"], "ID": user["Id"],
                "ContentTypeId": "0x010A00" + uuid.uuid5(uuid.NAMESPACE_URL, "userinfo").hex.upper(),
                "Title": user["Title"], "Name": user["LoginName"], "EMail": user["Email"] or None,
                "OtherMail": None, "UserExpiration": None, "UserLastDeletionTime": None, "MobilePhone": None,
                "Notes": None, "SipAddress": user["Email"] or None, "IsSiteAdmin": bool(user["IsSiteAdmin"]),
                "Deleted": False, "UserInfoHidden": False, "Picture": None, "Department": None, "JobTitle": None,
                "FirstName": first or None, "LastName": last or None, "WorkPhone": None,
                "UserName": user.get("UserPrincipalName"), "IsActive": True, "OData__UIVersionString": "1.0",
                "Attachments": False, "GUID": str(uuid.uuid5(uuid.NAMESPACE_URL, str(user["LoginName"]))),
                "AuthorId": 1073741823, "EditorId": 1073741823}
