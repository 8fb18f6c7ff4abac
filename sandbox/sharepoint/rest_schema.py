"""SharePoint REST v1: a document library's content types and views, role assignments (read-only) and list
item attachments, as office365-rest-python-client reads them.

- ``lists/…/ContentTypes`` (and ``ContentTypes('<id>')``): the library's ``Document`` and ``Folder`` types
  (list content type ids: the site type's id, ``00`` and a GUID of the list) [unc: the fields shown].
- ``lists/…/Views``, ``Views/GetByTitle('…')``, ``Views('<guid>')``, ``DefaultView``, each with ``/ViewFields``
  (``Items`` and ``SchemaXml``): a library's one view, ``All Documents`` (``Forms/AllItems.aspx``); a view
  it does not have (``All Items`` is a custom list's) is 404 [unc: the error's code and text].
- ``web/RoleAssignments`` (``$expand=Member,RoleDefinitionBindings``), ``RoleAssignments/GetByPrincipalId(n)``
  with ``/Member`` and ``/RoleDefinitionBindings``, ``web/RoleDefinitions``: a team site's three groups
  (Owners 3: Full Control, Visitors 4: Read, Members 5: Edit); a list or item inherits the web's
  (``HasUniqueRoleAssignments`` false). An app granted through Sites.Selected is not among them.
- ``items(n)/AttachmentFiles``: a document library has no attachments (SharePoint: ``EnableAttachments``
  does not apply to libraries), so the collection is empty, ``AttachmentFiles('<name>')`` is 404 and
  ``AttachmentFiles/add(FileName='…')`` is refused [unc: the error's code and text]. A custom list's items
  take attachments (``custom_lists.py``).
"""

from __future__ import annotations

import uuid
from typing import Any

from sandbox.core.http import Request, Response
from sandbox.sharepoint.rest import args
from sandbox.sharepoint.rest_errors import BAD, NOT_FOUND, RestError
from sandbox.sharepoint.store import Drive, Item

# (id, name, description, RoleTypeKind, order, BasePermissions high, low)
ROLES = [(1073741829, "Full Control", "Has full control.", 5, 1, "2147483647", "4294967295"),
         (1073741828, "Design", "Can view, add, update, delete, approve, and customize.", 4, 32, "432", "1012866047"),
         (1073741830, "Edit", "Can add, edit and delete lists; can view, add, update and delete list items and "
          "documents.", 6, 48, "432", "1011030767"),
         (1073741827, "Contribute", "Can view, add, update, and delete list items and documents.", 3, 64, "432",
          "1011028719"),
         (1073741826, "Read", "Can view pages and list items and download documents.", 2, 128, "176", "138612833"),
         (1073741825, "Limited Access", "Can view specific lists, document libraries, list items, folders, or "
          "documents when given permissions.", 1, 160, "48", "134418528")]
GROUPS = [(3, "Owners", 1073741829), (4, "Visitors", 1073741826), (5, "Members", 1073741830)]
VIEW_FIELDS = ["DocIcon", "LinkFilename", "Modified", "Editor"]
NO_ATTACHMENTS = ("-2146232832, Microsoft.SharePoint.SPException",
                  "Attachments are not supported on document libraries.")  # [unc] the text


def _guid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


class RestSchema:
    """Mixed into ``GraphSandbox`` with ``RestLists`` (uses its envelope helpers)."""

    # -- content types and views ----------------------------------------------------------------------------
    def _rest_list_base(self, req: Request, d: Drive) -> str:
        return f"{self._rest_web_url(req)[0]}/_api/Web/Lists(guid'{_guid(d.id)}')"

    def _rest_content_type_answer(self, types: list[dict[str, Any]], segs: list[tuple[str, str]],
                                  verbose: bool) -> Response:
        """``ContentTypes`` (the collection), ``ContentTypes('<id>')`` or ``ContentTypes/GetById('<id>')``
        among ``types``: 404 for an id none of them has."""
        names = [n for n, _ in segs]
        if len(names) == 1 and not segs[0][1]:
            return self._rest_json(self._rest_collection(types, verbose), verbose)
        key = args(segs[0][1] or (segs[1][1] if names[1:2] == ["getbyid"] else "")).get("", "").lower()
        hit = next((t for t in types if t["StringId"].lower() == key), None)
        if hit is None:
            raise RestError(404, NOT_FOUND)
        return self._rest_json(hit, verbose)

    def _rest_content_types(self, req: Request, d: Drive, verbose: bool) -> list[dict[str, Any]]:
        suffix = _guid(d.id, "ct").replace("-", "").upper()
        out = []
        for site_id, name, desc, group in (("0x0101", "Document", "Create a new document.", "Document Content Types"),
                                           ("0x0120", "Folder", "Create a new folder.", "Folder Content Types"),
                                           *self.list_type_rows(d.site_id, _guid(d.id))):  # rest_schema_log.py
            cid = f"{site_id}00{suffix}"
            props = {"Id": {"StringValue": cid}, "StringId": cid, "Name": name, "Description": desc, "Group": group,
                     "Hidden": False, "ReadOnly": False, "Sealed": False, "Scope": self._rest_web_url(req)[1] + "/"
                     + d.name, "DisplayFormUrl": "", "EditFormUrl": "", "NewFormUrl": ""}
            if verbose:
                props["Id"] = {"__metadata": {"type": "SP.ContentTypeId"}, "StringValue": cid}
            out.append(self._rest_entity(props, "SP.ContentType",
                                         f"{self._rest_list_base(req, d)}/ContentTypes('{cid}')", verbose))
        return out

    def _rest_view(self, req: Request, d: Drive, verbose: bool) -> dict[str, Any]:
        vid, rel = _guid(d.id, "view"), self._rest_web_url(req)[1]
        props = {"Id": vid, "Title": "All Documents", "DefaultView": True, "DefaultViewForContentType": False,
                 "Hidden": False, "PersonalView": False, "ReadOnly": False, "MobileView": True,
                 "MobileDefaultView": True, "Paged": True, "RowLimit": 30, "Scope": 0, "BaseViewId": "1",
                 "ViewType": "HTML", "ServerRelativeUrl": f"{rel}/{d.name}/Forms/AllItems.aspx",
                 "ViewQuery": '<OrderBy><FieldRef Name="FileLeafRef" /></OrderBy>'}
        return self._rest_entity(props, "SP.View", f"{self._rest_list_base(req, d)}/Views(guid'{vid}')", verbose)

    def _rest_views(self, req: Request, d: Drive, segs: list[tuple[str, str | None]], verbose: bool) -> Response:
        names = [n for n, _ in segs]
        view = self._rest_view(req, d, verbose)
        props = view if not verbose else {k: v for k, v in view.items() if k != "__metadata"}
        if names == ["views"] and not segs[0][1]:
            return self._rest_json(self._rest_collection([view], verbose), verbose)
        if names[0] == "views":
            by, key = (names[1], args(segs[1][1]).get("", "")) if names[1:2] in (["getbytitle"], ["getbyid"]) \
                and segs[1][1] else ("getbyid", args(segs[0][1]).get("", ""))
            field = "Title" if by == "getbytitle" else "Id"
            if str(props[field]).lower() != key.lower():
                raise RestError(404, ("-2147024809, System.ArgumentException", "The specified view is invalid."))
            rest = names[2:] if by != "getbyid" or names[1:2] == ["getbyid"] else names[1:]
        else:  # defaultview
            rest = names[1:]
        if not rest:
            return self._rest_json(view, verbose)
        if rest == ["viewfields"]:
            xml = "".join(f'<FieldRef Name="{f}" />' for f in VIEW_FIELDS)
            items: Any = list(VIEW_FIELDS)
            if verbose:
                items = {"__metadata": {"type": "Collection(Edm.String)"}, "results": items}
            uri = f"{self._rest_list_base(req, d)}/Views(guid'{props['Id']}')/ViewFields"
            return self._rest_json(self._rest_entity({"Items": items, "SchemaXml": xml}, "SP.ViewFieldCollection",
                                                     uri, verbose), verbose)
        raise RestError(400, BAD)

    def rest_schema_route(self, req: Request, d: Drive, segs: list[tuple[str, str | None]], verbose: bool
                          ) -> Response | None:
        """The answer to a list's ``ContentTypes`` / ``Views`` / ``DefaultView`` / ``RoleAssignments`` request,
        or None when it is none of these."""
        names = [n for n, _ in segs]
        if not names or req.method != "GET":
            return None
        if names[0] == "contenttypes":
            return self._rest_content_type_answer(self._rest_content_types(req, d, verbose), segs, verbose)
        if names[0] in ("views", "defaultview"):
            return self._rest_views(req, d, segs, verbose)
        if names[0] in ("roleassignments", "firstuniqueancestorsecurableobject", "hasuniqueroleassignments"):
            return self.rest_roles_route(req, self.store.sites[d.site_id], segs, verbose)
        return None

    # -- role assignments --------------------------------------------------------------------------------
    def _rest_role(self, req: Request, role: tuple, verbose: bool) -> dict[str, Any]:
        rid, name, desc, kind, order, high, low = role
        perms: dict[str, Any] = {"High": high, "Low": low}
        if verbose:
            perms = {"__metadata": {"type": "SP.BasePermissions"}, **perms}
        props = {"BasePermissions": perms, "Description": desc, "Hidden": False, "Id": rid, "Name": name,
                 "Order": order, "RoleTypeKind": kind}
        return self._rest_entity(props, "SP.RoleDefinition",
                                 f"{self._rest_web_url(req)[0]}/_api/Web/RoleDefinitions({rid})", verbose)

    def _rest_group(self, req: Request, site_name: str, gid: int, suffix: str, verbose: bool) -> dict[str, Any]:
        title = f"{site_name} {suffix}"
        props = {"Id": gid, "IsHiddenInUI": False, "LoginName": title, "Title": title, "PrincipalType": 8,
                 "AllowMembersEditMembership": suffix == "Members", "AllowRequestToJoinLeave": False,
                 "AutoAcceptRequestToJoinLeave": False, "Description": None,
                 "OnlyAllowMembersViewMembership": False, "OwnerTitle": f"{site_name} Owners",
                 "RequestToJoinLeaveEmailSetting": ""}
        return self._rest_entity(props, "SP.Group", f"{self._rest_web_url(req)[0]}/_api/Web/SiteGroups/GetById({gid})",
                                 verbose)

    def rest_roles_route(self, req: Request, site_name: str, segs: list[tuple[str, str | None]], verbose: bool
                         ) -> Response:
        """``RoleAssignments`` of the web (and, inherited, of its lists and items), ``RoleDefinitions``."""
        names = [n for n, _ in segs]
        if req.method != "GET":
            raise RestError(403, ("-2147024891, System.UnauthorizedAccessException", "Access denied."))  # [unc]
        roles = {r[0]: r for r in ROLES}
        if names == ["hasuniqueroleassignments"]:
            return self._rest_json({"HasUniqueRoleAssignments": False} if verbose else {"value": False}, verbose)
        if names[0] == "roledefinitions":
            if len(names) == 1 and not segs[0][1]:
                return self._rest_json(self._rest_collection([self._rest_role(req, r, verbose) for r in ROLES],
                                                             verbose), verbose)
            key = args(segs[0][1] or (segs[1][1] if len(segs) > 1 else "")).get("", "")
            if names[1:2] == ["getbytype"]:  # RoleTypeKind: 3 Contributor, 5 Administrator …
                hit = next((r for r in ROLES if str(r[3]) == key), None)
            else:
                hit = next((r for r in ROLES if str(r[0]) == key or r[1].lower() == key.lower()), None)
            if hit is None:
                raise RestError(404, ("-2147024809, System.ArgumentException", "Value does not fall within the "
                                      "expected range."))
            return self._rest_json(self._rest_role(req, hit, verbose), verbose)
        expand = {e.strip().lower() for e in req.query.get("$expand", "").split(",") if e.strip()}

        def assignment(gid: int, suffix: str, rid: int) -> dict[str, Any]:
            props: dict[str, Any] = {"PrincipalId": gid}
            if "member" in expand:
                props["Member"] = self._rest_group(req, site_name, gid, suffix, verbose)
            if "roledefinitionbindings" in expand:
                props["RoleDefinitionBindings"] = self._rest_collection([self._rest_role(req, roles[rid], verbose)],
                                                                        verbose)
            return self._rest_entity(props, "SP.RoleAssignment", f"{self._rest_web_url(req)[0]}/_api/Web/"
                                     f"RoleAssignments/GetByPrincipalId({gid})", verbose)

        if names == ["roleassignments"] and not segs[0][1]:
            return self._rest_json(self._rest_collection([assignment(*g) for g in GROUPS], verbose), verbose)
        if names[0] != "roleassignments":
            raise RestError(400, BAD)
        by_call = names[1:2] == ["getbyprincipalid"]
        key = args(segs[1][1] if by_call else segs[0][1]).get("", "")
        hit = next((g for g in GROUPS if str(g[0]) == key), None)
        if hit is None:
            raise RestError(404, ("-2146232832, Microsoft.SharePoint.SPException", "Can not find the principal with "
                                  f"id: {key}."))
        rest = names[2:] if by_call else names[1:]
        if not rest:
            return self._rest_json(assignment(*hit), verbose)
        if rest == ["member"]:
            return self._rest_json(self._rest_group(req, site_name, hit[0], hit[1], verbose), verbose)
        if rest == ["roledefinitionbindings"]:
            return self._rest_json(self._rest_collection([self._rest_role(req, roles[hit[2]], verbose)], verbose),
                                   verbose)
        raise RestError(400, BAD)

    # -- attachments --------------------------------------------------------------------------------------
    def rest_attachments(self, req: Request, d: Drive, item: Item, segs: list[tuple[str, str | None]],
                         verbose: bool) -> Response:
        """``items(n)/AttachmentFiles…`` on a library item: none, and none can be added."""
        names = [n for n, _ in segs]
        if names == ["attachmentfiles"] and not segs[0][1] and req.method == "GET":
            return self._rest_json(self._rest_collection([], verbose), verbose)
        if names[1:2] in (["add"], ["addusingpath"]) and req.method == "POST":
            self._rest_drive(req, d.site_id, d.name, "write")
            raise RestError(400, NO_ATTACHMENTS)
        if segs[0][1] or names[1:2] == ["getbyfilename"]:
            raise RestError(404, NOT_FOUND)
        raise RestError(400, BAD)
