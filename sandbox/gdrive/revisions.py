"""``revisions.list/get/update/delete`` on a file, mixed into ``DriveSandbox``.

Every content a file has held is a revision (``store.Revision``), oldest first; the last is the head
(``headRevisionId``, ``md5Checksum`` and the file's bytes follow it). ``revisions.get`` with
``alt=media`` downloads that revision's bytes. Binary files' revisions carry ``keepForever``,
``md5Checksum``, ``size`` and ``originalFilename``; Docs Editors files' carry the ``published*`` fields
and ``exportLinks``, as in Drive.

Reading revisions needs ``capabilities.canReadRevisions`` (owner or writer; else 403
insufficientFilePermissions); an unknown id is 404 ``revisionNotFound`` on ``revisionId``. Drive refuses
to delete a file's last remaining revision (400 ``cannotDeleteOnlyRevision``) and any revision of a Docs
Editors file (403 ``revisionDeletionNotSupported``); folders have no revisions (403
``revisionsNotSupported``). The three reasons are Drive's (Google's client tools branch on them); their
messages and the status codes of the last two are guessed. Deleting the head of several revisions
makes the previous one the head, as the documentation (only "the last remaining file version can't be
deleted") implies."""

from __future__ import annotations

import hashlib
from typing import Any

from sandbox.core.http import Request, Response, json_response
from sandbox.gdrive.errors import DriveError
from sandbox.gdrive.fields import select
from sandbox.gdrive.media import download
from sandbox.gdrive.paging import page
from sandbox.gdrive.store import EXPORT_FORMATS, GOOGLE_APPS, DriveFile, Revision, user

ONE = r"/revisions/(?P<rev_id>[A-Za-z0-9_-]+)"
REVISION_ROUTES = (("GET", "/revisions", "list_revisions"), ("GET", ONE, "get_revision"),
                   ("PATCH", ONE, "update_revision"), ("DELETE", ONE, "delete_revision"))
FLAGS = {"keepForever": "keep_forever", "published": "published", "publishAuto": "publish_auto",
         "publishedOutsideDomain": "published_outside_domain"}
READ_ONLY = {"kind", "id", "mimeType", "md5Checksum", "size", "originalFilename", "lastModifyingUser",
             "exportLinks", "publishedLink"}


def revision_resource(f: DriveFile, rev: Revision, who: str, base: str) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": "drive#revision", "id": rev.id, "mimeType": rev.mime_type,
                           "modifiedTime": rev.modified, "lastModifyingUser": user(rev.who, who)}
    if f.native:
        out.update(published=rev.published, publishAuto=rev.publish_auto,
                   publishedOutsideDomain=rev.published_outside_domain)
        if rev.published:
            out["publishedLink"] = f"https://docs.google.com/{f.mime_type[len(GOOGLE_APPS):]}/d/{f.id}/pub"
        if f.mime_type in EXPORT_FORMATS:
            out["exportLinks"] = {mime: f"{base}/drive/v3/files/{f.id}/export?mimeType={mime}&revision={rev.id}"
                                  for mime in EXPORT_FORMATS[f.mime_type]}
    else:
        out.update(keepForever=rev.keep_forever, originalFilename=rev.name, size=str(len(rev.content)),
                   md5Checksum=hashlib.md5(rev.content).hexdigest())
    return out


class Revisions:
    """Uses the sandbox's ``store``, ``_file`` and ``_changed``."""

    def _revisable(self, req: Request) -> DriveFile:
        f = self._file(req, any_drive=True)  # revisions.* take no supportsAllDrives: they work on any drive
        if f.head_revision() is None:
            raise DriveError(403, "revisionsNotSupported", "The file does not support revisions.")
        if self.store.role(f, req.principal) not in ("owner", "writer"):
            raise DriveError(403, "insufficientFilePermissions",
                             f"The user does not have sufficient permissions for file {f.id}.")
        return f

    @staticmethod
    def _revision(f: DriveFile, rev_id: str) -> Revision:
        found = next((r for r in f.revisions if r.id == rev_id), None)
        if found is None:
            raise DriveError(404, "revisionNotFound", f"Revision not found: {rev_id}.", location="revisionId")
        return found

    def _revision_answer(self, f: DriveFile, rev: Revision, req: Request) -> Response:
        return json_response(select(revision_resource(f, rev, req.principal, req.base_url), "revision",
                                    req.query.get("fields")))

    def list_revisions(self, req: Request) -> Response:
        f = self._revisable(req)
        with self.store.lock:
            found, token = page(req, list(f.revisions), 200, 1000)
            body: dict[str, Any] = {"kind": "drive#revisionList", "revisions": [
                revision_resource(f, r, req.principal, req.base_url) for r in found]}
        if token:
            body["nextPageToken"] = token
        return json_response(select(body, "revisionList", req.query.get("fields")))

    def get_revision(self, req: Request) -> Response:
        f = self._revisable(req)
        rev = self._revision(f, req.params["rev_id"])
        if req.query.get("alt") != "media":
            return self._revision_answer(f, rev, req)
        if f.native:
            raise DriveError(403, "fileNotDownloadable", "Only files with binary content can be downloaded. Use "
                             "Export with Docs Editors files.")
        self._abuse(f, req)  # app.py
        return download(rev.content, rev.mime_type, req.header("Range"))

    def update_revision(self, req: Request) -> Response:
        f = self._revisable(req)
        rev = self._revision(f, req.params["rev_id"])
        body = (req.json() if req.body else None) or {}
        bad = sorted(set(body) & READ_ONLY)
        if bad:
            raise DriveError(403, "fieldNotWritable", "The resource body includes fields which are not directly "
                             f"writable: {', '.join(bad)}.")
        with self.store.lock:
            for key, attr in FLAGS.items():
                if body.get(key) is not None:
                    setattr(rev, attr, bool(body[key]))
        return self._revision_answer(f, rev, req)

    def delete_revision(self, req: Request) -> Response:
        f = self._revisable(req)
        rev = self._revision(f, req.params["rev_id"])
        if f.native:
            raise DriveError(403, "revisionDeletionNotSupported", "Revisions of Google Docs Editors files cannot "
                             "be deleted.")
        if len(f.revisions) == 1:
            raise DriveError(400, "cannotDeleteOnlyRevision", "The only revision of a file cannot be deleted. "
                             "Delete the file instead.")
        with self.store.lock:
            was_head = rev is f.revisions[-1]
            f.revisions.remove(rev)
            if was_head:  # the previous revision is the file's content again
                f.content = f.revisions[-1].content
                self._changed(f)
        return Response(204, b"", "text/plain")
