"""SharePoint REST v1 chunked upload, as ``ClientContext``'s ``upload_file`` does above ``chunk_size``:
``Files/add(url=…,overwrite=true)`` with no bytes, then ``GetFileById('…')/StartUpload(uploadID='…')``,
``ContinueUpload(uploadID=…,fileOffset=n)`` … ``FinishUpload(…)``, each with a fragment as the body.
``StartUpload``/``ContinueUpload`` answer the bytes received so far (Edm.Int64, a string), ``FinishUpload``
the file.
"""

from __future__ import annotations

from typing import Any

from sandbox.core.http import Request, Response
from sandbox.core.numbers import ascii_int
from sandbox.sharepoint.rest_errors import RestError
from sandbox.sharepoint.store import Drive, Item


class RestUploads:
    """Mixed into ``GraphSandbox`` with ``RestFiles`` (upload sessions by id on the sandbox)."""

    def _rest_chunk(self, req: Request, d: Drive, item: Item, op: str, a: dict[str, str], verbose: bool) -> Response:
        """``StartUpload(uploadId=guid'…')``, ``ContinueUpload(uploadId=…,fileOffset=n)``, ``FinishUpload(…)``:
        fragments staged per upload id; the file keeps its bytes until ``FinishUpload`` [unc: SharePoint
        locks the file meanwhile]. An offset other than the bytes received so far is 400 [unc: the code]."""
        sessions: dict[str, dict[str, Any]] = self.__dict__.setdefault("rest_sessions", {})
        uid = a.get("uploadid", "").lower()
        if op == "startupload":
            sessions[uid] = {"item": item.id, "data": bytearray()}
        session = sessions.get(uid)
        if session is None or session["item"] != item.id:
            raise RestError(404, ("-2130575338, Microsoft.SharePoint.SPFileSessionNotFoundException",
                                  "The upload session was not found."))
        offset = a.get("fileoffset", "0")
        if op != "startupload" and ascii_int(offset) != len(session["data"]):
            raise RestError(400, ("-2147024809, System.ArgumentOutOfRangeException",
                                  "Specified argument was out of the range of valid values. "
                                  "Parameter name: fileOffset"))
        session["data"] += req.body
        if op != "finishupload":
            key = "StartUpload" if op == "startupload" else "ContinueUpload"
            size = str(len(session["data"]))  # Edm.Int64 bytes received so far
            return self._rest_json({key: size} if verbose else {"value": size}, verbose)
        del sessions[uid]
        self._room(d, len(session["data"]), item)
        done = self.store.add(d.id, item.parent_id, item.name, bytes(session["data"]))
        return self._rest_json(self._rest_file(req, d, done, verbose), verbose)
