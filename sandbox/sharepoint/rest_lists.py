"""SharePoint REST v1 lists and list items (``rest.py`` has the envelope): ``web/lists``,
``lists/GetByTitle('…')``, ``lists/GetById('<guid>')``, ``lists(guid'…')``, ``web/GetList('<url>')`` and
``web/DefaultDocumentLibrary`` (the site's first library), ``/RootFolder``, ``/Fields``,
``/items`` with ``$select``, ``$filter`` and ``$orderby`` (``rest_filter.py``), ``$top`` and paging by
``$skiptoken=Paged=TRUE&p_ID=n`` (``__next`` / ``odata.nextLink``; 100 a page without ``$top``),
``items/GetById(n)`` (or ``items(n)``, ``getItemById(n)``) with ``/File``, ``/Folder``; ``$expand=File,Folder,
Author,Editor`` (``$select=File/Name``); a POST to ``items`` is refused (a library's items are its files). An
item is a drive item of the library;
its fields are SharePoint's usual ones (``FileLeafRef``, ``FileRef``, ``FSObjType``, …) and the library's
custom columns.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import quote, urlencode

from sandbox.core.http import Request, Response
from sandbox.core.numbers import ascii_int
from sandbox.sharepoint.names import check_name
from sandbox.sharepoint.rest import args, iso, pick
from sandbox.sharepoint.rest_errors import BAD, RestError
from sandbox.sharepoint.rest_filter import compile_filter, order_rows, query_rows
from sandbox.sharepoint.rest_perms import base_permissions
from sandbox.sharepoint.store import Drive, Item, now_iso

PAGE = 100  # [unc] SharePoint's default page of list items
EVERY = "*,FileDirRef,EncodedAbsUrl,File_x0020_Type,BaseName"  # $select of every field an item has here
# a document library's usual fields: (internal name, title, type, kind, hidden, read only) [unc: the selection]
FIELDS = [("ID", "ID", "Counter", 5, False, True), ("Title", "Title", "Text", 2, False, False),
          ("FileLeafRef", "Name", "File", 18, False, False), ("FileRef", "URL Path", "Lookup", 7, True, True),
          ("FileDirRef", "Path", "Lookup", 7, True, True), ("FSObjType", "Item Type", "Lookup", 7, True, True),
          ("Created", "Created", "DateTime", 4, False, True), ("Modified", "Modified", "DateTime", 4, False, True),
          ("Author", "Created By", "User", 20, False, True), ("Editor", "Modified By", "User", 20, False, True),
          ("File_x0020_Size", "File Size", "Lookup", 7, True, True), ("UniqueId", "Unique Id", "Lookup", 7, True, True),
          ("GUID", "GUID", "Guid", 14, True, True), ("ContentType", "Content Type", "Computed", 12, False, False),
          ("_UIVersionString", "Version", "Text", 2, False, True)]


def field_rows(owner: str, custom: list[str]) -> list[dict[str, Any]]:
    """The usual fields (``FIELDS``) and ``custom`` columns (Note), their ids stable per ``owner``."""
    rows = [{"Id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{owner}/{name}")), "InternalName": name,
             "StaticName": name, "EntityPropertyName": name, "Title": title, "TypeAsString": kind,
             "FieldTypeKind": num, "Hidden": hidden, "ReadOnlyField": ro, "Required": False,
             "Indexed": name == "ID", "CanBeDeleted": False, "Group": "_Hidden" if hidden else "Base Columns"}
            | ({"MaxLength": 255} if kind == "Text" else {})  # SP.FieldText's default [unc: per field]
            for name, title, kind, num, hidden, ro in FIELDS]
    note = {k: v for k, v in rows[1].items() if k != "MaxLength"}  # only a single-line Text field has one
    return rows + [{**note, "Id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{owner}/{c}")), "InternalName": c,
                    "StaticName": c, "EntityPropertyName": c, "Title": c, "TypeAsString": "Note", "FieldTypeKind": 3,
                    "CanBeDeleted": True, "Group": "Custom Columns"} for c in sorted(custom)]


class RestLists:
    """Mixed into ``GraphSandbox`` with ``RestApi``."""

    def _rest_list(self, req: Request, d: Drive, verbose: bool, select: str | None = None) -> dict[str, Any]:
        """The library as an ``SP.List``, its properties picked by ``select`` (None: the request's ``$select``)."""
        abs_url, rel = self._rest_web_url(req)
        lid = str(uuid.uuid5(uuid.NAMESPACE_URL, d.id))
        items = [i for i in self.store.items.values() if i.drive_id == d.id and i.parent_id is not None]
        root = self.store.items[d.root_id]
        last = max([root.created, *(i.modified for i in items)])
        props = {"Id": lid, "Title": d.name, "BaseTemplate": 101, "BaseType": 1, "ItemCount": len(items),
                 "Hidden": False, "EntityTypeName": d.name.replace(" ", "_x0020_"),
                 "ParentWebUrl": rel, "EnableVersioning": True, "EnableMinorVersions": False,
                 "MajorVersionLimit": 500, "LastItemModifiedDate": iso(last), "EnableAttachments": False,
                 "ContentTypesEnabled": False, "HasUniqueRoleAssignments": self.list_has_unique_roles(lid),
                 "DefaultViewUrl": f"{rel}/{d.name}/Forms/AllItems.aspx",
                 "CurrentChangeToken": {"StringValue": self._token((3, lid), self.store.seq, now_iso())},
                 "ListItemEntityTypeFullName": f"SP.Data.{d.name.replace(' ', '_x0020_')}Item",
                 "Created": iso(root.created)}
        extra = {"EffectiveBasePermissions": base_permissions(self.rest_grant(req, d.site_id, d), verbose)}
        shown = pick(props, req.query.get("$select", "") if select is None else select, extra)
        if select is None and "rootfolder" in req.query.get("$expand", "").lower().replace(" ", "").split(","):
            shown["RootFolder"] = self._rest_folder(req, d, root, verbose, "", False)  # $expand=RootFolder
        return self._rest_entity(shown, "SP.List", f"{abs_url}/_api/Web/Lists(guid'{lid}')", verbose)

    def _rest_item(self, req: Request, d: Drive, item: Item, verbose: bool, select: str = "") -> dict[str, Any]:
        folder = item.content is None
        path = self.rest_path(req, d, item)
        props = {"FileSystemObjectType": 1 if folder else 0, "Id": item.list_item_id, "ID": item.list_item_id,
                 "ContentTypeId": "0x0120" if folder else "0x0101", "FileLeafRef": item.name,
                 "FileRef": path, "FSObjType": 1 if folder else 0, "ServerRedirectedEmbedUri": None,
                 "Title": None, "Created": iso(item.created), "Modified": iso(item.modified),
                 "AuthorId": 1073741823, "EditorId": 1073741823, "CheckoutUserId": 1073741823 if item.checked_out
                 else None,
                 "GUID": str(uuid.uuid5(uuid.NAMESPACE_X500, item.id)),
                 "UniqueId": str(uuid.uuid5(uuid.NAMESPACE_OID, item.id)),  # the file's or folder's UniqueId
                 "OData__UIVersionString": item.label, "File_x0020_Size": None if folder else len(item.content),
                 **dict.fromkeys(sorted(d.columns)), **item.fields}
        extra = {"FileDirRef": path.rsplit("/", 1)[0], "EncodedAbsUrl": self._rest_web_url(req)[0].rsplit(
                     "/sites/", 1)[0] + quote(path), "File_x0020_Type": item.name.rsplit(".", 1)[1] if "." in item.name
                 and not folder else None, "BaseName": item.name.rsplit(".", 1)[0] if not folder else item.name}
        extra["HasUniqueRoleAssignments"] = self.list_has_unique_roles(  # rest_role_writes.py; when selected
            f"{uuid.uuid5(uuid.NAMESPACE_URL, d.id)}/{item.list_item_id}")
        if "effectivebasepermissions" in select.lower():  # rest_perms.py
            extra["EffectiveBasePermissions"] = base_permissions(self.rest_grant(req, d.site_id, d), verbose)
        picked = pick(props, select, extra)
        for nav in [n for n in ("File", "Folder", "Author", "Editor") if n.lower() in self._rest_expands(req)]:
            inner = [s.split("/", 1)[1] for s in select.split(",") if s.strip().lower().startswith(nav.lower() + "/")]
            if select.strip() and not inner and nav not in [s.strip() for s in select.split(",")]:
                continue  # with $select, SharePoint shows an expanded property only if it is selected
            if nav in ("Author", "Editor"):
                picked[nav] = self.rest_app_user(req, verbose)
            elif (nav == "File") == (item.content is not None):
                build = self._rest_file if nav == "File" else self._rest_folder
                picked[nav] = build(req, d, item, verbose, ",".join(inner), False)
        uri = f"{self._rest_web_url(req)[0]}/_api/Web/Lists(guid'{uuid.uuid5(uuid.NAMESPACE_URL, d.id)}')" \
              f"/Items({item.list_item_id})"
        return self._rest_entity(picked, f"SP.Data.{d.name.replace(' ', '_x0020_')}Item", uri, verbose)

    @staticmethod
    def _rest_expands(req: Request) -> set[str]:
        return {n.strip().lower() for n in req.query.get("$expand", "").split(",") if n.strip()}

    def _rest_items(self, req: Request, d: Drive, verbose: bool) -> Response:
        items = sorted((i for i in self.store.items.values() if i.drive_id == d.id and i.parent_id is not None),
                       key=lambda i: i.list_item_id)
        flt, orderby = req.query.get("$filter", "").strip(), req.query.get("$orderby", "").strip()
        if flt or orderby:  # rest_filter.py
            rows = [(self._rest_item(req, d, i, False, EVERY), i) for i in items]
            known = set(rows[0][0]) if rows else set(self._rest_item(req, d, self.store.items[d.root_id], False,
                                                                      EVERY))
            if flt:
                keep = compile_filter(flt, known)
                rows = [r for r in rows if keep(r[0])]
            if orderby:
                order = {id(f): n for n, f in enumerate(order_rows([f for f, _ in rows], orderby, known))}
                rows.sort(key=lambda r: order[id(r[0])])
            items = [i for _, i in rows]
        top = req.query.get("$top", str(PAGE))
        skip = re.fullmatch(r"Paged=TRUE(?:&p_\w+=[^&]*)*&p_ID=([0-9]+)",
                            req.query.get("$skiptoken", "Paged=TRUE&p_ID=0"))
        if ascii_int(top) is None or skip is None:
            raise RestError(400, BAD)
        after = ascii_int(skip.group(1))  # the page goes on after that item, in the query's order
        at = next((n for n, i in enumerate(items) if i.list_item_id == after), None) if orderby else None
        items = items[at + 1:] if at is not None else [i for i in items if i.list_item_id > after]
        page, more = items[:ascii_int(top)], len(items) > ascii_int(top)
        select = req.query.get("$select", "")
        body = self._rest_collection([self._rest_item(req, d, i, verbose, select) for i in page], verbose)
        if more and page:
            query = {k: v for k, v in req.query.items() if k != "$skiptoken"}
            query["$skiptoken"] = f"Paged=TRUE&p_ID={page[-1].list_item_id}"
            body["__next" if verbose else "odata.nextLink"] = f"{req.base_url}{req.path}?{urlencode(query)}"
        return self._rest_json(body, verbose)

    def rest_list_route(self, req: Request, d: Drive, segs: list[tuple[str, str | None]], verbose: bool) -> Response:
        names = [n for n, _ in segs]
        if not names and req.method == "GET":
            return self._rest_json(self._rest_list(req, d, verbose), verbose)
        if names == ["items"] and req.method == "GET":
            return self._rest_items(req, d, verbose)
        if names == ["items"] and req.method == "POST":  # a library's items are its files and folders
            raise RestError(400, ("-2147024809, System.ArgumentException", "To add an item to a document library, "
                                  "use SPFileCollection.Add()"))
        if names[:1] == ["getusereffectivepermissions"] and len(names) == 1:  # rest_item_more.py
            return self.rest_list_user_perms(req, d.site_id, d.grants.get(req.principal), segs[0], verbose)
        if names == ["effectivebasepermissions"] and req.method == "GET":  # rest_perms.py
            return self.rest_effective_perms(req, d.site_id, d, verbose)
        if names == ["getitems"] and req.method == "POST":
            return self.rest_get_items(req, d, verbose)  # rest_caml.py
        if names == ["renderlistdataasstream"] and req.method == "POST":
            return self.rest_render_stream(req, d)
        if names == ["renderlistdata"] and req.method == "POST":  # rest_caml.py
            return self.rest_render_list_data(req, d, verbose)
        if names == ["getcheckedoutfiles"] and req.method == "POST":  # files never checked in: none here [unc]
            return self._rest_json(self._rest_collection([], verbose), verbose)
        if names[:1] == ["fields"]:
            return self._rest_fields(req, d, segs, verbose)
        if names == ["getlistitemchangessincetoken"] and req.method == "POST":  # rest_item_changes.py
            return self.rest_library_changes_since_token(req, d, verbose)
        if names == ["getchanges"] and req.method == "POST":  # rest_changes.py
            return self.rest_get_changes(req, d.site_id, (3, str(uuid.uuid5(uuid.NAMESPACE_URL, d.id))), [d], verbose)
        if names == ["rootfolder", "properties"]:  # rest_props.py
            return self.rest_props(req, f"{d.site_id}/{d.name}", f"{req.base_url}/_api/RootFolder/Properties", verbose)
        if names[:1] == ["rootfolder"]:
            return self.rest_folder_route(req, d, self.store.items[d.root_id], segs[1:], verbose)
        if names[:1] == ["getitembyid"] and segs[0][1]:  # List.get_item_by_id: lists/…/getItemById(n)
            segs = [("items", None), ("getbyid", segs[0][1]), *segs[1:]]
            names = [n for n, _ in segs]
        if names[:1] == ["items"] and (names[1:2] == ["getbyid"] or segs[0][1]):
            by_call = names[1:2] == ["getbyid"]
            key = args(segs[1][1] if by_call else segs[0][1]).get("", "")
            n = ascii_int(key) or 0
            item = next((i for i in self.store.items.values() if i.drive_id == d.id and i.list_item_id == n
                         and i.parent_id is not None), None)
            if item is None:
                raise RestError(404, ("-2147024809, System.ArgumentException",
                                      "Item does not exist. It may have been deleted by another user."))
            rest = segs[2:] if by_call else segs[1:]
            return self.rest_item_route(req, d, item, rest, verbose)
        if names == ["contenttypes", "addavailablecontenttype"] and req.method == "POST":  # rest_schema_log.py
            self.rest_list_add_type(d.site_id, str(uuid.uuid5(uuid.NAMESPACE_URL, d.id)), segs[1], {"0x0101", "0x0120"})
            return self._rest_json(self._rest_content_types(req, d, verbose)[-1], verbose)  # the one added
        roles = self.rest_list_roles(req, d.site_id, str(uuid.uuid5(uuid.NAMESPACE_URL, d.id)), segs, verbose)
        if roles is not None:  # rest_role_writes.py: the list's own permissions
            return roles
        schema = self.rest_schema_route(req, d, segs, verbose)  # rest_schema.py: content types, views, roles
        if schema is None:  # rest_item_lookup.py: GetItemByUniqueId, ParentWeb
            schema = self.rest_list_lookup(req, d, segs, verbose)
        if schema is not None:
            return schema
        raise RestError(400, BAD)

    def _rest_fields(self, req: Request, d: Drive, segs: list[tuple[str, str | None]], verbose: bool) -> Response:
        """``Fields`` (``$filter``, ``$select``), ``Fields/GetByInternalNameOrTitle('…')``, ``GetByTitle``,
        ``GetById``: the library's usual fields and its custom columns (Note) [unc]; unknown: 404 ArgumentException."""
        lid = str(uuid.uuid5(uuid.NAMESPACE_URL, d.id))
        base = f"{self._rest_web_url(req)[0]}/_api/Web/Lists(guid'{lid}')/Fields"
        rows = self.rest_field_rows(d.id, d)  # rest_field_writes.py: columns made through REST as made
        if req.method != "GET":  # the list was looked up for a write: the app may write it
            return self.rest_fields_write(req, lid, d, rows, base, segs, verbose, True)
        return self.rest_fields_answer(req, rows, base, segs, verbose)

    def rest_fields_answer(self, req: Request, rows: list[dict[str, Any]], base: str,
                           segs: list[tuple[str, str | None]], verbose: bool) -> Response:
        """A ``Fields`` collection of ``rows`` (``field_rows``), or the one ``segs`` names, at ``base``."""
        kind = {"Text": "SP.FieldText", "Note": "SP.FieldMultiLineText", "DateTime": "SP.FieldDateTime",
                "Counter": "SP.Field", "User": "SP.FieldUser", "Lookup": "SP.FieldLookup"}

        def entity(row: dict[str, Any]) -> dict[str, Any]:
            return self._rest_entity(pick(row, req.query.get("$select", "")), kind.get(row["TypeAsString"], "SP.Field"),
                                     f"{base}(guid'{row['Id']}')", verbose)

        if len(segs) == 1 and not segs[0][1]:
            return self._rest_json(self._rest_collection([entity(r) for r in query_rows(rows, req.query)], verbose),
                                   verbose)
        by, key = (segs[1][0], args(segs[1][1]).get("", "")) if len(segs) == 2 \
            else ("getbyid", args(segs[0][1]).get("", ""))
        match = {"getbyinternalnameortitle": ("InternalName", "Title"), "getbytitle": ("Title",), "getbyid": ("Id",)}
        found = next((r for r in rows for k in match.get(by, ()) if str(r[k]).lower() == str(key).lower()), None)
        if found is None:
            raise RestError(404, ("-2147024809, System.ArgumentException", f"Column '{key}' does not exist. It may "
                                  "have been deleted by another user."))
        return self._rest_json(entity(found), verbose)

    def rest_item_route(self, req: Request, d: Drive, item: Item, segs: list[tuple[str, str | None]],
                        verbose: bool) -> Response:
        """A list item (``items(n)``, ``items/GetById(n)``, ``…/ListItemAllFields``): GET; an update (``POST`` with
        ``X-HTTP-Method: MERGE``, or ``PATCH``/``MERGE``) sets ``Title`` and the library's custom columns only
        (``FileLeafRef`` renames the file or folder; a taken name is 400 SPFileExistsException), answering 204,
        as Graph's ``fields`` PATCH does; DELETE removes the item, ``recycle()`` bins it."""
        names = [n for n, _ in segs]
        if names[:1] == ["parentlist"]:
            return self.rest_list_route(req, d, segs[1:], verbose)
        if names == ["systemupdate"] and req.method == "POST":  # rest_item_more.py: nothing to save
            return Response(200, b"")
        if names == ["getchanges"] and req.method == "POST":  # rest_changes.py: the item's own changes
            return self.rest_get_changes(req, d.site_id, (3, str(uuid.uuid5(uuid.NAMESPACE_URL, d.id))), [d], verbose,
                                         lambda i: i == item.id)
        if names == ["versions"] and req.method == "GET":
            return self.rest_item_versions(req, d, item, verbose)  # rest_versions.py
        if names[:1] == ["file" if item.content is not None else "folder"]:
            route = self.rest_file_route if item.content is not None else self.rest_folder_route
            return route(req, d, item, segs[1:], verbose)
        if names[:1] == ["attachmentfiles"]:
            return self.rest_attachments(req, d, item, segs, verbose)  # rest_schema.py
        lid = str(uuid.uuid5(uuid.NAMESPACE_URL, d.id))
        roles = self.rest_list_roles(req, d.site_id, f"{lid}/{item.list_item_id}", segs, verbose, lid,
                                     f"{self._rest_web_url(req)[0]}/_api/Web/Lists(guid'{lid}')/Items("
                                     f"{item.list_item_id})")  # rest_role_writes.py: the item's own, else inherited
        if roles is not None:
            return roles
        if names == ["recycle"] and req.method == "POST":
            self._rest_drive(req, d.site_id, d.name, "write")
            return self.rest_recycle(req, d, item, verbose)  # rest_recycle.py
        done = self.rest_item_op(req, d, item, names[0], verbose) if len(names) == 1 else None  # rest_item_ops.py
        if done is not None:
            return done
        if names:
            raise RestError(400, BAD)
        method = req.header("X-HTTP-Method").upper() or req.method
        if method == "GET":
            return self._rest_json(self._rest_item(req, d, item, verbose, req.query.get("$select", "")), verbose)
        self._rest_drive(req, d.site_id, d.name, "write")  # 403 in a library the app may only read
        if method == "DELETE":
            self.store.delete(item)
            return Response(200, b"")
        if method not in ("MERGE", "PATCH", "PUT"):
            raise RestError(400, BAD)
        body = req.json() if req.body else {}
        if not isinstance(body, dict):
            raise RestError(400, BAD)
        changes = {k: v for k, v in body.items() if k != "__metadata"}
        new_name = changes.pop("FileLeafRef", None)  # a rename, as File.rename and Folder.rename send it
        kind = f"SP.Data.{d.name.replace(' ', '_x0020_')}Item"
        for key in changes:
            if key not in d.columns and key != "Title":  # the library's Title column, and its custom ones
                raise RestError(400, ("-1, Microsoft.SharePoint.Client.InvalidClientQueryException",
                                      f"The property '{key}' does not exist on type '{kind}'. Make sure to only use "
                                      "property names that are defined by the type."))
        with self.store.lock:
            if new_name is not None and str(new_name) != item.name:
                name = check_name(str(new_name))
                clash = self.store.child(item.parent_id or "", name)
                if clash is not None and clash.id != item.id:
                    raise RestError(400, ("-2130575257, Microsoft.SharePoint.SPFileExistsException",
                                          f"A file or folder with the name {self.rest_path(req, d, clash)} already "
                                          "exists."))
                item.name = name
            item.fields.update({k: "" if v is None else str(v) for k, v in changes.items()})
            item.version += 1
            self.store.touch(item)
        return Response(204, b"")
