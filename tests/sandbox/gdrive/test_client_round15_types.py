"""A file's MIME type on files.update through google-api-python-client. Drive's File reference: the type
"cannot be changed unless a new revision is uploaded"; a blob's type follows a revision of another type.
The emulator took a metadata-only ``mimeType`` (even turning a PDF into a Google Doc) and kept the old
type when content of another type was uploaded (simple, multipart and resumable)."""

from __future__ import annotations

import io

from googleapiclient.http import MediaInMemoryUpload, MediaIoBaseUpload

from tests.sandbox.gdrive.test_client_probe import drive

__all__ = ["drive"]
DOC = "application/vnd.google-apps.document"


def test_mime_type_follows_uploaded_content_only(drive, gdrive):
    files = drive.files()
    pdf = files.create(body={"name": "r.pdf", "parents": [gdrive.evidence_folder]}, fields="id",
                       media_body=MediaInMemoryUpload(b"%PDF-1.4", mimetype="application/pdf")).execute()["id"]

    def kind() -> str:
        return files.get(fileId=pdf, fields="mimeType").execute()["mimeType"]

    assert files.update(fileId=pdf, body={"mimeType": DOC}, fields="mimeType").execute() == {
        "mimeType": "application/pdf"}
    assert files.update(fileId=pdf, body={"mimeType": "image/png"}, fields="mimeType").execute() == {
        "mimeType": "application/pdf"}
    files.update(fileId=pdf, media_body=MediaInMemoryUpload(b"PK\x03\x04", mimetype="application/zip")).execute()
    assert kind() == "application/zip"  # multipart without metadata: the upload's type
    files.update(fileId=pdf, body={"mimeType": "application/x-zip-compressed"},
                 media_body=MediaInMemoryUpload(b"PK\x03\x04", mimetype="application/zip")).execute()
    assert kind() == "application/x-zip-compressed"  # the metadata's type wins over the part's
    files.update(fileId=pdf, media_body=MediaInMemoryUpload(b"\x00\x01")).execute()  # octet-stream says nothing
    assert kind() == "application/x-zip-compressed"
    big = MediaIoBaseUpload(io.BytesIO(b"a,b\n" * 100000), mimetype="text/csv", chunksize=256 * 1024, resumable=True)
    call, done = files.update(fileId=pdf, media_body=big, fields="mimeType,size"), None
    while done is None:
        _, done = call.next_chunk()
    assert done == {"mimeType": "text/csv", "size": "400000"}
    revs = drive.revisions().list(fileId=pdf, fields="revisions(mimeType)").execute()["revisions"]
    assert [r["mimeType"] for r in revs][-1] == "text/csv"

    doc = files.create(body={"name": "Policy", "mimeType": DOC, "parents": [gdrive.evidence_folder]},
                       fields="id").execute()["id"]
    after = files.update(fileId=doc, media_body=MediaInMemoryUpload(b"v2", mimetype="text/plain"),
                         fields="mimeType").execute()
    assert after == {"mimeType": DOC}  # a Doc stays a Doc: the text is imported
