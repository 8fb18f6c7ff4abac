"""More of a list item and a list through SharePoint REST v1, for ``GraphSandbox``, as office365-rest-python-client
calls them (each was 400 "The expression … is not valid."):

- ``items(n)/Versions`` of a custom list: ``SP.ListItemVersion``s newest first, the current one included
  (``IsCurrentVersion``), with ``VersionId`` (512 times the major number), ``VersionLabel`` (``n.0``), ``Created``
  and the item's fields as that version had them (``Row.history``, the versions Graph serves);
  ``Versions(512)`` / ``Versions/GetById(512)`` one of them (an unknown one is 404 [unc: the text]).
- ``POST items(n)/SystemUpdate`` (office365's ``ListItem.system_update()`` on a list that is not a library): 200
  and nothing changes, not even ``Modified``; the call carries no field values (office365 set them only on its
  side) [unc: CSOM's SystemUpdate saves values set in the same batch].
- ``lists(…)/GetUserEffectivePermissions(@user)`` (``List.get_user_effective_permissions(user)``): the app's own
  mask on the list (Edit or Read, ``rest_perms.py``), no permission for a user ``EnsureUser`` added (they have
  no grant here [unc]); a login the site does not know is 404 "User cannot be found.".
"""

from __future__ import annotations

from typing import Any

from sandbox.core.http import Request, Response
from sandbox.core.numbers import ascii_int
from sandbox.sharepoint.rest import args, iso
from sandbox.sharepoint.rest_errors import BAD, RestError
from sandbox.sharepoint.rest_perms import base_permissions

NO_VERSION = ("-2147024809, System.ArgumentException", "Value does not fall within the expected range.")  # [unc]
NO_USER = ("-2146232832, Microsoft.SharePoint.SPException", "User cannot be found.")


class RestItemMore:
    """Mixed into ``GraphSandbox`` with ``CustomLists``, ``RestUsers`` and ``RestPerms``."""

    def rest_custom_item_versions(self, req: Request, lst: Any, row: Any, segs: list[tuple[str, str | None]],
                                  verbose: bool) -> Response:
        """``segs`` from ``Versions`` of a custom list's item."""
        names = [n for n, _ in segs]
        if req.method != "GET":
            raise RestError(400, BAD)
        base = f"{self._rest_web_url(req)[0]}/_api/Web/Lists(guid'{lst.id}')/Items({row.id})/Versions"

        def version(n: int) -> dict[str, Any]:
            current = n == len(row.history) + 1
            fields, when = (row.fields, row.modified) if current else row.history[n - 1]
            props = {"VersionId": 512 * n, "VersionLabel": f"{n}.0", "IsCurrentVersion": current,
                     "Created": iso(when), "Title": fields.get("Title", ""),
                     **{c: fields.get(c) for c in sorted(lst.columns)}}
            return self._rest_entity(props, "SP.ListItemVersion", f"{base}({512 * n})", verbose)

        count = len(row.history) + 1
        if names == ["versions"] and not segs[0][1]:
            return self._rest_json(self._rest_collection([version(n) for n in range(count, 0, -1)], verbose),
                                   verbose)
        by_call = names[1:2] == ["getbyid"]
        key = args(segs[1][1] if by_call else segs[0][1]).get("", "")
        whole = ascii_int(key.strip())
        if (names[2:] if by_call else names[1:]) or whole is None or whole % 512 or not 1 <= whole // 512 <= count:
            raise RestError(404, NO_VERSION)
        return self._rest_json(version(whole // 512), verbose)

    def rest_list_user_perms(self, req: Request, site: str, grant: str | None, seg: tuple[str, str | None],
                             verbose: bool) -> Response:
        """``GetUserEffectivePermissions(@user)`` on a list the app holds ``grant`` on."""
        login = args(seg[1]).get("", "")
        if not login and req.body:
            body = req.json()
            login = str(body.get("userName", "")) if isinstance(body, dict) else ""
        if login.lower() == self.rest_app_user(req, False)["LoginName"].lower():
            value = base_permissions(grant, verbose)
        elif any(str(r["LoginName"]).lower() == login.lower() for r in self._rest_user_rows(req, site)):
            value = base_permissions(None, verbose)
        else:
            raise RestError(404, NO_USER)
        return self._rest_json({"GetUserEffectivePermissions": value} if verbose else value, verbose)
