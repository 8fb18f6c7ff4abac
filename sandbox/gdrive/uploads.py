"""Drive uploads for ``DriveSandbox``: ``uploadType=media``, ``multipart`` and ``resumable`` (session URI
in ``Location``, chunks with ``Content-Range``, ``308`` with ``Range`` until complete; a chunk sent again
counts once, one past the received bytes is 400; a complete session answers the file again, as a client
whose last reply was lost asks for it; the session URI is the credential of its PUTs, which may come without
``Authorization``: ``app._session_authed``), to create a file
(``POST``) or to replace a file's content with files.update (``PATCH …/files/{id}``; metadata,
addParents/removeParents and ``fields`` as on files.update)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from sandbox.core.http import Request, Response
from sandbox.core.multipart import MultipartError, boundary_of, split_parts
from sandbox.core.numbers import ascii_int
from sandbox.gdrive.errors import DriveError
from sandbox.gdrive.fields import select
from sandbox.gdrive.limits import check_chunk, check_properties
from sandbox.gdrive.listing import all_drives
from sandbox.gdrive.mime_parts import unfold_part_headers

UPLOAD = r"/upload/drive/v3/files"


class Uploads:
    """Uses the sandbox's ``store``, ``_file``, ``_new_file``, ``_update`` and ``_answer``."""

    def _store_upload(self, req: Request, meta: dict[str, Any], data: bytes, mime: str | None,
                      file_id: str | None, who: str) -> Response:
        """Create a file, or (files.update with media) replace an existing file's content."""
        if file_id is None:
            return self._answer(self._pinned(self._new_file(who, meta, data, mime, all_drives(req)), req), req)
        f = self.store.files.get(file_id)
        if f is None:
            raise DriveError(404, "notFound", f"File not found: {file_id}.", location="fileId")
        self._update(f, meta, req, data, mime)
        return self._answer(self._pinned(f, req), req)

    def upload(self, req: Request) -> Response:
        kind = req.query.get("uploadType", "media")
        ctype = req.header("Content-Type", "application/octet-stream")
        target = req.params.get("file_id")
        existing = self._file(req) if target is not None else None
        if kind == "media":
            return self._store_upload(req, {}, req.body, ctype.split(";")[0], target, req.principal)
        if kind == "multipart":
            boundary = boundary_of(ctype) if ctype.lower().startswith("multipart/") else None
            try:  # byte for byte: googleapiclient writes LF line breaks (sandbox/core/multipart.py)
                # a long part header comes folded onto a continuation line: unfolded first (mime_parts.py)
                parts = split_parts(unfold_part_headers(req.body, boundary), boundary) if boundary else []
            except MultipartError:
                parts = []
            if len(parts) != 2:
                raise DriveError(400, "badContent", "Multipart upload needs a metadata part and a media part.")
            meta = json.loads(parts[0][1] or b"{}")
            media_type = parts[1][0].get("content-type", "application/octet-stream").split(";")[0].strip().lower()
            return self._store_upload(req, meta, parts[1][1], media_type, target, req.principal)
        if kind == "resumable":  # the session's first request is refused as the upload itself would be
            meta = req.json() if req.body else {}
            total = req.header("X-Upload-Content-Length")
            if total and ascii_int(total) is None:  # int(): 'x' was a 500 [round 27]
                raise DriveError(400, "badRequest", f"Invalid X-Upload-Content-Length: {total[:40]}")  # [unc] words
            select({}, "file", req.query.get("fields"))  # 400 on a bad selection, before any byte
            check_properties(meta or {}, *((existing.app_properties, existing.properties) if existing else ()))
            if target is None:
                self._new_parents(req.principal, meta or {}, all_drives(req),
                                  ascii_int(total) if total else None)
            elif self.store.role(existing, req.principal) not in ("owner", "writer"):
                raise DriveError(403, "insufficientFilePermissions",
                                 f"The user does not have sufficient permissions for file {target}.")
            upload_id = self.store.new_id()
            self.store.uploads[upload_id] = {"meta": meta or {}, "data": bytearray(), "who": req.principal,
                                             "mime": req.header("X-Upload-Content-Type") or None,
                                             "total": ascii_int(total) if total else None, "file_id": target,
                                             "query": dict(req.query)}
            where = UPLOAD + (f"/{target}" if target else "")
            location = f"{req.base_url}{where}?uploadType=resumable&upload_id={upload_id}"
            return Response(200, b"", "text/plain", [("Location", location), ("X-GUploader-UploadID", upload_id)])
        raise DriveError(400, "invalid", f"Invalid value for uploadType: {kind}", location="uploadType")

    def resume(self, req: Request) -> Response:
        session = self.store.uploads.get(req.query.get("upload_id", ""))
        if session is None or session["who"] != req.principal:
            raise DriveError(404, "notFound", "No such upload session.")
        if "answer" in session:  # complete: a client whose last reply was lost asks again and gets the file
            done = session["answer"]
            return Response(done.status, done.body, done.content_type, list(done.headers))
        span = req.header("Content-Range")  # "bytes a-b/total", "bytes */total" or "bytes a-b/*"
        if span.startswith("bytes "):
            where, _, total = span[len("bytes "):].partition("/")
            # ascii_int, not int(): 'x' or 5,000 digits were a 500 [round 27]
            if (total != "*" and ascii_int(total) is None) or (where != "*" and ascii_int(where.split("-")[0]) is None):
                raise DriveError(400, "badRequest", "Invalid request. The Content-Range header is malformed.")  # [unc]
            first, _, last = where.partition("-")
            check_chunk(session, None if where == "*" else ascii_int(first), ascii_int(last) if last else None,
                        None if total == "*" else ascii_int(total), req.body)  # limits.py [round 30]
            if total != "*":
                session["total"] = ascii_int(total)
            if where != "*":
                start, have = ascii_int(where.split("-")[0]) or 0, len(session["data"])
                if start > have:
                    raise DriveError(400, "badRequest", "Invalid request. According to the Content-Range header, the "
                                     f"upload offset is {start} byte(s), which exceeds already uploaded size of "
                                     f"{have} byte(s).")
                session["data"] += req.body[have - start:]  # bytes sent again (a retried chunk) count once
        else:
            session["data"] += req.body
            session["total"] = len(session["data"])
        if session["total"] is not None and len(session["data"]) >= session["total"]:
            req.raw_query = urlencode({k: v for k, v in session["query"].items() if k != "uploadType"})
            session["answer"] = self._store_upload(req, session["meta"], bytes(session["data"][:session["total"]]),
                                                   session["mime"], session["file_id"], session["who"])
            return session["answer"]
        headers = [("Range", f"bytes=0-{len(session['data']) - 1}")] if session["data"] else []
        return Response(308, b"", "text/plain", headers)
