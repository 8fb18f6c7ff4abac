"""google-api-python-client against the Drive emulator, unchanged, for the calls integrations commonly
make beyond uploads: partial responses (``fields``), ``orderBy``, the ``q`` language, permissions,
exports of Google-native files, ``about.get``, content updates and the change feed, with Drive's
error bodies for what Drive refuses."""

from __future__ import annotations

import time

import pytest
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaInMemoryUpload

from sandbox.gdrive.store import DriveFile
from tests.sandbox.gdrive.test_client_probe import drive, upload

__all__ = ["drive"]
FOLDER = "application/vnd.google-apps.folder"
DOC = "application/vnd.google-apps.document"


def _error(call) -> tuple[int, dict]:
    with pytest.raises(HttpError) as err:
        call.execute()
    return err.value.resp.status, err.value.error_details[0]


def test_fields_partial_responses_and_defaults(drive, gdrive):
    f = upload(drive, gdrive.evidence_folder, "a.txt", b"abc")
    assert set(drive.files().get(fileId=f["id"]).execute()) == {"kind", "id", "name", "mimeType"}
    got = drive.files().get(fileId=f["id"], fields="id,name,size,owners(emailAddress),capabilities/canEdit").execute()
    assert got == {"id": f["id"], "name": "a.txt", "size": "3", "owners": [{"emailAddress": gdrive.client_email}],
                   "capabilities": {"canEdit": True}}
    assert {"md5Checksum", "webViewLink", "parents"} <= set(drive.files().get(fileId=f["id"], fields="*").execute())
    q = f"'{gdrive.evidence_folder}' in parents"
    listed = drive.files().list(q=q, fields="nextPageToken, files(id, name)").execute()
    assert listed == {"files": [{"id": f["id"], "name": "a.txt"}]}
    default = drive.files().list(q=q).execute()
    assert set(default) == {"kind", "incompleteSearch", "files"} and set(default["files"][0]) == {
        "kind", "id", "name", "mimeType"}
    assert set(drive.files().list(q=q, fields="files/id").execute()["files"][0]) == {"id"}
    for call, bad in ((drive.files().get(fileId=f["id"], fields="id,colour"), "colour"),
                      (drive.files().list(q=q, fields="files(id,nope)"), "files/nope"),
                      (drive.files().list(q=q, fields="id"), "id"),
                      (drive.files().get(fileId=f["id"], fields="id,(name"), None)):
        status, detail = _error(call)
        assert status == 400 and detail["reason"] == "invalidParameter" and detail["location"] == "fields"
        assert bad is None or detail["message"] == f"Invalid field selection {bad}"


def test_order_by(drive, gdrive):
    folder = gdrive.evidence_folder
    for name in ("b.txt", "C.txt", "a.txt"):
        upload(drive, folder, name, b"x")
        time.sleep(0.002)  # distinct modifiedTime / createdTime
    sub = drive.files().create(body={"name": "z-folder", "mimeType": FOLDER, "parents": [folder]}).execute()
    q = f"'{folder}' in parents"

    def names(order: str) -> list[str]:
        return [f["name"] for f in drive.files().list(q=q, orderBy=order, fields="files(name)").execute()["files"]]

    assert names("name") == ["a.txt", "b.txt", "C.txt", "z-folder"]
    assert names("name desc") == ["z-folder", "C.txt", "b.txt", "a.txt"]
    assert names("createdTime") == ["b.txt", "C.txt", "a.txt", "z-folder"]
    assert names("modifiedTime desc") == ["z-folder", "a.txt", "C.txt", "b.txt"]
    assert names("folder,name") == ["z-folder", "a.txt", "b.txt", "C.txt"]
    assert names("folder desc,name desc") == ["C.txt", "b.txt", "a.txt", "z-folder"]
    assert sub["name"] == "z-folder"
    status, detail = _error(drive.files().list(q=q, orderBy="size"))
    assert status == 400 and detail["location"] == "orderBy"


def test_query_language(drive, gdrive):
    folder = gdrive.evidence_folder
    report = upload(drive, folder, "HelloWorld report.pdf", b"%PDF-1.4 quarterly access review")
    upload(drive, folder, "notes.txt", b"nothing here")
    sub = drive.files().create(body={"name": "Archive", "mimeType": FOLDER, "parents": [folder]}).execute()
    gone = upload(drive, folder, "old.txt", b"old")
    drive.files().update(fileId=gone["id"], body={"trashed": True}).execute()

    def names(q: str) -> set[str]:
        return {f["name"] for f in drive.files().list(q=q, fields="files(name)").execute()["files"]}

    inside = f"'{folder}' in parents"
    assert names(f"{inside} and name contains 'Hello'") == {"HelloWorld report.pdf"}
    assert names(f"{inside} and name contains 'report'") == {"HelloWorld report.pdf"}  # a word's prefix
    assert names(f"{inside} and name contains 'World'") == set()  # not inside a word, as Drive documents
    assert names(f"{inside} and mimeType != '{FOLDER}' and trashed = false") == {"HelloWorld report.pdf", "notes.txt"}
    assert names(f"{inside} and mimeType = '{FOLDER}'") == {"Archive"}
    assert names(f"{inside} and (name = 'notes.txt' or name = 'Archive')") == {"notes.txt", "Archive"}
    assert names(f"{inside} and not name contains 'notes' and trashed = false") == {"HelloWorld report.pdf",
                                                                                    "Archive"}
    assert names(f"{inside} and trashed = true") == {"old.txt"}
    assert names(f"{inside} and fullText contains 'access review'") == {"HelloWorld report.pdf"}
    assert names(f"{inside} and modifiedTime > '2000-01-01T00:00:00' and modifiedTime < '2999-01-01T00:00:00Z'"
                 " and trashed = false") == {"HelloWorld report.pdf", "notes.txt", "Archive"}
    assert names(f"{inside} and modifiedTime > '2999-01-01T00:00:00Z'") == set()
    assert names(f"'{gdrive.client_email}' in owners and '{sub['id']}' in parents") == set()
    assert report["id"] in {f["id"] for f in drive.files().list(q=f"'{gdrive.client_email}' in owners").execute()[
        "files"]}
    for bad in ("name contains", "title = 'x'", "name > 'a'", "(name = 'a'", "trashed = maybe", "'x' in colours"):
        status, detail = _error(drive.files().list(q=bad))
        assert status == 400 and detail == {**detail, "reason": "invalid", "location": "q", "message": "Invalid Value"}


def test_permissions(drive, gdrive):
    f = upload(drive, gdrive.evidence_folder, "shared.txt", b"x")
    perms = drive.permissions()
    owner = perms.list(fileId=f["id"]).execute()["permissions"]
    assert [(p["type"], p["role"]) for p in owner] == [("user", "owner")] and set(owner[0]) == {
        "kind", "id", "type", "role"}
    reader = perms.create(fileId=f["id"], body={"type": "user", "role": "reader",
                                                "emailAddress": "auditor@example.com"},
                          sendNotificationEmail=False, fields="id,role,emailAddress").execute()
    assert reader["role"] == "reader" and reader["emailAddress"] == "auditor@example.com"
    link = perms.create(fileId=f["id"], body={"type": "anyone", "role": "reader"}).execute()
    assert link["id"] == "anyoneWithLink"
    listed = perms.list(fileId=f["id"], fields="permissions(id,type,role,emailAddress)").execute()["permissions"]
    assert {(p["type"], p["role"], p.get("emailAddress")) for p in listed} == {
        ("user", "owner", gdrive.client_email), ("user", "reader", "auditor@example.com"), ("anyone", "reader", None)}
    assert drive.files().get(fileId=f["id"], fields="shared").execute() == {"shared": True}
    updated = perms.update(fileId=f["id"], permissionId=reader["id"], body={"role": "writer"}, fields="role").execute()
    assert updated == {"role": "writer"}
    assert perms.delete(fileId=f["id"], permissionId=reader["id"]).execute() == ""
    perms.delete(fileId=f["id"], permissionId="anyoneWithLink").execute()
    assert len(perms.list(fileId=f["id"]).execute()["permissions"]) == 1
    status, detail = _error(perms.delete(fileId=f["id"], permissionId=reader["id"]))
    assert status == 404 and detail["reason"] == "notFound" and detail["location"] == "permissionId"
    status, detail = _error(perms.delete(fileId=f["id"], permissionId=owner[0]["id"]))
    assert status == 403
    for body in ({"role": "reader"}, {"type": "user", "role": "boss", "emailAddress": "a@example.com"}):
        status, detail = _error(perms.create(fileId=f["id"], body=body))
        assert status == 400 and detail["location"].startswith("permission.")
    status, _ = _error(perms.create(fileId=gdrive.inbox_folder, body={"type": "anyone", "role": "reader"}))
    assert status == 403  # a reader may not share


def test_export_native_files(drive, gdrive):
    store = gdrive.sandbox.store
    doc = store.add(DriveFile(store.new_id(), "Policy", DOC, [gdrive.inbox_folder], "grc-admin@example.com",
                              b"Access policy v2\nApproved")).id
    pdf = drive.files().export(fileId=doc, mimeType="application/pdf").execute()
    assert pdf.startswith(b"%PDF-") and b"Access policy v2" in pdf
    text = drive.files().export(fileId=doc, mimeType="text/plain").execute()
    assert text == b"\xef\xbb\xbfAccess policy v2\nApproved"  # Google's BOM first
    meta = drive.files().get(fileId=doc, fields="size,exportLinks").execute()
    # Docs editor files report a size ("blobs and first party editor files"), never checksums
    assert meta["size"] == str(len(b"Access policy v2\nApproved")) and "application/pdf" in meta["exportLinks"]
    assert "md5Checksum" not in drive.files().get(fileId=doc, fields="md5Checksum,size").execute()
    status, detail = _error(drive.files().export(fileId=doc, mimeType="text/csv"))
    assert status == 400 and detail["reason"] == "badRequest" and "conversion" in detail["message"]
    binary = upload(drive, gdrive.evidence_folder, "b.bin", b"x")
    status, detail = _error(drive.files().export(fileId=binary["id"], mimeType="application/pdf"))
    assert status == 403 and detail["reason"] == "fileNotExportable"
    status, detail = _error(drive.files().get_media(fileId=doc))
    assert status == 403 and detail["reason"] == "fileNotDownloadable"


def test_about_update_content_and_changes(drive, gdrive):
    about = drive.about().get(fields="user(emailAddress,me),storageQuota/limit,exportFormats").execute()
    assert about["user"] == {"emailAddress": gdrive.client_email, "me": True}
    assert set(about["storageQuota"]) == {"limit"} and "application/pdf" in about["exportFormats"][DOC]
    status, detail = _error(drive.about().get())
    assert status == 400 and detail["location"] == "fields"

    start = drive.changes().getStartPageToken().execute()["startPageToken"]
    f = drive.files().create(body={"name": "v.txt", "parents": [gdrive.evidence_folder],
                                   "properties": {"team": "grc"}, "appProperties": {"k": "v"}},
                             media_body=MediaInMemoryUpload(b"one", mimetype="text/plain"), fields="id").execute()
    new = drive.files().update(fileId=f["id"], body={"properties": {"team": None}, "starred": True},
                               media_body=MediaInMemoryUpload(b"two!", mimetype="text/plain"),
                               fields="size,version,properties,appProperties,starred").execute()
    assert new == {"size": "4", "version": "2", "properties": {}, "appProperties": {"k": "v"}, "starred": True}
    assert drive.files().get_media(fileId=f["id"]).execute() == b"two!"
    status, detail = _error(drive.files().update(fileId=f["id"], body={"size": "9"}))
    assert status == 403 and detail["reason"] == "fieldNotWritable"
    changes = drive.changes().list(pageToken=start, fields="newStartPageToken,changes(fileId,removed,file(name))"
                                   ).execute()
    assert [c["fileId"] for c in changes["changes"]] == [f["id"]]  # created and updated: one entry, as Drive
    assert changes["changes"][0] == {"fileId": f["id"], "removed": False, "file": {"name": "v.txt"}}
    assert "nextPageToken" not in changes and changes["newStartPageToken"] != start
    status, detail = _error(drive.changes().list(pageToken="abc"))
    assert status == 400 and detail["location"] == "pageToken"


def test_generate_ids_and_empty_trash(drive, gdrive):
    wanted = drive.files().generateIds(count=2).execute()["ids"]
    made = drive.files().create(body={"id": wanted[0], "name": "fixed-id", "mimeType": FOLDER,
                                      "parents": [gdrive.evidence_folder]}).execute()
    assert made["id"] == wanted[0]
    status, detail = _error(drive.files().create(body={"id": wanted[0], "name": "again"}))
    assert status == 409 and detail["reason"] == "duplicate"  # a used id: Drive's 409 (round 28; it was 400)
    drive.files().update(fileId=made["id"], body={"trashed": True}).execute()
    drive.files().emptyTrash().execute()
    status, _ = _error(drive.files().get(fileId=made["id"]))
    assert status == 404


@pytest.mark.parametrize("tail", [b"\r", b"\n", b"\r\n", b"x"])
def test_multipart_uploads_round_trip_whatever_the_last_byte_is(drive, gdrive, tail):
    data = bytes(range(256)) * 4 + tail
    f = upload(drive, gdrive.evidence_folder, "tail.bin", data)
    got = drive.files().get(fileId=f["id"], fields="size,md5Checksum").execute()
    assert int(got["size"]) == len(data)
    assert drive.files().get_media(fileId=f["id"]).execute() == data
