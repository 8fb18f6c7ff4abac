"""google-api-python-client against the Drive emulator's revisions: every upload is a new head revision
(``headRevisionId`` and ``md5Checksum`` follow it), older bytes download with ``alt=media``, paging,
``keepForever``, and Drive's refusals (the only revision, Docs revisions, folders, readers)."""

from __future__ import annotations

import hashlib

from googleapiclient.http import MediaInMemoryUpload

from sandbox.gdrive.store import DriveFile
from tests.sandbox.gdrive.calls import refused
from tests.sandbox.gdrive.test_client_probe import drive, upload

__all__ = ["drive"]
DOC = "application/vnd.google-apps.document"


def _put(drive, file_id: str, data: bytes) -> dict:
    return drive.files().update(fileId=file_id, media_body=MediaInMemoryUpload(data, mimetype="text/plain"),
                                fields="headRevisionId,md5Checksum,size").execute()


def test_uploads_make_revisions_the_head_follows(drive, gdrive):
    f = upload(drive, gdrive.evidence_folder, "policy.txt", b"one")
    first = drive.revisions().list(fileId=f["id"]).execute()
    assert set(first) == {"kind", "revisions"} and len(first["revisions"]) == 1
    assert set(first["revisions"][0]) == {"kind", "id", "mimeType", "modifiedTime"}
    head = _put(drive, f["id"], b"two!")
    revs = drive.revisions().list(fileId=f["id"], fields="revisions(id,md5Checksum,size,originalFilename,"
                                  "keepForever,lastModifyingUser/emailAddress)").execute()["revisions"]
    assert [r["size"] for r in revs] == ["3", "4"] and revs[0]["id"] == first["revisions"][0]["id"]
    assert head["headRevisionId"] == revs[1]["id"] != revs[0]["id"]
    assert head["md5Checksum"] == revs[1]["md5Checksum"] == hashlib.md5(b"two!").hexdigest()
    assert revs[0] == {"id": revs[0]["id"], "md5Checksum": hashlib.md5(b"one").hexdigest(), "size": "3",
                       "originalFilename": "policy.txt", "keepForever": False,
                       "lastModifyingUser": {"emailAddress": gdrive.client_email}}
    assert drive.revisions().get_media(fileId=f["id"], revisionId=revs[0]["id"]).execute() == b"one"
    assert drive.revisions().get_media(fileId=f["id"], revisionId=revs[1]["id"]).execute() == b"two!"
    assert drive.files().get_media(fileId=f["id"]).execute() == b"two!"
    got = drive.revisions().get(fileId=f["id"], revisionId=revs[0]["id"], fields="id,size").execute()
    assert got == {"id": revs[0]["id"], "size": "3"}
    status, detail = refused(drive.revisions().get(fileId=f["id"], revisionId="nope"))
    assert (status, detail["reason"], detail["location"]) == (404, "revisionNotFound", "revisionId")
    status, detail = refused(drive.revisions().get(fileId=f["id"], revisionId=revs[0]["id"], fields="id,colour"))
    assert status == 400 and detail["message"] == "Invalid field selection colour"


def test_revision_paging(drive, gdrive):
    f = upload(drive, gdrive.evidence_folder, "paged.txt", b"0")
    for n in range(1, 5):
        _put(drive, f["id"], str(n).encode())
    seen, token, pages = [], None, 0
    while True:
        got = drive.revisions().list(fileId=f["id"], pageSize=2, pageToken=token,
                                     fields="nextPageToken,revisions(size,md5Checksum)").execute()
        seen += [r["md5Checksum"] for r in got["revisions"]]
        pages += 1
        token = got.get("nextPageToken")
        if not token:
            break
    assert pages == 3 and seen == [hashlib.md5(str(n).encode()).hexdigest() for n in range(5)]
    for bad, where in (({"pageSize": 0}, "pageSize"), ({"pageToken": "zz"}, "pageToken")):
        status, detail = refused(drive.revisions().list(fileId=f["id"], **bad))
        assert (status, detail["reason"], detail["location"]) == (400, "invalid", where)
    big = drive.revisions().list(fileId=f["id"], pageSize=5000).execute()  # coerced to 1000, as Drive does
    assert len(big["revisions"]) == 5


def test_update_and_delete_revisions(drive, gdrive):
    f = upload(drive, gdrive.evidence_folder, "r.txt", b"v1")
    _put(drive, f["id"], b"v2")
    head = _put(drive, f["id"], b"v3")
    ids = [r["id"] for r in drive.revisions().list(fileId=f["id"]).execute()["revisions"]]
    kept = drive.revisions().update(fileId=f["id"], revisionId=ids[0], body={"keepForever": True},
                                    fields="id,keepForever").execute()
    assert kept == {"id": ids[0], "keepForever": True}
    status, detail = refused(drive.revisions().update(fileId=f["id"], revisionId=ids[0], body={"md5Checksum": "x"}))
    assert (status, detail["reason"]) == (403, "fieldNotWritable")

    assert drive.revisions().delete(fileId=f["id"], revisionId=ids[1]).execute() == ""
    assert drive.revisions().delete(fileId=f["id"], revisionId=head["headRevisionId"]).execute() == ""
    now = drive.files().get(fileId=f["id"], fields="headRevisionId,md5Checksum,size").execute()
    assert now == {"headRevisionId": ids[0], "md5Checksum": hashlib.md5(b"v1").hexdigest(), "size": "2"}
    assert drive.files().get_media(fileId=f["id"]).execute() == b"v1"
    status, detail = refused(drive.revisions().delete(fileId=f["id"], revisionId=ids[0]))
    assert (status, detail["reason"]) == (400, "cannotDeleteOnlyRevision")
    status, detail = refused(drive.revisions().delete(fileId=f["id"], revisionId=ids[1]))
    assert (status, detail["reason"]) == (404, "revisionNotFound")


def test_docs_folders_and_readers(drive, gdrive):
    store = gdrive.sandbox.store
    doc = store.add(DriveFile(store.new_id(), "Policy", DOC, [gdrive.evidence_folder], gdrive.client_email,
                              b"Access policy")).id
    rev = drive.revisions().list(fileId=doc, fields="revisions(id,published,md5Checksum,exportLinks)"
                                 ).execute()["revisions"]
    assert len(rev) == 1 and rev[0]["published"] is False and "md5Checksum" not in rev[0]
    assert "application/pdf" in rev[0]["exportLinks"]
    published = drive.revisions().update(fileId=doc, revisionId=rev[0]["id"], body={"published": True},
                                         fields="published,publishedLink").execute()
    assert published["published"] is True and published["publishedLink"].endswith(f"/d/{doc}/pub")
    status, detail = refused(drive.revisions().delete(fileId=doc, revisionId=rev[0]["id"]))
    assert (status, detail["reason"]) == (403, "revisionDeletionNotSupported")
    status, detail = refused(drive.revisions().get_media(fileId=doc, revisionId=rev[0]["id"]))
    assert (status, detail["reason"]) == (403, "fileNotDownloadable")
    status, detail = refused(drive.revisions().list(fileId=gdrive.evidence_folder))
    assert (status, detail["reason"]) == (403, "revisionsNotSupported")
    dropped = store.add(DriveFile(store.new_id(), "dropped.pdf", "application/pdf", [gdrive.inbox_folder],
                                  "auditor@example.com", b"%PDF-1.4")).id
    status, detail = refused(drive.revisions().list(fileId=dropped))  # a reader may not read revisions
    assert (status, detail["reason"]) == (403, "insufficientFilePermissions")
