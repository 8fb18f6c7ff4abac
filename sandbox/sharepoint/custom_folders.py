"""Folders in SharePoint REST v1 custom lists (``custom_lists.py``) and their change log, for ``GraphSandbox``.

- A folder is a row with ``FileSystemObjectType`` 1 (content type ``Folder``, ``0x0120…``), its ``Title`` its
  name [unc: SharePoint leaves a folder made by ``addItem`` untitled]; any row sits in a folder (``FileDirRef``).
  ``FileRef``, ``FileDirRef``, ``FileLeafRef`` (a folder's name, an item's ``{id}_.000``) and ``FSObjType`` are
  shown when selected and filter and order like the others. ``items`` lists every row in every folder, folders
  included (as SharePoint's REST ``items`` does); deleting a folder deletes what is in it.
- Made by ``lists/…/addItem`` (``{"parameters": {"FolderUrl", "LeafName", "UnderlyingObjectType": 1}}``, as
  office365's ``List.add_item(ListItemCreationInformation(…))`` sends it; ``UnderlyingObjectType`` 0 or left out
  makes an item in ``FolderUrl``), ``AddItemUsingPath`` (``FolderPath.DecodedUrl``), ``RootFolder/Folders/Add('…')``
  (also ``add(url=…)``, ``AddUsingPath``; an existing folder is answered as it is), and the web's
  ``Folders/Add('Lists/{T}/…')``. ``FolderUrl`` absolute, server-relative, site-relative or relative to the list;
  one that does not exist is 404 FileNotFoundException; a taken folder name through ``addItem`` is 400
  SPException [unc: its code and text].
- A folder (``lists/…/RootFolder``, ``web/GetFolderByServerRelativeUrl('/sites/…/Lists/{T}/A')``,
  ``items(n)/Folder``): GET (``SP.Folder``), ``Folders`` (and ``Folders('name')`` / ``GetByUrl``), ``Files`` (none:
  a list folder holds items), ``ListItemAllFields`` (the folder's item; the root folder has none: null),
  ``ParentFolder``, DELETE, ``recycle``.
- ``GetListItemChangesSinceToken``: ``rest_item_changes.py``.
"""

from __future__ import annotations

import html
import re
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from sandbox.core.http import Request, Response
from sandbox.sharepoint.custom_lists import APP_USER, CustomList, Row
from sandbox.sharepoint.rest import args, iso, pick
from sandbox.sharepoint.rest_errors import BAD, NOT_FOUND, RestError

PATHS = ("FileRef", "FileDirRef", "FileLeafRef", "FSObjType")
TAKEN = ("-2130575257, Microsoft.SharePoint.SPFileExistsException", "A file or folder with the name {} already "
         "exists.")


class CustomFolders:
    """Mixed into ``GraphSandbox`` with ``CustomLists`` and ``RestChanges``."""

    # -- paths -----------------------------------------------------------------------------------------------
    def c_root_url(self, req: Request, lst: CustomList) -> str:
        return f"{self._rest_web_url(req)[1]}/Lists/{lst.url_name}"

    def c_item_paths(self, req: Request, lst: CustomList, row: Row) -> dict[str, Any]:
        root = self.c_root_url(req, lst)
        folder = f"{root}/{row.folder}" if row.folder else root
        leaf = row.leaf if row.fs_type == 1 else f"{row.id}_.000"
        return {"FileRef": f"{folder}/{leaf}", "FileDirRef": folder, "FileLeafRef": leaf, "FSObjType": row.fs_type}

    @staticmethod
    def c_pick(full: dict[str, Any], select: str) -> dict[str, Any]:
        """``$select`` over an item's properties: the default ones, the paths only when named."""
        default = {k: v for k, v in full.items() if k not in PATHS}
        return pick(default, select, {k: full[k] for k in PATHS if k in full}) | {"Id": full["Id"]}

    def c_expand_users(self, req: Request, props: dict[str, Any], verbose: bool) -> dict[str, Any]:
        """``$expand=Author`` / ``Editor`` (the app wrote every row here): the user's User Information List item
        (``SP.Data.UserInfoItem``: ``Title``, ``EMail``, ``Name``…, ``rest_user_info.py``) inline, only the fields
        ``$select`` names under it (``Author/Title``), left out when ``$select`` names neither it nor them."""
        expand = {n.strip().lower() for n in req.query.get("$expand", "").split(",") if n.strip()}
        select = [s.strip() for s in req.query.get("$select", "").split(",") if s.strip()]
        for nav in ("Author", "Editor"):
            inner = [s.split("/", 1)[1] for s in select if s.lower().startswith(nav.lower() + "/")]
            if nav.lower() not in expand or (select and not inner and nav not in select):
                continue
            user = pick(self._user_info_item(self.rest_app_user(req, False)), ",".join(inner))
            uri = f"{self._rest_web_url(req)[0]}/_api/Web/SiteUserInfoList/Items({APP_USER})"
            props = {**props, nav: self._rest_entity(user, "SP.Data.UserInfoItem", uri, verbose)}
        return props

    def c_relative(self, req: Request, lst: CustomList, url: str) -> str:
        """A folder URL (absolute, server-relative, site-relative or relative to the list) as a path under the
        list's root folder ("" the root)."""
        path = unquote(urlsplit(url).path if "://" in url else url).strip("/")
        site = self._rest_web_url(req)[1].strip("/")
        if path.lower().startswith(f"{site}/{site}/".lower()):  # office365's add_item(ListItemCreationInformation)
            path = path[len(site) + 1:]  # sends its base URL and the root folder's URL: the site's path twice [unc]
        for prefix in (self.c_root_url(req, lst).strip("/"), f"Lists/{lst.url_name}"):
            if path.lower() == prefix.lower():
                return ""
            if path.lower().startswith(prefix.lower() + "/"):
                return path[len(prefix) + 1:].strip("/")
        return path

    @staticmethod
    def c_folder_row(lst: CustomList, path: str) -> Row | None:
        return next((r for r in lst.rows.values() if r.fs_type == 1 and r.path.lower() == path.lower()), None)

    def c_make_folder(self, lst: CustomList, parent: str, name: str, existing_ok: bool, req: Request) -> Row:
        name = name.strip().strip("/")
        if not name or re.search(r'[\\:*?"<>|#%]', name) or "/" in name:
            raise RestError(400, ("-2130575223, Microsoft.SharePoint.SPException", "The file name is invalid."))
        with self.store.lock:
            if parent and self.c_folder_row(lst, parent) is None:
                raise RestError(404, NOT_FOUND)
            path = f"{parent}/{name}" if parent else name
            there = self.c_folder_row(lst, path)
            if there is not None:
                if existing_ok:
                    return there
                raise RestError(400, (TAKEN[0], TAKEN[1].format(f"{self.c_root_url(req, lst)}/{path}")))
            row = Row(lst.next_id, {"Title": name}, folder=parent, fs_type=1, leaf=name)
            lst.rows[row.id], lst.next_id = row, lst.next_id + 1
        self.store.changed("list", lst.id)
        return row

    def rest_custom_folder_op(self, req: Request, lst: CustomList, segs: list[tuple[str, str | None]],
                              verbose: bool) -> Response | None:
        """``segs`` after the list: the answer when they are one of this module's, else None."""
        names = [n for n, _ in segs]
        if names[:1] == ["rootfolder"] and names != ["rootfolder", "properties"]:
            return self.rest_custom_folder(req, lst, "", segs[1:], verbose)
        if req.method != "POST" or len(names) != 1:
            return None
        if names[0] in ("additem", "additemusingpath"):
            return self.rest_custom_add_item(req, lst, names == ["additemusingpath"], verbose)
        if names[0] in ("addvalidateupdateitem", "addvalidateupdateitemusingpath"):
            return self.rest_custom_add_validate(req, lst, verbose)
        if names[0] == "getlistitemchangessincetoken":
            return self.rest_item_changes_since_token(req, lst, verbose)
        return None

    def rest_custom_item_op(self, req: Request, lst: CustomList, row: Row, segs: list[tuple[str, str | None]],
                            verbose: bool) -> Response | None:
        """``items(n)/Folder…`` (a folder item's folder) and ``items(n)/FieldValuesAsText`` / ``…AsHtml`` (every
        field as text, as for a library item in ``rest_item_ops.py``), or None."""
        names = [n for n, _ in segs]
        if names[:1] == ["folder"] and row.fs_type == 1:
            return self.rest_custom_folder(req, lst, row.path, segs[1:], verbose)
        if names not in (["fieldvaluesastext"], ["fieldvaluesashtml"]) or req.method != "GET":
            return None
        out: dict[str, str] = {}
        for key, value in self._c_item(req, lst, row, True).items():
            text = "" if value is None else ("Yes" if value is True else "No" if value is False else str(value))
            if key in ("Created", "Modified"):  # [unc] the site's locale (en-US) and time zone (UTC)
                text = datetime.fromisoformat(text.replace("Z", "+00:00")).strftime("%-m/%-d/%Y %-I:%M %p")
            out[key] = html.escape(text) if names[0].endswith("html") else text
        out["Author"] = out["Editor"] = "SharePoint App"
        op = "FieldValuesAsHtml" if names[0].endswith("html") else "FieldValuesAsText"
        return self._rest_json(self._rest_entity(out, "SP.FieldStringValues", f"{self._c_base(req, lst)}/Items("
                                                 f"{row.id})/{op}", verbose), verbose)

    # -- addItem, AddItemUsingPath ---------------------------------------------------------------------------
    def rest_custom_add_item(self, req: Request, lst: CustomList, using_path: bool, verbose: bool) -> Response:
        self.rest_custom_list(req, lst.site_id, lid=lst.id, need="write")
        body = (req.json() if req.body else None) or {}
        params = body.get("parameters") if isinstance(body, dict) else None
        if not isinstance(params, dict):
            raise RestError(400, BAD)
        if using_path:
            where = params.get("FolderPath") or {}
            url = str(where.get("DecodedUrl") or "") if isinstance(where, dict) else str(where)
        else:
            url = str(params.get("FolderUrl") or "")
        kind = params.get("UnderlyingObjectType") or 0
        if kind not in (0, 1, "0", "1"):
            raise RestError(400, BAD)
        parent = self.c_relative(req, lst, url) if url else ""
        row = self._c_new_row(req, lst, parent, int(kind) == 1, str(params.get("LeafName") or ""))
        if int(kind) != 1:  # a folder told the listeners when it was made
            self.store.changed("list", lst.id)
        return self._rest_json(self._c_item_entity(req, lst, self._c_item(req, lst, row), verbose), verbose)

    def _c_new_row(self, req: Request, lst: CustomList, parent: str, folder: bool, leaf: str) -> Row:
        """A new folder named ``leaf``, or a new item, in the folder ``parent`` of ``lst`` (404 when it is not one)."""
        if folder:
            return self.c_make_folder(lst, parent, leaf, False, req)
        with self.store.lock:
            if parent and self.c_folder_row(lst, parent) is None:
                raise RestError(404, NOT_FOUND)
            row = Row(lst.next_id, {}, folder=parent)
            lst.rows[row.id], lst.next_id = row, lst.next_id + 1
        return row

    def rest_custom_add_validate(self, req: Request, lst: CustomList, verbose: bool) -> Response:
        """``AddValidateUpdateItem`` / ``…UsingPath``: ``{"listItemCreateInfo": {FolderUrl | FolderPath, LeafName,
        UnderlyingObjectType}, "formValues": [{"FieldName", "FieldValue"}]}``; one ``SP.ListItemFormUpdateValue`` a
        value and a last ``Id`` one with the new item's id; a field the list has not is ``HasException`` and nothing
        is made (as SharePoint commits nothing when a value fails)."""
        self.rest_custom_list(req, lst.site_id, lid=lst.id, need="write")
        body = (req.json() if req.body else None) or {}
        info = body.get("listItemCreateInfo") if isinstance(body, dict) else None
        values = body.get("formValues") if isinstance(body, dict) else None
        if not isinstance(info, dict) or not isinstance(values, list) or not all(
                isinstance(v, dict) and "FieldName" in v for v in values):
            raise RestError(400, BAD)
        where = info.get("FolderPath")
        url = str((where.get("DecodedUrl") if isinstance(where, dict) else where) or info.get("FolderUrl") or "")
        parent = self.c_relative(req, lst, url) if url else ""
        rows = []
        for v in values:
            name, known = str(v["FieldName"]), str(v["FieldName"]) == "Title" or str(v["FieldName"]) in lst.columns
            rows.append({"ErrorCode": 0 if known else -2147024809, "ErrorMessage": None if known else
                         f"Column '{name}' does not exist. It may have been deleted by another user.",
                         "FieldName": name, "FieldValue": v.get("FieldValue"), "HasException": not known, "ItemId": 0})
        if all(not r["HasException"] for r in rows):
            row = self._c_new_row(req, lst, parent, str(info.get("UnderlyingObjectType") or 0) == "1",
                                  str(info.get("LeafName") or ""))
            with self.store.lock:
                row.fields.update({r["FieldName"]: "" if r["FieldValue"] is None else str(r["FieldValue"])
                                   for r in rows})
            self.store.changed("list", lst.id)
            rows = [r | {"ItemId": row.id} for r in rows]
            rows.append({"ErrorCode": 0, "ErrorMessage": None, "FieldName": "Id", "FieldValue": str(row.id),
                         "HasException": False, "ItemId": row.id})
        kind = "SP.ListItemFormUpdateValue"
        if verbose:
            rows = [{"__metadata": {"type": kind}, **r} for r in rows]
            op = "AddValidateUpdateItemUsingPath" if "usingpath" in req.path.lower() else "AddValidateUpdateItem"
            return self._rest_json({op: {"__metadata": {"type": f"Collection({kind})"}, "results": rows}}, verbose)
        return self._rest_json({"value": rows}, verbose)

    # -- folders ---------------------------------------------------------------------------------------------
    def c_folder_entity(self, req: Request, lst: CustomList, path: str, verbose: bool, select: str | None = None
                        ) -> dict[str, Any]:
        row = self.c_folder_row(lst, path) if path else None
        url = f"{self.c_root_url(req, lst)}/{path}" if path else self.c_root_url(req, lst)
        inside = [r for r in lst.rows.values() if r.folder.lower() == path.lower()]
        stamps = [r.modified for r in inside] + [row.modified if row else lst.created]
        props = {"Exists": True, "IsWOPIEnabled": False, "ItemCount": len(inside),
                 "Name": row.leaf if row else lst.url_name, "ProgID": None, "ServerRelativeUrl": url,
                 "ServerRelativePath": {"DecodedUrl": url},
                 "TimeCreated": iso(row.created if row else lst.created), "TimeLastModified": iso(max(stamps)),
                 "UniqueId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{lst.id}/{row.id}" if row else lst.id + "/root")),
                 "WelcomePage": ""}
        props = pick(props, req.query.get("$select", "") if select is None else select)
        return self._rest_entity(props, "SP.Folder", f"{self._rest_web_url(req)[0]}/_api/Web/"
                                 f"GetFolderByServerRelativePath(decodedurl='{url}')", verbose)

    def rest_custom_folder(self, req: Request, lst: CustomList, path: str, segs: list[tuple[str, str | None]],
                           verbose: bool) -> Response:
        """``segs`` after a folder of the list (``path`` under its root folder, "" the root)."""
        names = [n for n, _ in segs]
        method = req.header("X-HTTP-Method").upper() or req.method
        row = self.c_folder_row(lst, path) if path else None
        if path and row is None:
            raise RestError(404, NOT_FOUND)
        if method != "GET":
            self.rest_custom_list(req, lst.site_id, lid=lst.id, need="write")
        if not names and method == "GET":
            return self._rest_json(self.c_folder_entity(req, lst, path, verbose), verbose)
        if row is not None and ((not names and method == "DELETE") or (names in (["recycle"], ["deleteobject"])
                                                                         and method == "POST")):
            if names == ["recycle"]:  # rest_recycle.py: into the site's bin
                guid = self.list_to_bin(lst, row, self.c_item_paths(req, lst, row)["FileRef"])
                self.store.changed("list", lst.id)
                return self._rest_json({"Recycle": guid} if verbose else {"value": guid}, verbose)
            with self.store.lock:
                lst.drop(row.id)
            self.store.changed("list", lst.id)
            return Response(200, b"")
        if names == ["folders"] and not segs[0][1] and method == "GET":
            subs = sorted((r for r in lst.rows.values() if r.fs_type == 1 and r.folder.lower() == path.lower()),
                          key=lambda r: r.id)
            shown = [self.c_folder_entity(req, lst, r.path, verbose) for r in subs]
            return self._rest_json(self._rest_collection(shown, verbose), verbose)
        if names[:1] == ["folders"] and names[1:2] in (["add"], ["addusingpath"]) and method == "POST":
            a = args(segs[1][1])
            name = a.get("decodedurl", a.get("url", a.get("", "")))
            made = self.c_make_folder(lst, path, self.c_relative(req, lst, name) if "/" in name else name, True,
                                      req)
            return self._rest_json(self.c_folder_entity(req, lst, made.path, verbose), verbose)
        if names[:1] == ["folders"] and (segs[0][1] or names[1:2] == ["getbyurl"]):
            by_call = names[1:2] == ["getbyurl"]
            name = args(segs[1][1] if by_call else segs[0][1]).get("", "").strip("/")
            sub = self.c_relative(req, lst, name) if name.startswith("/") else (f"{path}/{name}" if path else name)
            return self.rest_custom_folder(req, lst, sub, segs[2 if by_call else 1:], verbose)
        if names == ["files"] and method == "GET":
            return self._rest_json(self._rest_collection([], verbose), verbose)
        if names == ["listitemallfields"] and method == "GET":
            if row is None:
                return self._rest_json({"ListItemAllFields": None} if verbose else {"odata.null": True}, verbose)
            props = self.c_pick(self._c_item(req, lst, row, True), req.query.get("$select", ""))
            return self._rest_json(self._c_item_entity(req, lst, props, verbose), verbose)
        if names == ["parentfolder"] and method == "GET" and row is not None:
            return self._rest_json(self.c_folder_entity(req, lst, row.folder, verbose), verbose)
        raise RestError(400, BAD)

    def rest_custom_folder_by_url(self, req: Request, site: str, url: str, segs: list[tuple[str, str | None]],
                                  verbose: bool, make: bool = False) -> Response | None:
        """``web/GetFolderByServerRelativeUrl('…/Lists/{T}/…')…`` (``make``: ``web/Folders/Add('…')``), or None
        when the URL is not in a custom list."""
        path = unquote(urlsplit(url).path if "://" in url else url).strip("/")
        rel = self._rest_web_url(req)[1].strip("/").lower()
        if path.lower().startswith(rel + "/"):
            path = path[len(rel) + 1:]
        m = re.fullmatch(r"(?i:lists)/([^/]+)(?:/(.+))?", path)
        lst = None if m is None else next((c for c in self.store.custom_lists.values() if c.site_id == site
                                           and c.url_name.lower() == m.group(1).lower()), None)
        if lst is None or self.rest_custom_list(req, site, lid=lst.id, need="write" if make else "read") is None:
            return None
        inner = (m.group(2) or "").strip("/")
        if make:
            parent, _, name = inner.rpartition("/")
            made = self.c_make_folder(lst, parent, name, True, req)
            return self._rest_json(self.c_folder_entity(req, lst, made.path, verbose), verbose, 201)
        return self.rest_custom_folder(req, lst, inner, segs, verbose)

    def rest_custom_folder_by_id(self, req: Request, site: str, guid: str, segs: list[tuple[str, str | None]],
                                 verbose: bool) -> Response | None:
        """``web/GetFolderById('…')…`` (as office365 reaches a folder it has loaded) for a custom list's folder."""
        for lst in [c for c in self.store.custom_lists.values() if c.site_id == site]:
            paths = {str(uuid.uuid5(uuid.NAMESPACE_URL, lst.id + "/root")): ""}
            paths.update({str(uuid.uuid5(uuid.NAMESPACE_URL, f"{lst.id}/{r.id}")): r.path
                          for r in list(lst.rows.values()) if r.fs_type == 1})
            if guid in paths and self.rest_custom_list(req, site, lid=lst.id) is not None:
                return self.rest_custom_folder(req, lst, paths[guid], segs, verbose)
        return None


__all__ = ["CustomFolders"]
