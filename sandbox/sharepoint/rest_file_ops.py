"""SharePoint REST v1 file operations beyond read and write (``rest_files.py``): ``CheckOut``, ``CheckIn``,
``UndoCheckOut``, ``MoveTo(newurl='…',flags=n)`` and ``CopyTo(strnewurl='…',boverwrite=…)``.

- A move within a library keeps the item (its id, list item id and versions), as Graph's move does; into
  another library it is a new item there and a deletion here, as SharePoint makes it a new list item
  [unc: versions are not carried]. ``flags`` 1 (overwrite) replaces a file at the target; otherwise an
  existing file there is 400 SPFileExistsException.
- ``CheckIn`` of a file that is not checked out is 400 SPFileCheckOutException [unc: the text].
"""

from __future__ import annotations

from sandbox.core.http import Request, Response
from sandbox.sharepoint.names import check_name
from sandbox.sharepoint.rest_errors import BAD, NOT_FOUND, RestError
from sandbox.sharepoint.store import Drive, Item, now_iso

OPS = ("checkout", "checkin", "undocheckout", "moveto", "copyto")
EXISTS = "-2130575257, Microsoft.SharePoint.SPFileExistsException"
CHECKED = "-2130575306, Microsoft.SharePoint.SPFileCheckOutException"


class RestFileOps:
    """Mixed into ``GraphSandbox`` with ``RestFiles``."""

    def rest_file_op(self, req: Request, d: Drive, item: Item, op: str, a: dict[str, str], verbose: bool) -> Response:
        if req.method != "POST":
            raise RestError(400, BAD)
        if op in ("checkout", "checkin", "undocheckout"):
            if op == "checkin" and not item.checked_out:
                raise RestError(400, (CHECKED, f"The file \"{self.rest_path(req, d, item)}\" is not checked out."))
            item.checked_out = op == "checkout"
            return self._rest_void(op, verbose)
        new_url = a.get("newurl") or a.get("strnewurl") or ""
        overwrite = a.get("flags", "0") == "1" if op == "moveto" else a.get("boverwrite", "false").lower() == "true"
        site = self.store.drives[d.id].site_id
        target_drive, parts = self._rest_locate(req, site, new_url, "write")
        if not parts:
            raise RestError(400, BAD)
        parent = self._rest_walk(target_drive, parts[:-1])
        if parent is None or parent.content is not None:
            raise RestError(404, NOT_FOUND)  # [unc] SharePoint's answer for a missing destination folder
        name = check_name(parts[-1])
        with self.store.lock:
            existing = self.store.child(parent.id, name)
            if existing is not None and existing.id != item.id:
                if existing.content is None or not overwrite:
                    raise RestError(400, (EXISTS, f"A file with the name {self.rest_path(req, target_drive, existing)}"
                                          " already exists."))
                self.store.delete(existing)
            if op == "copyto" or target_drive.id != d.id:
                self._room(target_drive, len(item.content or b""))
                copy = self.store.add(target_drive.id, parent.id, name, item.content)
                copy.fields = dict(item.fields)
                if op == "moveto":
                    self.store.delete(item)
                return self._rest_void(op, verbose)
            item.name, item.parent_id, item.modified = name, parent.id, now_iso()
            self.store.touch(item)
        return self._rest_void(op, verbose)

    def _rest_void(self, op: str, verbose: bool) -> Response:
        """A void service operation's answer [unc: as SharePoint serialises a null return]."""
        name = {"moveto": "MoveTo", "copyto": "CopyTo", "checkout": "CheckOut", "checkin": "CheckIn"}.get(op, op)
        return self._rest_json({name: None} if verbose else {"odata.null": True}, verbose)
