"""``files.download`` and ``operations.get``: Drive's long-running download (``POST files/{id}/download``
answers an ``Operation``; ``GET operations/{name}`` polls it), as google-api-python-client calls them.

- The operation is done at once here [unc: Drive may answer it pending first, which callers poll through];
  its ``response`` is a ``DownloadFileResponse`` (``@type``, ``downloadUri``, ``partialDownloadAllowed``);
  ``downloadUri`` is fetched with the caller's credentials [unc: the real URI's host and form]: the file's
  ``alt=media`` (blob files; ``revisionId``: that revision's), or its ``export`` in ``mimeType`` (Docs Editors
  files; PDF when none is given [unc: Drive's default format]).
- ``mimeType`` on a blob file is 400 invalid (only Docs Editors files convert); a format the type does not
  export is 400 badRequest as ``files.export``; a folder or shortcut is 403 fileNotDownloadable; an unknown
  ``revisionId`` 404 revisionNotFound. The file must be readable by the caller (404 otherwise).
- An operation is the caller's, for 24 hours (Drive's documented lifetime); another caller's or an unknown
  name is 404 [unc: the reason].
"""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import quote

from sandbox.core.http import Request, Response, json_response
from sandbox.gdrive.errors import DriveError
from sandbox.gdrive.export import export
from sandbox.gdrive.fields import select
from sandbox.gdrive.store import EXPORT_FORMATS, GOOGLE_APPS

OPERATION_ROUTES = (("POST", r"/drive/v3/files/(?P<file_id>[A-Za-z0-9_-]+)/download", "download_file"),
                    ("GET", r"/drive/v3/operations/(?P<name>[A-Za-z0-9_.-]+)", "get_operation"))
LIFETIME = 24 * 3600
RESPONSE_TYPE = "type.googleapis.com/google.apps.drive.v3.DownloadFileResponse"


class Operations:
    """Mixed into ``DriveSandbox`` (uses ``store``, ``_file`` and ``_revision``)."""

    def _operations(self) -> dict[str, tuple[str, float, dict[str, Any]]]:
        return self.__dict__.setdefault("_download_operations", {})

    def download_file(self, req: Request) -> Response:
        f = self._file(req, any_drive=True)  # [unc] files.download takes no supportsAllDrives
        mime, rev_id = req.query.get("mimeType") or "", req.query.get("revisionId") or ""
        base = f"{req.base_url}/drive/v3/files/{f.id}"
        if f.mime_type in EXPORT_FORMATS:  # Docs Editors files: exported
            target = mime or "application/pdf"
            export(f, target)  # the format check (and size limit) files.export makes
            uri = f"{base}/export?mimeType={quote(target, safe='')}"
            if rev_id:
                self._revision(f, rev_id)
                uri += f"&revisionId={quote(rev_id, safe='')}"  # [unc] a revision's export
        elif f.mime_type.startswith(GOOGLE_APPS):  # folders, shortcuts, forms ...
            raise DriveError(403, "fileNotDownloadable", "Only files with binary content can be downloaded. Use "
                             "Export with Docs Editors files.")
        elif mime:
            raise DriveError(400, "invalid", "The mimeType parameter can only be set when downloading Google "
                             "Workspace documents.", location="mimeType")  # [unc] the message
        elif rev_id:
            self._revision(f, rev_id)
            uri = f"{base}/revisions/{quote(rev_id, safe='')}?alt=media"
        else:
            uri = f"{base}?alt=media"
        name = secrets.token_urlsafe(24)
        op = {"name": name, "done": True,
              "response": {"@type": RESPONSE_TYPE, "downloadUri": uri, "partialDownloadAllowed": False}}
        with self.store.lock:
            ops = self._operations()
            now = time.time()
            for key in [k for k, (_, made, _) in ops.items() if now - made > LIFETIME]:
                del ops[key]
            ops[name] = (req.principal, now, op)
        return json_response(select(op, "operation", req.query.get("fields")))

    def get_operation(self, req: Request) -> Response:
        found = self._operations().get(req.params["name"])
        if found is None or found[0] != req.principal or time.time() - found[1] > LIFETIME:
            raise DriveError(404, "notFound", f"Operation not found: {req.params['name']}.", location="name")
        return json_response(select(found[2], "operation", req.query.get("fields")))
