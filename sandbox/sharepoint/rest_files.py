"""SharePoint REST v1 files and folders (``rest.py`` has the envelope), over the Graph store's items.

- ``web/GetFolderByServerRelativeUrl('<path>')`` (or ``…Path(decodedurl='…')``, ``GetFolderById('<guid>')``),
  ``/Files``, ``/Folders``, ``Folders('<name>')``, ``Files('<name>')``, ``Files/GetByUrl('<relative path>')``,
  ``/ListItemAllFields``, ``/ParentFolder``; ``Folders/add('<url>')`` and ``POST web/folders`` with
  ``ServerRelativeUrl`` (missing parents are created [unc]); ``/recycle()``, ``DELETE`` (or ``POST`` with
  ``X-HTTP-Method: DELETE``).
- ``…/Files/add(url='<name>',overwrite=true)`` (or ``AddUsingPath(DecodedUrl='<name>',Overwrite=true)``, and
  ``Folders/AddUsingPath``, for names with ``#`` and ``%``) with the bytes as body (an existing file without
  ``overwrite=true`` is 400 SPFileExistsException [unc: the exact code]); ``Files/GetByUrl('<name>')``.
- ``web/GetFileByServerRelativeUrl('<path>')`` (or ``…Path``, ``GetFileById('<guid>')``,
  ``GetFileByUrl(fileUrl='<absolute url>')``; chunked upload in ``rest_uploads.py``), ``/$value`` (GET bytes,
  as ``OpenBinaryStream`` does; PUT/POST replace), ``/ListItemAllFields``, ``/Author`` and ``/ModifiedBy`` (the
  app), ``/Publish`` (a no-op:
  major versions only), ``/recycle()`` (``rest_recycle.py``), ``DELETE``; ``web/Folders`` (the libraries' root
  folders).
- A path is server-relative (``/sites/GRC/Evidence/a/b.txt``) or web-relative (``Evidence/a/b.txt``); the
  first segment after the site is the library (its name, or ``Shared Documents`` for the first library).
"""

from __future__ import annotations

import uuid
from typing import Any

from sandbox.core.http import Request, Response
from sandbox.sharepoint.names import check_name
from sandbox.sharepoint.rest import args, iso, pick
from sandbox.sharepoint.rest_errors import BAD, NOT_FOUND, RestError
from sandbox.sharepoint.rest_file_ops import FOLDER_OPS, OPS
from sandbox.sharepoint.rest_folder_ops import SUB_FOLDER_OPS
from sandbox.sharepoint.store import Drive, Item

FILE_EXISTS = ("-2130575257, Microsoft.SharePoint.SPFileExistsException", "A file with the name {} already exists.")


class RestFiles:
    """Mixed into ``GraphSandbox`` with ``RestApi``."""

    def rest_path(self, req: Request, d: Drive, item: Item) -> str:
        rel = self._rest_web_url(req)[1]
        inner = self.store.path_of(item)
        return f"{rel}/{d.name}" + (f"/{inner}" if inner else "")

    def _rest_locate(self, req: Request, site: str, path: str, need: str) -> tuple[Drive, list[str]]:
        """The library and the names under its root for a server- or web-relative ``path``."""
        rel = self._rest_web_url(req)[1].lower()  # ``path`` was percent-decoded with the request path
        if path.lower().startswith("http"):  # [unc] absolute URLs are accepted by SharePoint in some calls
            path = "/" + path.split("/", 3)[-1]
        if path.lower().startswith(rel + "/") or path.lower() == rel:
            path = path[len(rel):]
        elif path.startswith("/"):
            raise RestError(404, NOT_FOUND)
        parts = [p for p in path.split("/") if p]
        if not parts:
            raise RestError(404, NOT_FOUND)
        try:
            return self._rest_drive(req, site, parts[0], need), parts[1:]
        except RestError as exc:
            raise RestError(404, NOT_FOUND) if exc.status == 404 else exc from None

    def _rest_walk(self, d: Drive, parts: list[str]) -> Item | None:
        return self._rest_walk_from(self.store.items[d.root_id], parts)

    def _rest_walk_from(self, item: Item | None, parts: list[str]) -> Item | None:
        for part in parts:
            if item is None or item.content is not None:
                return None
            item = self.store.child(item.id, part)
        return item

    def _rest_folder(self, req: Request, d: Drive, item: Item, verbose: bool, select: str | None = None,
                     expand: bool = True) -> dict[str, Any]:
        path = self.rest_path(req, d, item)
        props = {"Name": item.name if item.parent_id else d.name, "ServerRelativeUrl": path, "Exists": True,
                 "ServerRelativePath": {"DecodedUrl": path},
                 "ItemCount": len(self.store.children(item.id)),
                 "UniqueId": str(uuid.uuid5(uuid.NAMESPACE_OID, item.id)),
                 "TimeCreated": iso(item.created), "TimeLastModified": iso(item.modified), "WelcomePage": ""}
        uri = f"{self._rest_web_url(req)[0]}/_api/Web/GetFolderByServerRelativePath(decodedurl='{path}')"
        props = pick(props, req.query.get("$select", "") if select is None else select)
        return self._rest_expanded(req, d, item, self._rest_entity(props, "SP.Folder", uri, verbose), verbose, expand)

    def _rest_file(self, req: Request, d: Drive, item: Item, verbose: bool, select: str | None = None,
                   expand: bool = True) -> dict[str, Any]:
        path = self.rest_path(req, d, item)
        guid = str(uuid.uuid5(uuid.NAMESPACE_OID, item.id))
        props = {"Name": item.name, "ServerRelativeUrl": path, "Exists": True,
                 "ServerRelativePath": {"DecodedUrl": path},
                 "Length": str(len(item.content or b"")),  # Edm.Int64: a string in OData v3 JSON [unc]
                 "UniqueId": guid, "ETag": f'"{{{guid.upper()}}},{item.version}"', "Title": None,
                 "TimeCreated": iso(item.created), "TimeLastModified": iso(item.modified),
                 "UIVersionLabel": item.label, "MajorVersion": len(item.history) + 1, "MinorVersion": 0,
                 "CheckOutType": 0 if item.checked_out else 2, "Level": 1, "LinkingUrl": "",
                 "CheckInComment": item.checkin_comment}
        uri = f"{self._rest_web_url(req)[0]}/_api/Web/GetFileByServerRelativePath(decodedurl='{path}')"
        props = pick(props, req.query.get("$select", "") if select is None else select)
        return self._rest_expanded(req, d, item, self._rest_entity(props, "SP.File", uri, verbose), verbose, expand)

    def _rest_deleting(self, req: Request) -> bool:
        return req.method == "DELETE" or (req.method == "POST" and req.header("X-HTTP-Method").upper() == "DELETE")

    def _rest_make_folder(self, d: Drive, parent: Item, parts: list[str]) -> Item:
        for part in parts:
            check_name(part)
            found = self.store.child(parent.id, part)
            if found is not None and found.content is not None:
                raise RestError(400, (FILE_EXISTS[0], FILE_EXISTS[1].format(part)))
            parent = found or self.store.add(d.id, parent.id, part, None)
        return parent

    # -- routes ------------------------------------------------------------------------------------------
    def rest_files(self, req: Request, site: str, segs: list[tuple[str, str | None]], verbose: bool) -> Response:
        names = [n for n, _ in segs]
        need = "read" if req.method == "GET" else "write"
        if names and names[0] in ("getfolderbyserverrelativeurl", "getfolderbyserverrelativepath",
                                  "getfilebyserverrelativeurl", "getfilebyserverrelativepath", "getfilebyurl"):
            a = args(segs[0][1])
            path = a.get("decodedurl", a.get("fileurl", a.get("", "")))
            if "folder" in names[0] and path.rstrip("/").lower() in ("", self._rest_web_url(req)[1].lower()):
                return self._rest_web_root(req, site, segs[1:], verbose)  # the site's own folder
            attached = None if "folder" in names[0] else self.rest_attachment_by_url(req, site, path, segs[1:],
                                                                                    verbose)
            if attached is None and "folder" in names[0]:  # a custom list's folder (custom_folders.py)
                attached = self.rest_custom_folder_by_url(req, site, path, segs[1:], verbose)
            if attached is not None:  # a custom list item's attachment (custom_lists.py)
                return attached
            d, parts = self._rest_locate(req, site, path, need)
            item = self._rest_walk(d, parts)
            want_folder = "folder" in names[0]
            if item is None or (item.content is None) != want_folder:
                raise RestError(404, NOT_FOUND)  # [unc] a missing folder is the same FileNotFoundException
            if names == ["getfilebyurl"] and req.method == "POST":  # the client POSTs this function [unc]
                return self._rest_json(self._rest_file(req, d, item, verbose), verbose)
            route = self.rest_folder_route if want_folder else self.rest_file_route
            return route(req, d, item, segs[1:], verbose)
        if names[:1] in (["getfilebyid"], ["getfolderbyid"]):
            guid = args(segs[0][1]).get("", "").lower()
            item = next((i for i in self.store.items.values() if str(uuid.uuid5(uuid.NAMESPACE_OID, i.id)) == guid
                         and (i.content is None) == (names[0] == "getfolderbyid")), None)
            d = self.store.drives.get(item.drive_id) if item is not None else None
            custom = None if item is not None or names[0] != "getfolderbyid" else \
                self.rest_custom_folder_by_id(req, site, guid, segs[1:], verbose)  # custom_folders.py
            if custom is not None:
                return custom
            if item is None or d is None or d.site_id != site:
                raise RestError(404, NOT_FOUND)
            d = self._rest_drive(req, site, d.name, need)
            route = self.rest_file_route if item.content is not None else self.rest_folder_route
            return route(req, d, item, segs[1:], verbose)
        if names[:1] == ["rootfolder"]:
            return self._rest_web_root(req, site, segs[1:], verbose)
        if names == ["folders"] and req.method == "GET":  # the web's folders: here its libraries' root folders
            return self._rest_web_root(req, site, segs, verbose)
        if names[:1] == ["folders"] and req.method == "POST":
            if len(segs) == 2 and names[1] == "add":
                url = args(segs[1][1]).get("", "") or args(segs[1][1]).get("url", "")
            else:
                body = req.json() if req.body else {}
                url = str((body or {}).get("ServerRelativeUrl", ""))
            made = self.rest_custom_folder_by_url(req, site, url, [], verbose, make=True)  # custom_folders.py
            if made is not None:
                return made
            d, parts = self._rest_locate(req, site, url, "write")
            made = self._rest_make_folder(d, self.store.items[d.root_id], parts)
            return self._rest_json(self._rest_folder(req, d, made, verbose), verbose, 201)
        raise RestError(400, BAD)

    def rest_folder_route(self, req: Request, d: Drive, folder: Item, segs: list[tuple[str, str | None]],
                          verbose: bool) -> Response:
        names = [n for n, _ in segs]
        kids = sorted(self.store.children(folder.id), key=lambda i: i.name.lower())
        if names == ["getchanges"] and req.method == "POST":  # rest_changes.py: the folder's and what is in it
            return self.rest_get_changes(req, d.site_id, (3, str(uuid.uuid5(uuid.NAMESPACE_URL, d.id))), [d], verbose,
                                         lambda i: i == folder.id or folder.id in self.store.ancestors(
                                             self.store.items[i]) if i in self.store.items else False)
        if not names and req.method == "GET":
            return self._rest_json(self._rest_folder(req, d, folder, verbose), verbose)
        if (not names and self._rest_deleting(req)) or (names == ["recycle"] and req.method == "POST"):
            if folder.parent_id is None:
                raise RestError(400, ("-2147024809, System.ArgumentException", "Cannot delete a list's root folder."))
            if names == ["recycle"]:
                return self.rest_recycle(req, d, folder, verbose)  # rest_recycle.py
            self.store.delete(folder)
            return Response(200, b"")
        if names in (["files"], ["folders"]) and not segs[0][1] and req.method == "GET":  # rest_expand.py
            return self._rest_json(self._rest_listing(req, d, kids, names[0] == "folders", verbose), verbose)
        if names in (["files", "add"], ["files", "addusingpath"]) and req.method == "POST":
            a = args(segs[1][1])
            name = a.get("url", a.get("decodedurl", a.get("", "")))
            check_name(name)
            existing = self.store.child(folder.id, name)
            if existing is not None and (existing.content is None or a.get("overwrite", "false").lower() != "true"):
                raise RestError(400, (FILE_EXISTS[0], FILE_EXISTS[1].format(self.rest_path(req, d, existing))))
            self._room(d, len(req.body), existing)
            item = self.store.add(d.id, folder.id, name, req.body)
            return self._rest_json(self._rest_file(req, d, item, verbose), verbose)
        if (names[:1] in (["files"], ["folders"]) and names[1:2] in (["getbyurl"], ["getbypath"])) or (
                names[:1] in (["files"], ["folders"]) and segs[0][1]):  # GetByPath: SP.ResourcePath (DecodedUrl)
            by_call = names[1:2] in (["getbyurl"], ["getbypath"])
            a = args(segs[1][1] if by_call else segs[0][1])
            rel = a.get("", "") or a.get("decodedurl", "") or a.get("url", "")  # a name, or a path under the folder
            item = self._rest_walk_from(folder, [p for p in rel.split("/") if p])
            if item is None or (item.content is None) != (names[0] == "folders"):
                raise RestError(404, NOT_FOUND)
            route = self.rest_folder_route if item.content is None else self.rest_file_route
            return route(req, d, item, segs[2 if by_call else 1:], verbose)
        if names in (["folders", "add"], ["folders", "addusingpath"]) and req.method == "POST":
            a = args(segs[1][1])
            parts = [p for p in (a.get("", "") or a.get("url", "") or a.get("decodedurl", "")).split("/") if p]
            made = self._rest_make_folder(d, folder, parts)
            return self._rest_json(self._rest_folder(req, d, made, verbose), verbose)
        if names[:1] == ["listitemallfields"]:
            return self.rest_item_route(req, d, folder, segs[1:], verbose)
        if len(names) == 1 and names[0] in FOLDER_OPS and folder.parent_id is not None:
            return self.rest_file_op(req, d, folder, names[0], segs[0][1], verbose)  # rest_file_ops.py
        if len(names) == 1 and names[0] in SUB_FOLDER_OPS:
            return self.rest_folder_op(req, d, folder, names[0], segs[0][1], verbose)  # rest_folder_ops.py
        if names == ["storagemetrics"] and req.method == "GET":  # rest_expand.py
            return self._rest_json(self.rest_storage_metrics(req, d, folder, verbose), verbose)
        if names[:1] == ["parentfolder"] and folder.parent_id is not None:
            return self.rest_folder_route(req, d, self.store.items[folder.parent_id], segs[1:], verbose)
        if names[:1] == ["parentfolder"]:  # a library's root folder: its parent is the web's own folder
            return self._rest_web_root(req, d.site_id, segs[1:], verbose)
        raise RestError(400, BAD)

    def rest_file_route(self, req: Request, d: Drive, item: Item, segs: list[tuple[str, str | None]],
                        verbose: bool) -> Response:
        names = [n for n, _ in segs]
        if not names and req.method == "GET":
            return self._rest_json(self._rest_file(req, d, item, verbose), verbose)
        if (names == ["$value"] and req.method == "GET") or (  # office365's open_binary_stream POSTs [unc: SP's take]
                names in (["openbinarystream"], ["openbinarystreamwithoptions"]) and req.method in ("GET", "POST")):
            return Response(200, item.content or b"", "application/octet-stream",
                            [("ETag", f'"{{{uuid.uuid5(uuid.NAMESPACE_OID, item.id)}}},{item.version}"')])
        if (names == ["$value"] and req.method in ("PUT", "POST")) or (names == ["savebinarystream"]
                                                                       and req.method == "POST"):
            self._room(d, len(req.body), item)
            self.store.add(d.id, item.parent_id, item.name, req.body)
            return Response(204, b"")
        if names[:1] == ["listitemallfields"]:
            return self.rest_item_route(req, d, item, segs[1:], verbose)
        if names in (["author"], ["modifiedby"]) and req.method == "GET":
            return self._rest_json(self.rest_app_user(req, verbose), verbose)
        if names == ["checkedoutbyuser"] and req.method == "GET":
            return self.rest_checked_out_by(req, item.checked_out, verbose)  # rest_users.py
        if names in (["publish"], ["unpublish"], ["approve"]) and req.method == "POST":
            return self._rest_void(names[0], verbose)  # major versions only here: nothing to publish [unc]
        if names == ["recycle"] and req.method == "POST":
            return self.rest_recycle(req, d, item, verbose)  # rest_recycle.py
        if not names and self._rest_deleting(req):
            self.store.delete(item)
            return Response(200, b"")
        if names[:1] == ["versions"]:
            return self.rest_file_versions(req, d, item, segs, verbose)  # rest_versions.py
        if len(names) == 1 and names[0] in OPS:
            return self.rest_file_op(req, d, item, names[0], segs[0][1], verbose)
        if len(names) == 1 and names[0] in ("startupload", "continueupload", "finishupload") and req.method == "POST":
            return self._rest_chunk(req, d, item, names[0], args(segs[0][1]), verbose)
        raise RestError(400, BAD)
