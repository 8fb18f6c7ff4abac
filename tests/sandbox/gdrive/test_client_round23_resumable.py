"""Round 23: a resumable upload's first request (googleapiclient's session start) is refused as Drive
refuses it, before any byte is sent: a parent the caller may not write, a parent that does not exist, two
parents, a bad ``fields`` selection, a file the caller may only read (files.update). The emulator opened a
session for each and refused only the last chunk, after the whole file had gone up. A session interrupted
by a 5xx mid-file resumes where Drive says it stopped."""

from __future__ import annotations

import hashlib
import os

from googleapiclient.errors import HttpError
from googleapiclient.http import MediaFileUpload, MediaInMemoryUpload

from tests.sandbox.gdrive.calls import raw, refused
from tests.sandbox.gdrive.test_client_probe import drive

__all__ = ["drive"]

CHUNK = 256 * 1024


def _start(drive, body: dict, **kw):
    media = MediaInMemoryUpload(os.urandom(3 * CHUNK), mimetype="application/octet-stream", resumable=True,
                                chunksize=CHUNK)
    return drive.files().create(body=body, media_body=media, **kw)


def test_session_start_is_refused_before_any_byte(drive, gdrive):
    sb = gdrive.sandbox
    before = len(sb.store.uploads)
    status, error = refused(_start(drive, {"name": "x", "parents": [gdrive.inbox_folder]}))
    assert (status, error["reason"]) == (403, "insufficientFilePermissions")
    status, error = refused(_start(drive, {"name": "x", "parents": ["no-such-folder"]}))
    assert (status, error["reason"]) == (404, "notFound")
    status, error = refused(_start(drive, {"name": "x", "parents": [gdrive.evidence_folder, gdrive.inbox_folder]}))
    assert (status, error["reason"]) == (403, "cannotAddParent")
    status, error = refused(_start(drive, {"name": "x", "parents": [gdrive.evidence_folder]}, fields="bogus"))
    assert (status, error["reason"], error["location"]) == (400, "invalidParameter", "fields")
    assert len(sb.store.uploads) == before  # no session was opened
    # the first request itself answers so (what a client sees before it sends a byte)
    first = raw(gdrive, "POST", "/upload/drive/v3/files?uploadType=resumable",
                headers={"X-Upload-Content-Length": str(3 * CHUNK)},
                json={"name": "x", "parents": [gdrive.inbox_folder]})
    assert first.status_code == 403 and "Location" not in first.headers
    # a file the caller may only read: files.update's session is refused too
    doc = drive.files().create(body={"name": "r.txt", "parents": [gdrive.evidence_folder]},
                               media_body=MediaInMemoryUpload(b"v1", mimetype="text/plain"), fields="id").execute()
    sb.store.files[doc["id"]].owner = "grc-admin@example.com"
    sb.store.files[doc["id"]].readers.add(gdrive.client_email)
    sb.store.files[doc["id"]].parents = [gdrive.inbox_folder]
    media = MediaInMemoryUpload(b"v2" * CHUNK, mimetype="text/plain", resumable=True, chunksize=CHUNK)
    status, error = refused(drive.files().update(fileId=doc["id"], media_body=media))
    assert (status, error["reason"]) == (403, "insufficientFilePermissions")
    assert len(sb.store.uploads) == before


def test_service_account_without_storage_is_refused_at_session_start(drive, gdrive):
    sb = gdrive.sandbox
    sb.store.service_account_quota = False
    before = len(sb.store.uploads)
    status, error = refused(_start(drive, {"name": "x", "parents": [gdrive.evidence_folder]}))
    assert (status, error["reason"]) == (403, "storageQuotaExceeded") and len(sb.store.uploads) == before


def test_declared_length_over_quota_is_refused_at_session_start(drive, gdrive):
    sb = gdrive.sandbox
    sb.store.quota_bytes = 1000
    first = raw(gdrive, "POST", "/upload/drive/v3/files?uploadType=resumable",
                headers={"X-Upload-Content-Length": "5000"}, json={"name": "x", "parents": [gdrive.evidence_folder]})
    assert first.status_code == 403 and first.json()["error"]["errors"][0]["reason"] == "storageQuotaExceeded"
    ok = raw(gdrive, "POST", "/upload/drive/v3/files?uploadType=resumable",
             headers={"X-Upload-Content-Length": "500"}, json={"name": "x", "parents": [gdrive.evidence_folder]})
    assert ok.status_code == 200 and "upload_id=" in ok.headers["Location"]


def test_interrupted_session_resumes_where_drive_says(drive, gdrive, tmp_path):
    data = os.urandom(4 * CHUNK + 5)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    media = MediaFileUpload(str(path), mimetype="application/octet-stream", resumable=True, chunksize=CHUNK)
    req = drive.files().create(body={"name": "big.bin", "parents": [gdrive.evidence_folder]}, media_body=media,
                               fields="id,size,md5Checksum")
    status, done = req.next_chunk()
    assert done is None and status.resumable_progress == CHUNK
    gdrive.sandbox.faults.set(rate_5xx=1.0, paths=(r"^/upload/",))
    try:
        req.next_chunk()
        raise AssertionError("the chunk should have failed")
    except HttpError as err:
        assert err.resp.status >= 500
    gdrive.sandbox.faults.clear()
    done, calls = None, 0
    while done is None:  # the client asks "bytes */N" first, then sends from Drive's Range
        status, done = req.next_chunk()
        calls += 1
    assert done["size"] == str(len(data)) and done["md5Checksum"] == hashlib.md5(data).hexdigest()
    assert drive.files().get_media(fileId=done["id"]).execute() == data
