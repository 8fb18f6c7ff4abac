"""``SP.Folder`` service operations on a folder (``rest_files.py`` routes them), for office365-rest-python-client's
``Folder.add_sub_folder`` / ``add_sub_folder_using_path``:

- ``POST …/AddSubFolder`` with ``{"leafName": "x"}`` (or ``AddSubFolder(leafName='x')``) and
  ``POST …/AddSubFolderUsingPath`` with ``{"DecodedUrl": "x"}`` (as the client sends it) or
  ``{"leafPath": {"DecodedUrl": "x"}}`` (SharePoint's parameter): a folder ``x`` in this one. Both are void
  service operations (SharePoint's metadata gives them no return type), answered like the other void
  operations. A name SharePoint refuses is 400 as for ``Folders/Add``; a file of that name there is 400
  SPFileExistsException; an existing folder of that name is kept, as ``Folders/Add`` keeps it [unc: whether
  AddSubFolder refuses an existing folder instead]. ``x`` with slashes makes the folders on the way [unc]."""

from __future__ import annotations

from typing import Any

from sandbox.core.http import Request, Response
from sandbox.sharepoint.rest import args
from sandbox.sharepoint.rest_errors import BAD, RestError
from sandbox.sharepoint.store import Drive, Item

SUB_FOLDER_OPS = ("addsubfolder", "addsubfolderusingpath")


def _leaf(req: Request, raw: str | None) -> str:
    body: Any = req.json() if req.body else {}
    body = {k.lower(): v for k, v in (body if isinstance(body, dict) else {}).items()}
    url = {k.lower(): v for k, v in args(raw).items()}
    value = body.get("leafname") or body.get("leafpath") or body.get("decodedurl") or url.get("leafname") \
        or url.get("decodedurl") or url.get("")
    if isinstance(value, dict):  # SP.ResourcePath
        value = value.get("DecodedUrl") or value.get("decodedUrl")
    return str(value or "")


class RestFolderOps:
    """Mixed into ``GraphSandbox`` with ``RestFiles`` (uses its ``_rest_make_folder`` and ``_rest_void``)."""

    def rest_folder_op(self, req: Request, d: Drive, folder: Item, op: str, raw: str | None,
                       verbose: bool) -> Response:
        if req.method != "POST":
            raise RestError(400, BAD)
        parts = [p for p in _leaf(req, raw).split("/") if p]
        if not parts:
            raise RestError(400, ("-2147024809, System.ArgumentException", "Value cannot be null or empty."))  # [unc]
        with self.store.lock:
            self._rest_make_folder(d, folder, parts)
        return self._rest_void({"addsubfolder": "AddSubFolder"}.get(op, "AddSubFolderUsingPath"), verbose)
