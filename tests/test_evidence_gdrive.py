"""Google Drive: the emulator speaks Drive v3 and Google's service-account OAuth well enough for
google-api-python-client unchanged; the Drive evidence store round-trips 0 B, 1 MiB and 50 MiB
(resumable above 5 MiB) with metadata, verified on read; provider faults map to store errors."""

from __future__ import annotations

import os

import pytest

from resources.evidence.base import (
    ContentMismatch,
    StorePermissionError,
    StoreQuotaError,
    StoreUnavailable,
    content_address,
)
from resources.evidence.gdrive import DriveStore, drive_service


def _store(gdrive, folder=None) -> DriveStore:
    return DriveStore(folder or gdrive.evidence_folder, str(gdrive.key_file), gdrive.api_endpoint)


def test_google_client_unchanged_against_the_emulator(gdrive):
    from googleapiclient.errors import HttpError
    from googleapiclient.http import MediaInMemoryUpload

    service = drive_service(str(gdrive.key_file), gdrive.api_endpoint)
    about = service.about().get(fields="user,storageQuota").execute()
    assert about["user"]["emailAddress"] == gdrive.client_email
    media = MediaInMemoryUpload(b"hello drive", mimetype="text/plain")
    created = service.files().create(body={"name": "hello.txt", "parents": [gdrive.evidence_folder]},
                                     media_body=media, fields="id,size").execute()
    assert created["size"] == "11"
    assert service.files().get_media(fileId=created["id"]).execute() == b"hello drive"
    listed = service.files().list(q=f"'{gdrive.evidence_folder}' in parents and name = 'hello.txt'").execute()
    assert [f["id"] for f in listed["files"]] == [created["id"]]
    with pytest.raises(HttpError) as err:
        service.files().list(q="title = 'x'").execute()  # Drive v2's name for it: v3 refuses it
    assert err.value.resp.status == 400
    with pytest.raises(HttpError) as err:  # readers may not add files
        service.files().create(body={"name": "x", "parents": [gdrive.inbox_folder]},
                               media_body=MediaInMemoryUpload(b"x")).execute()
    assert err.value.resp.status == 403 and err.value.error_details[0]["reason"] == "insufficientFilePermissions"


def test_service_account_with_an_unknown_key_is_refused(gdrive, tmp_path):
    import json

    from google.auth.exceptions import RefreshError

    from sandbox.gdrive.fixtures import new_key

    info = json.loads(gdrive.key_file.read_text())
    info["private_key"] = new_key()[0]
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(info))
    with pytest.raises(RefreshError, match="invalid_grant"):
        drive_service(str(forged), gdrive.api_endpoint).about().get(fields="user").execute()


@pytest.mark.parametrize("size", [0, 1024 * 1024, 50 * 1024 * 1024], ids=["0B", "1MiB", "50MiB"])
def test_drive_round_trip(gdrive, size):
    store = _store(gdrive)
    data = os.urandom(size)
    obj = store.put(data, {"filename": "évidence.pdf", "tags": "change-management,source:gdrive"})
    assert obj.sha256 == content_address(data) and obj.size == size
    assert obj.uri.startswith(f"gdrive://{gdrive.evidence_folder}/")
    head = store.head(obj.sha256)
    assert head.metadata["filename"] == "évidence.pdf" and head.metadata["tags"] == "change-management,source:gdrive"
    assert store.get(obj.sha256) == data
    assert store.put(data).uri == obj.uri  # stored once
    assert [o.sha256 for o in store.list()] == [obj.sha256]
    uploads = [r for r in gdrive.sandbox.request_log if r["path"] == "/upload/drive/v3/files"]
    if size > 5 * 1024 * 1024:
        assert any("resumable" in r["query"] for r in uploads) and len(uploads) >= 7  # session + 7 chunks


def test_drive_faults_map_to_store_errors(gdrive):
    store = _store(gdrive)
    gdrive.sandbox.faults.set(rate_5xx=1.0, methods=["POST"])
    with pytest.raises(StoreUnavailable, match="after 3 retries"):
        store.put(b"five hundreds")
    gdrive.sandbox.faults.clear()
    with pytest.raises(StorePermissionError, match=f"share folder {gdrive.inbox_folder} with {gdrive.client_email}"):
        _store(gdrive, gdrive.inbox_folder).put(b"not allowed here")
    gdrive.sandbox.store.quota_bytes = 10
    with pytest.raises(StoreQuotaError, match="paused"):
        store.put(b"more than ten bytes")


def test_a_copy_damaged_in_transit_is_deleted_and_sent_again_as_raw_chunks(gdrive, monkeypatch):
    """Drive's reported size and md5Checksum are checked after each upload: a multipart copy that lost a
    byte (as googleapiclient's LF-framed bodies once did at the emulator) is deleted, since it carries
    the content's sha256, and the content is sent again by resumable upload; damaged twice, nothing stays."""
    from sandbox.gdrive import uploads

    store, data = _store(gdrive), os.urandom(4096) + b"\r"
    real = uploads.split_parts
    monkeypatch.setattr(uploads, "split_parts", lambda body, boundary: [
        (head, content[:-1] if i else content) for i, (head, content) in enumerate(real(body, boundary))])
    obj = store.put(data, {"filename": "report.pdf"})
    assert obj.size == len(data) and store.get(obj.sha256) == data
    assert [o.sha256 for o in store.list()] == [obj.sha256]  # the damaged copy is gone
    methods = [(r["method"], "resumable" in r["query"]) for r in gdrive.sandbox.request_log
               if r["path"].startswith(("/upload/drive/v3/files", "/drive/v3/files/"))]
    assert ("DELETE", False) in methods and ("POST", True) in methods

    real_store = uploads.Uploads._store_upload
    monkeypatch.setattr(uploads.Uploads, "_store_upload",
                        lambda self, req, meta, body, *rest: real_store(self, req, meta, body[:-1], *rest))
    other = os.urandom(2048)
    with pytest.raises(StoreUnavailable, match="damaged in transit twice"):
        store.put(other)
    assert [o.sha256 for o in store.list()] == [obj.sha256]
    damaged = gdrive.sandbox.store.files[obj.uri.rsplit("/", 1)[1]]
    damaged.content = damaged.content[:-1]  # kept short since (a delete that failed, a restore gone wrong)
    monkeypatch.setattr(uploads.Uploads, "_store_upload", real_store)
    with pytest.raises(ContentMismatch, match="not overwritten"):  # kept for review, never replaced (round 29)
        store.put(data)
    assert [o.uri for o in store.list()] == [obj.uri] and len(damaged.content) == len(data) - 1



def _shared_drive_folder(gdrive, name: str) -> str:
    """A folder in a shared drive the service account belongs to as Content manager, as Google asks of
    service accounts created since April 2025 (they own no storage anywhere else)."""
    from sandbox.gdrive.drives import add_shared_drive
    from sandbox.gdrive.store import FOLDER, DriveFile

    store = gdrive.sandbox.store
    drive = add_shared_drive(store, "Compliance evidence", "grc-admin@example.com",
                             members={gdrive.client_email: "fileOrganizer"})
    return store.add(DriveFile(store.new_id(), name, FOLDER, [drive.id], "grc-admin@example.com")).id


def test_a_service_account_without_storage_is_told_to_use_a_shared_drive_and_works_there(gdrive):
    gdrive.sandbox.store.service_account_quota = False  # Google's service accounts since April 2025
    with pytest.raises(StoreQuotaError) as refused:
        _store(gdrive).put(b"evidence in a user's folder")
    text = str(refused.value)
    assert "shared drive" in text and gdrive.evidence_folder in text and "Content manager" in text

    store = _store(gdrive, _shared_drive_folder(gdrive, "Evidence Library"))
    data = os.urandom(6 * 1024 * 1024)  # resumable, in chunks
    small = store.put(b"a small one", {"filename": "policy.pdf"})
    big = store.put(data, {"filename": "export.zip"})
    assert store.get(big.sha256) == data and store.head(small.sha256).metadata["filename"] == "policy.pdf"
    assert sorted(o.sha256 for o in store.list()) == sorted([small.sha256, big.sha256])
    assert store.put(data).uri == big.uri  # found again in the shared drive: stored once
    asked = [r["query"] for r in gdrive.sandbox.request_log if r["path"].startswith((
        "/drive/v3/files", "/upload/drive/v3/files")) and r["path"] != "/drive/v3/files/generateIds"]  # no such flag
    assert asked and all("supportsAllDrives=true" in q for q in asked), asked


def test_a_damaged_copy_in_a_shared_drive_is_trashed_by_a_content_manager(gdrive, monkeypatch):
    """files.delete is permanent and, in a shared drive, for its Managers only: a Content manager's damaged
    copy goes to the trash instead (where no lookup finds it), and the content is sent again."""
    from sandbox.gdrive import uploads

    folder = _shared_drive_folder(gdrive, "Evidence Library")
    store, data = _store(gdrive, folder), os.urandom(4096) + b"\r"
    real = uploads.split_parts
    monkeypatch.setattr(uploads, "split_parts", lambda body, boundary: [
        (head, content[:-1] if i else content) for i, (head, content) in enumerate(real(body, boundary))])
    obj = store.put(data, {"filename": "report.pdf"})
    assert store.get(obj.sha256) == data and [o.uri for o in store.list()] == [obj.uri]
    calls = [(r["method"], r["status"]) for r in gdrive.sandbox.request_log if r["path"].startswith("/drive/v3/files/")]
    assert ("DELETE", 403) in calls and ("PATCH", 200) in calls, calls
    trashed = [f for f in gdrive.sandbox.store.files.values() if folder in f.parents and f.trashed]
    assert len(trashed) == 1 and len(trashed[0].content) == len(data) - 1  # the damaged one, out of sight


def test_a_shared_drive_folder_lists_what_other_members_put_there(gdrive):
    """In a shared drive the store lists with ``corpora=drive`` and the drive's id: the default ``corpora=user``
    covers only what the account created or was shared on itself, so a copy another member (or an earlier
    service account) put in the Evidence Library would be missed, and stored a second time."""
    from sandbox.gdrive.store import DriveFile

    folder = _shared_drive_folder(gdrive, "Evidence Library")
    store = _store(gdrive, folder)
    own = store.put(b"uploaded by the service account", {"filename": "mine.pdf"})
    theirs = b"uploaded by a colleague through the Drive UI"
    sha = content_address(theirs)
    sb = gdrive.sandbox.store
    sb.add(DriveFile(sb.new_id(), "theirs.pdf", "application/pdf", [folder], "grc-admin@example.com",
                     content=theirs, app_properties={"sha256": sha}))
    assert sorted(o.sha256 for o in store.list()) == sorted([own.sha256, sha])
    assert store.exists(sha) and store.put(theirs).uri == store.head(sha).uri  # found: not stored twice
    assert [f.name for f in sb.files.values() if folder in f.parents and not f.in_trash].count("theirs.pdf") == 1
