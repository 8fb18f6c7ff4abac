"""Probe round 6: google-api-python-client calls the Drive emulator answered differently from Drive, each
through the official client (raw HTTP only where the client cannot send the request)."""

from __future__ import annotations

import io
import os

import pytest
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaFileUpload, MediaInMemoryUpload, MediaIoBaseDownload

from sandbox.gdrive.store import DriveFile
from tests.sandbox.gdrive.calls import raw, refused
from tests.sandbox.gdrive.test_client_probe import drive, upload

__all__ = ["drive"]


def test_download_ranges(drive, gdrive):
    """A suffix range (``bytes=-5``) served the first bytes, a malformed Range header was a 400 parseError,
    and the 416 had no ``Content-Range: bytes */size``; MediaIoBaseDownload's chunked ranges work."""
    data = bytes(range(256)) * 40
    f = upload(drive, gdrive.evidence_folder, "r.bin", data)
    out = io.BytesIO()
    loader = MediaIoBaseDownload(out, drive.files().get_media(fileId=f["id"], acknowledgeAbuse=True), chunksize=3000)
    done, calls = False, 0
    while not done:
        _, done = loader.next_chunk()
        calls += 1
    assert out.getvalue() == data and calls == 4
    path = f"/drive/v3/files/{f['id']}?alt=media"
    tail = raw(gdrive, "GET", path, headers={"Range": "bytes=-5"})
    assert (tail.status_code, tail.headers["Content-Range"], tail.content) == (206, "bytes 10235-10239/10240",
                                                                               data[-5:])
    past = raw(gdrive, "GET", path, headers={"Range": "bytes=20000-"})
    assert (past.status_code, past.headers["Content-Range"]) == (416, "bytes */10240")
    assert past.json()["error"]["errors"][0]["reason"] == "requestedRangeNotSatisfiable"
    for ignored in ("bytes=abc", "bytes=9-2", "bytes=0-1,5-6"):
        whole = raw(gdrive, "GET", path, headers={"Range": ignored})
        assert (whole.status_code, whole.content) == (200, data)
    rev = drive.revisions().list(fileId=f["id"]).execute()["revisions"][0]["id"]
    part = raw(gdrive, "GET", f"/drive/v3/files/{f['id']}/revisions/{rev}?alt=media",
               headers={"Range": "bytes=1-2"})
    assert (part.status_code, part.content) == (206, data[1:3])


def test_query_terms_real_apps_write(drive, gdrive):
    """``q=sharedWithMe`` (bare, as Google's samples write it) was 400; ``fullText contains '"a phrase"'``
    matched nothing."""
    files = drive.files()
    upload(drive, gdrive.evidence_folder, "minutes.txt", b"the quarterly access review was done")
    shared = files.list(q="sharedWithMe", fields="files(name)").execute()["files"]
    assert {"name": "Project X Evidence Library"} in shared and {"name": "minutes.txt"} not in shared
    mine = files.list(q="not sharedWithMe and trashed = false", fields="files(name)").execute()["files"]
    assert mine == [{"name": "minutes.txt"}]
    # inside a shared folder is not "shared with me" (only what was shared itself)
    gdrive.sandbox.store.add(DriveFile("1inboxfile", "dropped.pdf", "application/pdf", [gdrive.inbox_folder],
                                       "grc-admin@example.com", b"%PDF"))
    assert {"name": "dropped.pdf"} not in files.list(q="sharedWithMe", fields="files(name)").execute()["files"]
    phrase = files.list(q="fullText contains '\"access review\"'", fields="files(name)").execute()["files"]
    assert phrase == [{"name": "minutes.txt"}]
    assert files.list(q="fullText contains '\"review access\"'").execute()["files"] == []


def test_parents_in_update_body_is_drives_message(drive, gdrive):
    f = upload(drive, gdrive.evidence_folder, "p.txt", b"x")
    status, error = refused(drive.files().update(fileId=f["id"], body={"parents": [gdrive.inbox_folder]}))
    assert (status, error["reason"], error["message"]) == (
        403, "fieldNotWritable", "The parents field is not directly writable in update requests. Use the "
        "addParents and removeParents parameters instead.")


def test_user_rate_limit_is_403_and_retried(drive, gdrive):
    sb = gdrive.sandbox
    sb.user_rate_limit = True
    sb.faults.set(rate_429=1.0)
    status, error = refused(drive.files().list(fields="files(id)"))
    assert (status, error["reason"], error["domain"], error["message"]) == (
        403, "userRateLimitExceeded", "usageLimits", "User Rate Limit Exceeded")
    sb.faults.clear()


def test_resumable_upload_whose_last_reply_was_lost(drive, gdrive, tmp_path):
    """The final chunk was stored but its reply lost (a 5xx after the work): googleapiclient asks the session
    where it stands (``Content-Range: bytes */size``) and Drive answers the file; the emulator had dropped the
    session (404) so the upload failed after it had succeeded."""
    data = os.urandom(600 * 1024)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    media = MediaFileUpload(str(path), mimetype="application/octet-stream", resumable=True, chunksize=256 * 1024)
    req = drive.files().create(body={"name": "big.bin", "parents": [gdrive.evidence_folder]}, media_body=media,
                               fields="id,size,name")
    assert req.next_chunk()[1] is None and req.next_chunk()[1] is None
    gdrive.sandbox.faults.set(rate_lost_reply=1.0, methods=["PUT"])
    with pytest.raises(HttpError) as err:
        req.next_chunk()
    assert err.value.resp.status == 503
    gdrive.sandbox.faults.clear()
    _, done = req.next_chunk()
    assert done["size"] == str(len(data))
    listed = drive.files().list(q="name = 'big.bin'", fields="files(id)").execute()["files"]
    assert listed == [{"id": done["id"]}]
    assert drive.files().get_media(fileId=done["id"]).execute() == data


def test_resumable_chunk_sent_again_counts_once(drive, gdrive):
    start = raw(gdrive, "POST", "/upload/drive/v3/files?uploadType=resumable",
                json={"name": "again.txt", "parents": [gdrive.evidence_folder]},
                headers={"X-Upload-Content-Length": "10"})
    session = start.headers["Location"][len(gdrive.sandbox.url):]
    first = raw(gdrive, "PUT", session, data=b"01234", headers={"Content-Range": "bytes 0-4/10"})
    assert (first.status_code, first.headers["Range"]) == (308, "bytes=0-4")
    again = raw(gdrive, "PUT", session, data=b"234567", headers={"Content-Range": "bytes 2-7/10"})
    assert (again.status_code, again.headers["Range"]) == (308, "bytes=0-7")
    gap = raw(gdrive, "PUT", session, data=b"9", headers={"Content-Range": "bytes 9-9/10"})
    assert gap.status_code == 400
    last = raw(gdrive, "PUT", session, data=b"89", headers={"Content-Range": "bytes 8-9/10"})
    assert last.status_code == 200
    assert drive.files().get_media(fileId=last.json()["id"]).execute() == b"0123456789"


def test_keep_revision_forever(drive, gdrive):
    """keepRevisionForever=true on create, update and copy was ignored: the head revision stays
    ``keepForever: false`` where Drive pins it."""
    files, media = drive.files(), MediaInMemoryUpload(b"v1", mimetype="text/plain")
    f = files.create(body={"name": "pinned.txt", "parents": [gdrive.evidence_folder]}, media_body=media,
                     keepRevisionForever=True, fields="id").execute()["id"]
    files.update(fileId=f, media_body=MediaInMemoryUpload(b"v2", mimetype="text/plain")).execute()
    files.update(fileId=f, media_body=MediaInMemoryUpload(b"v3", mimetype="text/plain"),
                 keepRevisionForever=True).execute()
    revs = drive.revisions().list(fileId=f, fields="revisions(keepForever)").execute()["revisions"]
    assert [r["keepForever"] for r in revs] == [True, False, True]
    copy = files.copy(fileId=f, keepRevisionForever=True, fields="id").execute()["id"]
    assert drive.revisions().list(fileId=copy, fields="revisions(keepForever)").execute()["revisions"] == [
        {"keepForever": True}]


def test_drives_list_query_it_cannot_read_is_invalid(drive):
    status, error = refused(drive.drives().list(q="memberCount = 1"))
    assert (status, error["reason"], error["location"]) == (400, "invalid", "q")


def test_app_data_folder(drive, gdrive):
    """parents=['appDataFolder'] was 404 and spaces=appDataFolder listed the whole Drive: app data files
    live in their own space, out of the default listing and change feed."""
    files = drive.files()
    token = drive.changes().getStartPageToken().execute()["startPageToken"]
    cfg = files.create(body={"name": "state.json", "parents": ["appDataFolder"]},
                       media_body=MediaInMemoryUpload(b"{}", mimetype="application/json"),
                       fields="id,parents,spaces").execute()
    folder = files.get(fileId="appDataFolder", fields="id,name,spaces").execute()
    assert cfg["parents"] == [folder["id"]] and cfg["spaces"] == ["appDataFolder"]
    assert folder == {"id": folder["id"], "name": "appDataFolder", "spaces": ["appDataFolder"]}
    upload(drive, gdrive.evidence_folder, "e.txt", b"e")
    listed = files.list(spaces="appDataFolder", fields="files(id)").execute()["files"]
    assert listed == [{"id": cfg["id"]}]
    assert files.list(spaces="appDataFolder", q="'appDataFolder' in parents", fields="files(id)").execute()[
        "files"] == [{"id": cfg["id"]}]
    assert cfg["id"] not in {f["id"] for f in files.list(fields="files(id)").execute()["files"]}
    changed = {c["fileId"] for c in drive.changes().list(pageToken=token).execute()["changes"]}
    assert cfg["id"] not in changed and len(changed) == 1
    assert {c["fileId"] for c in drive.changes().list(pageToken=token, spaces="appDataFolder").execute()[
        "changes"]} == {cfg["id"]}
    status, error = refused(files.list(spaces="bogus"))
    assert (status, error["location"]) == (400, "spaces")


def test_auth_error_bodies_are_googles(drive, gdrive):
    """The 401 said "(expired)" in its own words and had no location; Google's names the Authorization
    header and its errors[] item says "Invalid Credentials" (and "Insufficient Permission" on a 403 for
    scopes, as googleapiclient shows in HttpError.error_details)."""
    answer = raw(gdrive, "GET", "/drive/v3/files", headers={"Authorization": "Bearer nope"})
    error = answer.json()["error"]
    assert answer.status_code == 401 and error["status"] == "UNAUTHENTICATED"
    assert error["message"].startswith("Request had invalid authentication credentials. Expected OAuth 2 access")
    assert error["errors"] == [{"domain": "global", "reason": "authError", "message": "Invalid Credentials",
                                "locationType": "header", "location": "Authorization"}]
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]


def test_empty_trash_of_a_shared_drive(drive, gdrive):
    """emptyTrash(driveId=...) answered 204 and left the shared drive's trash as it was."""
    from sandbox.gdrive.drives import add_shared_drive

    team = drive.drives().create(requestId="t1", body={"name": "Team"}).execute()["id"]
    files = drive.files()
    gone = files.create(body={"name": "old.txt", "parents": [team]}, supportsAllDrives=True, fields="id").execute()
    kept = files.create(body={"name": "new.txt", "parents": [team]}, supportsAllDrives=True, fields="id").execute()
    files.update(fileId=gone["id"], body={"trashed": True}, supportsAllDrives=True).execute()
    files.emptyTrash(driveId=team).execute()
    assert refused(files.get(fileId=gone["id"], supportsAllDrives=True))[0] == 404
    assert files.get(fileId=kept["id"], supportsAllDrives=True, fields="id").execute() == kept
    other = add_shared_drive(gdrive.sandbox.store, "Other", "grc-admin@example.com",
                             {gdrive.client_email: "writer"}).id
    assert refused(files.emptyTrash(driveId=other))[0] == 403
    assert refused(files.emptyTrash(driveId="0Anope"))[0] == 404


def test_generate_ids_for_a_space_and_fields(drive, gdrive):
    """generateIds answered space 'drive' whatever was asked and ignored fields; an id generated for the app
    data space makes a file there."""
    made = drive.files().generateIds(count=2, space="appDataFolder").execute()
    assert made["space"] == "appDataFolder" and len(made["ids"]) == 2
    assert set(drive.files().generateIds(count=1, fields="ids").execute()) == {"ids"}
    f = drive.files().create(body={"id": made["ids"][0], "name": "s.json", "parents": ["appDataFolder"]},
                             fields="id,spaces").execute()
    assert f == {"id": made["ids"][0], "spaces": ["appDataFolder"]}
    status, error = refused(drive.files().generateIds(space="photos"))
    assert (status, error["location"]) == (400, "space")


def test_changes_restricted_to_my_drive(drive, gdrive):
    """restrictToMyDrive=true was ignored: changes to files in folders others shared (not in the caller's My
    Drive hierarchy) were listed."""
    token = drive.changes().getStartPageToken().execute()["startPageToken"]
    mine = drive.files().create(body={"name": "mine.txt"}, fields="id").execute()["id"]
    shared = upload(drive, gdrive.evidence_folder, "shared.txt", b"s")["id"]
    every = {c["fileId"] for c in drive.changes().list(pageToken=token).execute()["changes"]}
    assert every == {mine, shared}
    restricted = drive.changes().list(pageToken=token, restrictToMyDrive=True).execute()["changes"]
    assert [c["fileId"] for c in restricted] == [mine]


def test_sharing_and_copy_settings_are_kept(drive, gdrive):
    """writersCanShare, copyRequiresWriterPermission, folderColorRgb and contentHints.indexableText were
    dropped on update (the file kept answering the defaults) and never enforced."""
    files = drive.files()
    f = upload(drive, gdrive.evidence_folder, "locked.txt", b"x")["id"]
    got = files.update(fileId=f, body={"writersCanShare": False, "copyRequiresWriterPermission": True,
                                       "contentHints": {"indexableText": "quarterly attestation"}},
                       fields="writersCanShare,copyRequiresWriterPermission,viewersCanCopyContent,contentHints"
                       ).execute()
    assert got == {"writersCanShare": False, "copyRequiresWriterPermission": True, "viewersCanCopyContent": False}
    assert files.list(q="fullText contains 'attestation'", fields="files(id)").execute()["files"] == [{"id": f}]
    folder = files.create(body={"name": "red", "mimeType": "application/vnd.google-apps.folder",
                                "parents": [gdrive.evidence_folder], "folderColorRgb": "#ff0000"},
                          fields="id,folderColorRgb").execute()
    assert folder["folderColorRgb"] == "#ff0000"
    # the admin's inbox file: the service account reads it; the admin makes copying need writer access
    sb = gdrive.sandbox
    inbox_file = sb.store.add(DriveFile(sb.store.new_id(), "evidence.pdf", "application/pdf", [gdrive.inbox_folder],
                                        "grc-admin@example.com", b"%PDF"))
    assert files.copy(fileId=inbox_file.id, body={"parents": [gdrive.evidence_folder]}, fields="id").execute()
    inbox_file.extra["copyRequiresWriterPermission"] = True
    caps = files.get(fileId=inbox_file.id, fields="capabilities(canCopy,canDownload)").execute()["capabilities"]
    assert caps == {"canCopy": False, "canDownload": False}
    status, error = refused(files.copy(fileId=inbox_file.id, body={"parents": [gdrive.evidence_folder]}))
    assert (status, error["reason"]) == (403, "cannotCopyFile")
    theirs = sb.store.add(DriveFile(sb.store.new_id(), "policy.pdf", "application/pdf", [gdrive.evidence_folder],
                                    "grc-admin@example.com", b"%PDF"))
    share = {"type": "user", "role": "reader", "emailAddress": "auditor@example.com"}
    assert drive.permissions().create(fileId=theirs.id, body=share, fields="role").execute() == {"role": "reader"}
    theirs.extra["writersCanShare"] = False
    status, error = refused(drive.permissions().create(fileId=theirs.id, body=share))
    assert (status, error["reason"]) == (403, "insufficientFilePermissions")


def test_permissions_list_pages(drive, gdrive):
    """permissions.list ignored pageSize (every permission in one answer, no nextPageToken)."""
    f = upload(drive, gdrive.evidence_folder, "shared.txt", b"s")["id"]
    for n in range(3):
        drive.permissions().create(fileId=f, sendNotificationEmail=False, body={
            "type": "user", "role": "reader", "emailAddress": f"r{n}@example.com"}).execute()
    first = drive.permissions().list(fileId=f, pageSize=3, fields="nextPageToken,permissions(role)").execute()
    rest = drive.permissions().list(fileId=f, pageSize=3, pageToken=first["nextPageToken"],
                                    fields="nextPageToken,permissions(role)").execute()
    assert len(first["permissions"]) == 3 and rest == {"permissions": [{"role": "reader"}]}
    assert first["permissions"][0] == {"role": "owner"}


def test_user_sub_selections_are_checked(drive, gdrive):
    """``owners(nope)`` was accepted (any name under a user); Drive answers 400 Invalid field selection."""
    f = upload(drive, gdrive.evidence_folder, "u.txt", b"u")["id"]
    got = drive.files().list(q=f"'{gdrive.evidence_folder}' in parents",
                             fields="files(id,name,owners(emailAddress,me)),nextPageToken").execute()
    assert got == {"files": [{"id": f, "name": "u.txt", "owners": [{"emailAddress": gdrive.client_email,
                                                                     "me": True}]}]}
    status, error = refused(drive.files().get(fileId=f, fields="owners(emailAddress,nope)"))
    assert (status, error["reason"], error["message"]) == (400, "invalidParameter",
                                                           "Invalid field selection owners/nope")
    assert refused(drive.about().get(fields="user(colour)"))[0] == 400


def test_every_capability_is_answered_and_checked(drive, gdrive):
    """capabilities lacked canUntrash, canMoveItemWithinDrive … (clients found None) and any name under
    capabilities was accepted in fields."""
    f = upload(drive, gdrive.evidence_folder, "c.txt", b"c")["id"]
    caps = drive.files().get(fileId=f, fields="capabilities").execute()["capabilities"]
    assert caps["canUntrash"] is True and caps["canMoveItemWithinDrive"] is True and caps["canReadDrive"] is False
    assert all(isinstance(v, bool) for v in caps.values()) and len(caps) >= 40
    status, error = refused(drive.files().get(fileId=f, fields="capabilities/canFly"))
    assert (status, error["message"]) == (400, "Invalid field selection capabilities/canFly")
    assert drive.files().get(fileId=f, fields="teamDriveId,id").execute() == {"id": f}
