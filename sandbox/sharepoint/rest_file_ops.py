"""SharePoint REST v1 file and folder operations beyond read and write (``rest_files.py``): ``CheckOut``,
``CheckIn``, ``UndoCheckOut``, ``MoveTo(newurl='…',flags=n)``, ``CopyTo(strnewurl='…',boverwrite=…)``,
``MoveToUsingPath(DecodedUrl='…',moveOperations=n)`` and ``CopyToUsingPath`` (``{"DecodedUrl", "bOverWrite"}``
in the body or the URL) on a file; ``MoveTo(newUrl='…')`` and ``MoveToUsingPath(DecodedUrl='…')`` on a folder;
and the static ``SP.MoveCopyUtil.{Move,Copy}{File,Folder}[ByPath]`` with ``srcPath``/``destPath``
(``{"DecodedUrl"}``) or ``srcUrl``/``destUrl`` and ``options.KeepBoth`` / ``overwrite`` in the body.

- A move within a library keeps the item (its id, list item id and versions), as Graph's move does; into
  another library it is a new item there and a deletion here, as SharePoint makes it a new list item
  [unc: versions are not carried]; a folder's files and folders go with it. ``flags``/``moveOperations`` 1
  (overwrite), ``bOverWrite`` or ``overwrite`` true replace a file at the target; ``KeepBoth`` names the new
  one ``name 1.ext``; otherwise an existing file or folder there is 400 SPFileExistsException. A missing
  destination folder is 404 (File Not Found).
- ``CheckIn`` of a file that is not checked out is 400 SPFileCheckOutException [unc: the text].
"""

from __future__ import annotations

from typing import Any

from sandbox.core.http import Request, Response
from sandbox.sharepoint.names import check_name
from sandbox.sharepoint.rest import args
from sandbox.sharepoint.rest_errors import BAD, NOT_FOUND, RestError, edm_int
from sandbox.sharepoint.store import Drive, Item, now_iso

OPS = ("checkout", "checkin", "undocheckout", "moveto", "copyto", "movetousingpath", "copytousingpath")
FOLDER_OPS = ("moveto", "movetousingpath")
UTIL = ("movefile", "copyfile", "movefilebypath", "copyfilebypath", "movefolder", "copyfolder", "movefolderbypath",
        "copyfolderbypath")
EXISTS = "-2130575257, Microsoft.SharePoint.SPFileExistsException"
CHECKED = "-2130575306, Microsoft.SharePoint.SPFileCheckOutException"


def _params(req: Request, raw: str | None) -> dict[str, Any]:
    """A service operation's parameters, from the URL (``op(a='x')``) and the JSON body, names lowercased."""
    body = req.json() if req.body else {}
    return {**args(raw), **{k.lower(): v for k, v in (body if isinstance(body, dict) else {}).items()}}


def _path(value: Any) -> str:
    return str(value.get("DecodedUrl") or "") if isinstance(value, dict) else str(value or "")


class RestFileOps:
    """Mixed into ``GraphSandbox`` with ``RestFiles``."""

    def rest_file_op(self, req: Request, d: Drive, item: Item, op: str, raw: str | None, verbose: bool) -> Response:
        if req.method != "POST":
            raise RestError(400, BAD)
        a = _params(req, raw)
        if op in ("checkout", "checkin", "undocheckout"):
            if op == "checkin" and not item.checked_out:
                raise RestError(400, (CHECKED, f"The file \"{self.rest_path(req, d, item)}\" is not checked out."))
            if op == "checkin":  # checkInType 0 minor (as major: no minor versions here [unc]), 1 major, 2 overwrite
                kind = str(a.get("checkintype", 1))
                self.store.check_in(item, str(a.get("comment") or ""), new_version=kind != "2")
            elif op == "undocheckout":
                self.store.discard_checkout(item)
            else:
                item.checked_out = True
            return self._rest_void(op, verbose)
        new_url = _path(a.get("newurl") or a.get("strnewurl") or a.get("decodedurl"))
        if op in ("moveto", "movetousingpath") and item.content is not None:
            overwrite = edm_int(a.get("flags") or a.get("moveoperations") or 0) & 1 == 1  # '٣', 'x', 1e999: 400
        else:
            overwrite = str(a.get("boverwrite", "false")).lower() == "true"
        self._rest_move_copy(req, d, item, new_url, op.startswith("copy"), overwrite, False)
        return self._rest_void(op, verbose)

    def rest_move_copy_util(self, req: Request, site: str, op: str, verbose: bool) -> Response:
        """``SP.MoveCopyUtil.MoveFileByPath`` and kin: both paths absolute (or server-relative) in the body."""
        if req.method != "POST" or op not in UTIL:
            raise RestError(400, BAD)
        a = _params(req, None)
        src, dest = _path(a.get("srcpath") or a.get("srcurl")), _path(a.get("destpath") or a.get("desturl"))
        options = a.get("options") if isinstance(a.get("options"), dict) else {}
        d, parts = self._rest_locate(req, site, src, "write" if op.startswith("move") else "read")
        item = self._rest_walk(d, parts)
        if item is None or not parts or (item.content is None) != ("folder" in op):
            raise RestError(404, NOT_FOUND)
        self._rest_move_copy(req, d, item, dest, op.startswith("copy"), str(a.get("overwrite")).lower() == "true",
                             bool(options.get("KeepBoth")))
        return self._rest_json({op: None} if verbose else {"odata.null": True}, verbose)

    def _rest_move_copy(self, req: Request, d: Drive, item: Item, new_url: str, copy: bool, overwrite: bool,
                        keep_both: bool) -> Item:
        site = self.store.drives[d.id].site_id
        target_drive, parts = self._rest_locate(req, site, new_url, "write")
        if not parts:
            raise RestError(400, BAD)
        parent = self._rest_walk(target_drive, parts[:-1])
        if parent is None or parent.content is not None:
            raise RestError(404, NOT_FOUND)  # [unc] SharePoint's answer for a missing destination folder
        name = check_name(parts[-1])
        with self.store.lock:
            if item.content is None and (parent.id == item.id or item.id in self.store.ancestors(parent)):
                raise RestError(400, ("-2147024809, System.ArgumentException", "Cannot move a folder into itself."))
            existing = self.store.child(parent.id, name)
            if existing is not None and existing.id != item.id:
                if keep_both:
                    name = self.store.free_name(parent.id, name)
                elif existing.content is None or item.content is None or not overwrite:
                    raise RestError(400, (EXISTS, f"A file or folder with the name "
                                          f"{self.rest_path(req, target_drive, existing)} already exists."))
                else:
                    self.store.delete(existing)
            if copy or target_drive.id != d.id:
                made = self._rest_copy_tree(item, target_drive, parent, name)
                if not copy:
                    self.store.delete(item)
                return made
            item.name, item.parent_id, item.modified = name, parent.id, now_iso()
            self.store.touch(item)
            return item

    def _rest_copy_tree(self, item: Item, d: Drive, parent: Item, name: str) -> Item:
        if item.content is not None:
            self._room(d, len(item.content))
        made = self.store.add(d.id, parent.id, name, item.content)
        made.fields = dict(item.fields)
        for child in self.store.children(item.id) if item.content is None else []:
            self._rest_copy_tree(child, d, made, child.name)
        return made

    def _rest_void(self, op: str, verbose: bool) -> Response:
        """A void service operation's answer [unc: as SharePoint serialises a null return]."""
        name = {"moveto": "MoveTo", "copyto": "CopyTo", "checkout": "CheckOut", "checkin": "CheckIn"}.get(op, op)
        return self._rest_json({name: None} if verbose else {"odata.null": True}, verbose)
