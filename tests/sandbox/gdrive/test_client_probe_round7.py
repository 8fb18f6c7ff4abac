"""Probe round 7: files.download (Drive's long-running download) and operations.get through
google-api-python-client, unchanged: both were 404 before. The operation's downloadUri is fetched with the
client's own authorized http, as Google's download guide does."""

from __future__ import annotations

from googleapiclient.http import MediaInMemoryUpload

from tests.sandbox.gdrive.calls import refused
from tests.sandbox.gdrive.test_client_probe import drive
from tests.sandbox.gdrive.test_client_probe_round2 import _as

__all__ = ["drive"]
DOC = "application/vnd.google-apps.document"


def _fetch(drive, operation: dict) -> bytes:
    while not operation.get("done"):  # as the guide polls; done at once here
        operation = drive.operations().get(name=operation["name"]).execute()
    resp, body = drive._http.request(operation["response"]["downloadUri"])
    assert resp.status == 200, body
    return body


def test_download_operation_for_blob_files_and_revisions(drive, gdrive):
    files = drive.files()
    made = files.create(body={"name": "soc2.pdf", "parents": [gdrive.evidence_folder]},
                        media_body=MediaInMemoryUpload(b"%PDF v1", mimetype="application/pdf"), fields="id").execute()
    first = drive.revisions().list(fileId=made["id"]).execute()["revisions"][0]["id"]
    files.update(fileId=made["id"], media_body=MediaInMemoryUpload(b"%PDF v2", mimetype="application/pdf")).execute()
    op = files.download(fileId=made["id"]).execute()
    assert op["done"] is True and set(op) == {"name", "done", "response"}
    assert op["response"]["@type"] == "type.googleapis.com/google.apps.drive.v3.DownloadFileResponse"
    assert drive.operations().get(name=op["name"]).execute() == op
    assert _fetch(drive, op) == b"%PDF v2"
    assert _fetch(drive, files.download(fileId=made["id"], revisionId=first).execute()) == b"%PDF v1"
    assert files.download(fileId=made["id"]).execute()["name"] != op["name"]
    readonly = _as(gdrive, ["https://www.googleapis.com/auth/drive.readonly"])  # a read, though a POST
    assert _fetch(readonly, readonly.files().download(fileId=made["id"]).execute()) == b"%PDF v2"
    status, error = refused(files.download(fileId=made["id"], mimeType="text/plain"))
    assert (status, error["reason"], error["location"]) == (400, "invalid", "mimeType")
    assert refused(files.download(fileId=made["id"], revisionId="nope"))[1]["reason"] == "revisionNotFound"


def test_download_operation_exports_docs_and_refuses_folders(drive, gdrive):
    files = drive.files()
    doc = files.create(body={"name": "Access policy", "parents": [gdrive.evidence_folder], "mimeType": DOC},
                       media_body=MediaInMemoryUpload(b"Least privilege.", mimetype="text/plain"),
                       fields="id").execute()
    text = _fetch(drive, files.download(fileId=doc["id"], mimeType="text/plain").execute())
    assert text == b"\xef\xbb\xbfLeast privilege."  # Google's BOM first
    assert _fetch(drive, files.download(fileId=doc["id"]).execute()).startswith(b"%PDF")
    status, error = refused(files.download(fileId=doc["id"], mimeType="image/gif"))
    assert (status, error["reason"]) == (400, "badRequest")
    status, error = refused(files.download(fileId=gdrive.evidence_folder))
    assert (status, error["reason"]) == (403, "fileNotDownloadable")
    assert refused(files.download(fileId="missing"))[0] == 404
    status, error = refused(drive.operations().get(name="no-such-operation"))
    assert (status, error["reason"]) == (404, "notFound")
    mine = files.download(fileId=doc["id"], mimeType="text/plain").execute()
    gdrive.sandbox.accounts.delegate(gdrive.client_email)  # domain-wide delegation: act as another user
    other = _as(gdrive, ["https://www.googleapis.com/auth/drive"], subject="grc-admin@example.com")
    assert refused(other.operations().get(name=mine["name"]))[0] == 404  # an operation is its caller's


def test_no_parents_is_no_parents_field(drive, gdrive):
    """A file without a parent the caller can see (a folder shared from another user's My Drive) was answered
    with ``"parents": []``; Drive leaves the field out, as it does every empty list."""
    files = drive.files()
    shared = files.get(fileId=gdrive.inbox_folder, fields="id,name,parents").execute()
    assert shared == {"id": gdrive.inbox_folder, "name": "Audit evidence inbox"}
    listed = files.list(q="name = 'Audit evidence inbox'", fields="files(name,parents)").execute()["files"]
    assert listed == [{"name": "Audit evidence inbox"}]
