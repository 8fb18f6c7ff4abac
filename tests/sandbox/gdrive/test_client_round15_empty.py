"""Zero-byte files through google-api-python-client. Drive answers a ``Range: bytes=0-…`` download of an
empty file 416 with ``Content-Range: bytes */0`` (what made googleapiclient's ``MediaIoBaseDownload`` take
416 as the end of a zero-byte download, issues #241 / #638); the emulator answered 200. An empty
resumable upload and an empty revision download finish as well."""

from __future__ import annotations

import io

from googleapiclient.http import MediaInMemoryUpload, MediaIoBaseDownload, MediaIoBaseUpload

from tests.sandbox.gdrive.calls import raw
from tests.sandbox.gdrive.test_client_probe import drive

__all__ = ["drive"]


def _fetch(call) -> tuple[bytes, int, int]:
    buf = io.BytesIO()
    loader, done, chunks = MediaIoBaseDownload(buf, call, chunksize=1024), False, 0
    while not done:
        status, done = loader.next_chunk()
        chunks += 1
    return buf.getvalue(), status.total_size, chunks


def test_empty_files_download_and_upload(drive, gdrive):
    files = drive.files()
    empty = files.create(body={"name": "empty.txt", "parents": [gdrive.evidence_folder]}, fields="id,size",
                         media_body=MediaInMemoryUpload(b"", mimetype="text/plain")).execute()
    assert empty["size"] == "0"
    answer = raw(gdrive, "GET", f"/drive/v3/files/{empty['id']}?alt=media", {"Range": "bytes=0-1023"})
    assert answer.status_code == 416 and answer.headers["Content-Range"] == "bytes */0"
    whole = raw(gdrive, "GET", f"/drive/v3/files/{empty['id']}?alt=media")
    assert (whole.status_code, whole.content) == (200, b"")
    assert _fetch(files.get_media(fileId=empty["id"])) == (b"", 0, 1)
    rev = drive.revisions().list(fileId=empty["id"], fields="revisions(id)").execute()["revisions"][0]["id"]
    assert _fetch(drive.revisions().get_media(fileId=empty["id"], revisionId=rev)) == (b"", 0, 1)

    media = MediaIoBaseUpload(io.BytesIO(b""), mimetype="text/plain", chunksize=256 * 1024, resumable=True)
    call, done = files.create(body={"name": "empty2.txt", "parents": [gdrive.evidence_folder]}, media_body=media,
                              fields="id,size"), None
    while done is None:
        _, done = call.next_chunk()
    assert done["size"] == "0"
    assert _fetch(files.get_media(fileId=done["id"])) == (b"", 0, 1)

    full = files.create(body={"name": "one.txt", "parents": [gdrive.evidence_folder]}, fields="id",
                        media_body=MediaInMemoryUpload(b"x" * 2500, mimetype="text/plain")).execute()
    assert _fetch(files.get_media(fileId=full["id"])) == (b"x" * 2500, 2500, 3)  # others page as before
