"""Probe round 10 through google-api-python-client, unchanged: a Google Doc's text/plain export lacked
Google's UTF-8 BOM; files.list with the default corpora=user and includeItemsFromAllDrives listed every item
of the caller's shared drives (Google: only those they created or were given); permissions.update ignored
pendingOwner, a writer could transfer ownership, a consumer account's file changed owner at once and
sendNotificationEmail=false was taken for a transfer; files.modifyLabels was 404. Field masks, q errors,
orderBy, pageSize bounds, chunked downloads, generateIds, paging permissions and keepForever already answered
as Drive does and are pinned here."""

from __future__ import annotations

import io

from googleapiclient.http import MediaInMemoryUpload, MediaIoBaseDownload

from sandbox.gdrive.store import DriveFile
from tests.sandbox.gdrive.calls import refused
from tests.sandbox.gdrive.test_client_probe import drive
from tests.sandbox.gdrive.test_client_probe_round2 import _as

__all__ = ["drive"]
APPS = "application/vnd.google-apps."
BOM = b"\xef\xbb\xbf"
FULL = ["https://www.googleapis.com/auth/drive"]


def test_doc_text_export_starts_with_a_bom(drive, gdrive):
    files = drive.files()
    doc = files.create(body={"name": "Policy", "mimeType": APPS + "document", "parents": [gdrive.evidence_folder]},
                       media_body=MediaInMemoryUpload("Zugriff für alle".encode(), mimetype="text/plain")).execute()
    assert files.export(fileId=doc["id"], mimeType="text/plain").execute() == BOM + "Zugriff für alle".encode()
    assert files.export(fileId=doc["id"], mimeType="text/html").execute() == "Zugriff für alle".encode()
    assert files.export(fileId=doc["id"], mimeType="application/pdf").execute().startswith(b"%PDF-")
    sheet = files.create(body={"name": "S", "mimeType": APPS + "spreadsheet", "parents": [gdrive.evidence_folder]},
                         media_body=MediaInMemoryUpload(b"a,b\n1,2\n", mimetype="text/csv")).execute()
    assert files.export(fileId=sheet["id"], mimeType="text/csv").execute() == b"a,b\n1,2\n"


def test_corpora_user_lists_only_own_shared_drive_items(drive, gdrive):
    files, store = drive.files(), gdrive.sandbox.store
    team = drive.drives().create(requestId="c-1", body={"name": "Audit"}).execute()["id"]
    mine = files.create(body={"name": "mine.txt", "parents": [team]}, supportsAllDrives=True,
                        media_body=MediaInMemoryUpload(b"x", mimetype="text/plain")).execute()["id"]
    theirs = store.add(DriveFile(store.new_id(), "theirs.txt", "text/plain", [team], "grc-admin@example.com", b"y")).id
    scope = {"includeItemsFromAllDrives": True, "supportsAllDrives": True, "fields": "files(id)"}
    user = {f["id"] for f in files.list(**scope).execute()["files"]}
    assert mine in user and theirs not in user
    for extra in ({"corpora": "allDrives"}, {"corpora": "drive", "driveId": team}):
        assert {mine, theirs} <= {f["id"] for f in files.list(**scope, **extra).execute()["files"]}
    assert mine not in {f["id"] for f in files.list(fields="files(id)").execute()["files"]}


def test_pending_owner_flow_for_consumer_accounts(drive, gdrive):
    gdrive.sandbox.accounts.delegate(gdrive.client_email)  # act as two consumer users (a test device)
    ana, ben = _as(gdrive, FULL, subject="ana@gmail.com"), _as(gdrive, FULL, subject="ben@gmail.com")
    made = ana.files().create(body={"name": "notes.txt"}, media_body=MediaInMemoryUpload(b"n", mimetype="text/plain"),
                              fields="id").execute()["id"]
    perms = ana.permissions()
    writer = perms.create(fileId=made, body={"type": "user", "role": "writer", "emailAddress": "ben@gmail.com"},
                          fields="id,role,pendingOwner").execute()
    assert writer["pendingOwner"] is False
    status, error = refused(perms.update(fileId=made, permissionId=writer["id"], body={"role": "owner"},
                                         transferOwnership=True))
    assert (status, error["reason"]) == (403, "consentRequiredForOwnershipTransfer")
    status, error = refused(ben.permissions().update(fileId=made, permissionId=writer["id"], body={"role": "owner"},
                                                     transferOwnership=True))
    assert (status, error["reason"]) == (403, "insufficientFilePermissions")  # not offered yet
    status, error = refused(ben.permissions().update(fileId=made, permissionId=writer["id"],
                                                     body={"pendingOwner": True}))
    assert status == 403  # only the owner offers
    offered = perms.update(fileId=made, permissionId=writer["id"], body={"role": "writer", "pendingOwner": True},
                           fields="role,pendingOwner").execute()
    assert offered == {"role": "writer", "pendingOwner": True}
    assert perms.get(fileId=made, permissionId=writer["id"], fields="pendingOwner").execute()["pendingOwner"] is True
    accepted = ben.permissions().update(fileId=made, permissionId=writer["id"], body={"role": "owner"},
                                        transferOwnership=True, fields="role,pendingOwner").execute()
    assert accepted == {"role": "owner", "pendingOwner": False}
    roles = {p["emailAddress"]: p["role"] for p in ben.permissions().list(
        fileId=made, fields="permissions(emailAddress,role)").execute()["permissions"]}
    assert roles == {"ben@gmail.com": "owner", "ana@gmail.com": "writer"}
    link = perms.create(fileId=made, body={"type": "anyone", "role": "reader"}).execute()
    assert refused(ben.permissions().update(fileId=made, permissionId=link["id"], body={"pendingOwner": True}))[
        0] == 400  # a pending owner is a user with the writer role


def test_ownership_transfer_rules(drive, gdrive):
    files, perms = drive.files(), drive.permissions()
    mine = files.create(body={"name": "o.txt", "parents": [gdrive.evidence_folder]},
                        media_body=MediaInMemoryUpload(b"x", mimetype="text/plain")).execute()["id"]
    status, error = refused(perms.create(fileId=mine, transferOwnership=True, sendNotificationEmail=False, body={
        "type": "user", "role": "owner", "emailAddress": "amelia@example.com"}))
    assert (status, error["reason"], error["location"]) == (403, "forbidden", "sendNotificationEmail")
    given = perms.create(fileId=mine, transferOwnership=True, fields="role", body={
        "type": "user", "role": "owner", "emailAddress": "amelia@example.com"}).execute()
    assert given == {"role": "owner"}  # a Workspace account hands over at once
    status, error = refused(perms.create(fileId=mine, transferOwnership=True, body={
        "type": "user", "role": "owner", "emailAddress": "ben@example.com"}))
    assert (status, error["reason"]) == (403, "insufficientFilePermissions")  # a writer now, not the owner
    assert files.get(fileId=mine, fields="owners(emailAddress)").execute() == {
        "owners": [{"emailAddress": "amelia@example.com"}]}


def test_labels_masks_queries_and_bounds(drive, gdrive):
    files = drive.files()
    blob = files.create(body={"name": "b.bin", "parents": [gdrive.evidence_folder]},
                        media_body=MediaInMemoryUpload(bytes(range(256)) * 4, mimetype="application/octet-stream"),
                        fields="id").execute()["id"]
    assert files.modifyLabels(fileId=blob, body={"labelModifications": []}).execute() == {
        "kind": "drive#modifyLabelsResponse", "modifiedLabels": []}
    status, error = refused(files.modifyLabels(fileId=blob, body={"labelModifications": [{"labelId": "L1"}]}))
    assert (status, error["reason"]) == (404, "notFound")
    status, error = refused(files.modifyLabels(fileId=gdrive.inbox_folder, body={"labelModifications": []}))
    assert (status, error["reason"]) == (403, "insufficientFilePermissions")  # a reader there
    page = files.list(pageSize=1, fields="nextPageToken,files(id,name,owners(emailAddress))").execute()
    assert set(page) == {"nextPageToken", "files"} and set(page["files"][0]) == {"id", "name", "owners"}
    assert set(page["files"][0]["owners"][0]) == {"emailAddress"}
    for fields in ("files(id,bogus)", "nope"):
        status, error = refused(files.list(fields=fields))
        assert (status, error["reason"], error["location"]) == (400, "invalidParameter", "fields")
    for q in ("name = ", "foo bar", "name contains"):
        status, error = refused(files.list(q=q))
        assert (status, error["reason"], error["message"], error["location"]) == (400, "invalid", "Invalid Value", "q")
    for size in (0, 1001):
        assert refused(files.list(pageSize=size))[1]["location"] == "pageSize"
    assert len(files.list(pageSize=1000).execute()["files"]) >= 3
    ordered = files.list(orderBy="folder,name_natural", fields="files(name,mimeType)").execute()["files"]
    assert [f["mimeType"] == APPS + "folder" for f in ordered] == sorted(
        (f["mimeType"] == APPS + "folder" for f in ordered), reverse=True)
    recent = files.list(orderBy="modifiedTime desc,name", fields="files(id)").execute()["files"]
    assert recent[0]["id"] == blob
    buf = io.BytesIO()
    loader, done, chunks = MediaIoBaseDownload(buf, files.get_media(fileId=blob, acknowledgeAbuse=True),
                                               chunksize=300), False, 0
    while not done:
        _, done = loader.next_chunk()
        chunks += 1
    assert (buf.getvalue(), chunks) == (bytes(range(256)) * 4, 4)
    ids = files.generateIds(count=3, fields="ids").execute()["ids"]
    assert len(set(ids)) == 3 and refused(files.generateIds(count=0))[1]["location"] == "count"
    for n in range(3):
        drive.permissions().create(fileId=blob, sendNotificationEmail=False, body={
            "type": "user", "role": "reader", "emailAddress": f"r{n}@example.com"}).execute()
    first = drive.permissions().list(fileId=blob, pageSize=2).execute()
    rest = drive.permissions().list(fileId=blob, pageSize=2, pageToken=first["nextPageToken"]).execute()
    assert len(first["permissions"]) == len(rest["permissions"]) == 2 and "nextPageToken" not in rest
    rev = drive.revisions().list(fileId=blob).execute()["revisions"][0]["id"]
    kept = drive.revisions().update(fileId=blob, revisionId=rev, body={"keepForever": True},
                                    fields="keepForever").execute()
    assert kept == {"keepForever": True}


def test_abusive_files_download_only_acknowledged_by_the_owner(drive, gdrive):
    files, store = drive.files(), gdrive.sandbox.store
    mine = files.create(body={"name": "tool.exe", "parents": [gdrive.evidence_folder]},
                        media_body=MediaInMemoryUpload(b"MZ", mimetype="application/octet-stream"),
                        fields="id,headRevisionId").execute()
    store.files[mine["id"]].abusive = True
    status, error = refused(files.get_media(fileId=mine["id"]))
    assert (status, error["reason"]) == (403, "cannotDownloadAbusiveFile")
    assert error["message"] == "This file has been identified as malware or spam and cannot be downloaded."
    assert files.get_media(fileId=mine["id"], acknowledgeAbuse=True).execute() == b"MZ"
    revisions = drive.revisions()
    assert refused(revisions.get_media(fileId=mine["id"], revisionId=mine["headRevisionId"]))[0] == 403
    assert revisions.get_media(fileId=mine["id"], revisionId=mine["headRevisionId"],
                               acknowledgeAbuse=True).execute() == b"MZ"
    theirs = store.add(DriveFile(store.new_id(), "x.exe", "application/octet-stream", [gdrive.inbox_folder],
                                 "grc-admin@example.com", b"MZ", abusive=True)).id
    status, error = refused(files.get_media(fileId=theirs, acknowledgeAbuse=True))  # not the owner
    assert (status, error["reason"]) == (403, "cannotDownloadAbusiveFile")


def test_shared_drive_items_keep_exactly_one_parent(drive, gdrive):
    files = drive.files()
    team = drive.drives().create(requestId="p-1", body={"name": "T"}).execute()["id"]
    sub = files.create(body={"name": "sub", "mimeType": APPS + "folder", "parents": [team]}, supportsAllDrives=True,
                       fields="id").execute()["id"]
    item = files.create(body={"name": "i.txt", "parents": [team]}, supportsAllDrives=True, fields="id",
                        media_body=MediaInMemoryUpload(b"i", mimetype="text/plain")).execute()["id"]
    for moves in ({"addParents": sub}, {"removeParents": team}):
        status, error = refused(files.update(fileId=item, supportsAllDrives=True, **moves))
        assert (status, error["reason"], error["message"]) == (
            403, "teamDrivesParentLimit", "A shared drive item must have exactly one parent.")
    moved = files.update(fileId=item, addParents=sub, removeParents=team, supportsAllDrives=True,
                         fields="parents,driveId").execute()
    assert moved == {"parents": [sub], "driveId": team}
