"""Probe round 2: google-api-python-client calls a checker makes against the Drive emulator that it got
wrong before, each through the official client against the running sandbox."""

from __future__ import annotations

import pytest
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest, MediaInMemoryUpload

from tests.sandbox.gdrive.calls import refused
from tests.sandbox.gdrive.test_client_probe import drive

__all__ = ["drive"]


def test_my_drive_root_alias_and_me_in_owners(drive, gdrive):
    """files.get(fileId='root') was 404 and ``'root' in parents`` / ``'me' in owners`` matched nothing: a file
    created without parents lands in the caller's My Drive root, as in Drive."""
    files = drive.files()
    root = files.get(fileId="root", fields="id,name,mimeType,parents").execute()
    assert root["name"] == "My Drive" and root["mimeType"].endswith(".folder") and "parents" not in root
    assert files.get(fileId=root["id"], fields="id").execute() == {"id": root["id"]}

    loose = files.create(body={"name": "loose.txt"}, media_body=MediaInMemoryUpload(b"x", mimetype="text/plain"),
                         fields="id,parents").execute()
    assert loose["parents"] == [root["id"]]
    named = files.create(body={"name": "named.txt", "parents": ["root"]}, fields="id,parents").execute()
    assert named["parents"] == [root["id"]]
    kept = files.create(body={"name": "kept.txt", "parents": [gdrive.evidence_folder]}, fields="id").execute()

    def names(q: str) -> set[str]:
        return {f["name"] for f in files.list(q=q, fields="files(name)").execute()["files"]}

    assert names("'root' in parents and trashed = false") == {"loose.txt", "named.txt"}
    assert names(f"'{root['id']}' in parents") == {"loose.txt", "named.txt"}
    # the evidence folders belong to the GRC admin, not the service account
    assert names("'me' in owners") == {"loose.txt", "named.txt", "kept.txt"}
    assert "kept.txt" in names("'me' in writers") and "Audit evidence inbox" in names("'me' in readers")

    moved = files.update(fileId=loose["id"], addParents=gdrive.evidence_folder, removeParents="root",
                         fields="parents").execute()
    assert moved["parents"] == [gdrive.evidence_folder]
    assert names("'root' in parents") == {"named.txt"}
    assert kept["id"] not in {f["id"] for f in files.list(q="'root' in parents").execute()["files"]}


def test_created_and_modified_time_are_writable_on_create(drive, gdrive):
    """files.create ignored createdTime and modifiedTime (Drive takes both, as sync tools use to keep a
    document's own dates); files.update echoed modifiedTime as sent instead of Drive's UTC form."""
    files = drive.files()
    made = files.create(body={"name": "2019-soc2.pdf", "parents": [gdrive.evidence_folder],
                              "createdTime": "2019-03-01T10:00:00Z", "modifiedTime": "2019-03-02T10:00:00+02:00"},
                        media_body=MediaInMemoryUpload(b"%PDF", mimetype="application/pdf"),
                        fields="id,createdTime,modifiedTime").execute()
    assert (made["createdTime"], made["modifiedTime"]) == ("2019-03-01T10:00:00.000Z", "2019-03-02T08:00:00.000Z")
    old = files.list(q=f"'{gdrive.evidence_folder}' in parents and modifiedTime < '2020-01-01T00:00:00'",
                     fields="files(id)").execute()["files"]
    assert old == [{"id": made["id"]}]
    touched = files.update(fileId=made["id"], body={"modifiedTime": "2021-06-01T12:00:00.5-04:00"},
                           fields="modifiedTime").execute()
    assert touched["modifiedTime"] == "2021-06-01T16:00:00.500Z"
    status, error = refused(files.create(body={"name": "x", "parents": [gdrive.evidence_folder],
                                               "modifiedTime": "yesterday"}))
    assert status == 400 and error["reason"] == "invalid"


def test_batch_requests(drive, gdrive):
    """POST /batch/drive/v3 was 404: googleapiclient's BatchHttpRequest (pointed at the emulator with
    batch_uri, as it posts to www.googleapis.com otherwise) runs each call with its own auth and answer."""
    files = drive.files()
    made = [files.create(body={"name": f"b{n}.txt", "parents": [gdrive.evidence_folder]}, fields="id").execute()["id"]
            for n in range(3)]
    answers: dict[str, tuple] = {}
    batch = BatchHttpRequest(callback=lambda rid, resp, exc: answers.setdefault(rid, (resp, exc)),
                             batch_uri=gdrive.sandbox.url + "/batch/drive/v3")
    for n, file_id in enumerate(made):
        batch.add(drive.permissions().create(fileId=file_id, body={"type": "user", "role": "reader",
                                                                   "emailAddress": f"auditor{n}@example.com"},
                                             sendNotificationEmail=False, fields="id,role"), request_id=f"p{n}")
    batch.add(files.get(fileId="missing", fields="id"), request_id="missing")
    batch.add(files.update(fileId=made[0], body={"name": "renamed.txt"}, fields="name"), request_id="rename")
    batch.execute()
    assert [answers[f"p{n}"][0]["role"] for n in range(3)] == ["reader"] * 3
    missing = answers["missing"][1]
    assert isinstance(missing, HttpError) and missing.resp.status == 404 and missing.reason.startswith("File not")
    assert answers["rename"] == ({"name": "renamed.txt"}, None)
    readers = drive.permissions().list(fileId=made[2], fields="permissions(emailAddress,role)").execute()
    assert {"emailAddress": "auditor2@example.com", "role": "reader"} in readers["permissions"]

    too_many = BatchHttpRequest(batch_uri=gdrive.sandbox.url + "/batch/drive/v3")
    for _ in range(101):
        too_many.add(files.get(fileId=made[1], fields="id"))
    with pytest.raises(HttpError) as err:
        too_many.execute()
    assert err.value.resp.status == 400 and err.value.error_details[0]["reason"] == "batchSizeTooLarge"


def test_a_file_has_one_parent(drive, gdrive):
    """addParents without removeParents gave a file two parents; Drive allows one since 2020 and answers 403
    cannotAddParent, so a move that forgets removeParents failed only on the real service."""
    files = drive.files()
    sub = files.create(body={"name": "2024", "mimeType": "application/vnd.google-apps.folder",
                             "parents": [gdrive.evidence_folder]}, fields="id").execute()["id"]
    f = files.create(body={"name": "e.txt", "parents": [gdrive.evidence_folder]}, fields="id").execute()["id"]
    status, error = refused(files.update(fileId=f, addParents=sub, fields="parents"))
    assert (status, error["reason"]) == (403, "cannotAddParent")
    assert files.get(fileId=f, fields="parents").execute()["parents"] == [gdrive.evidence_folder]
    status, error = refused(files.create(body={"name": "two.txt", "parents": [gdrive.evidence_folder, sub]}))
    assert (status, error["reason"]) == (403, "cannotAddParent")
    moved = files.update(fileId=f, addParents=sub, removeParents=gdrive.evidence_folder, fields="parents").execute()
    assert moved["parents"] == [sub]


def _as(gdrive, scopes: list[str], subject: str | None = None):
    from google.oauth2 import service_account
    from googleapiclient.discovery import build

    creds = service_account.Credentials.from_service_account_file(str(gdrive.key_file), scopes=scopes)
    creds = creds.with_subject(subject) if subject else creds
    return build("drive", "v3", credentials=creds, client_options={"api_endpoint": gdrive.api_endpoint},
                 cache_discovery=False, static_discovery=True)


def test_token_scopes_bound_what_it_may_do(drive, gdrive):
    """Every token could do everything whatever its scopes: a drive.readonly token created files and a
    drive.metadata.readonly one downloaded bytes, where Drive answers 403 insufficientPermissions."""
    scope = "https://www.googleapis.com/auth/"
    f = drive.files().create(body={"name": "s.txt", "parents": [gdrive.evidence_folder]},
                             media_body=MediaInMemoryUpload(b"bytes", mimetype="text/plain"), fields="id").execute()
    readonly = _as(gdrive, [scope + "drive.readonly"])
    assert readonly.files().get_media(fileId=f["id"]).execute() == b"bytes"
    for call in (readonly.files().create(body={"name": "x", "parents": [gdrive.evidence_folder]}),
                 readonly.files().update(fileId=f["id"], body={"name": "y"}),
                 readonly.files().delete(fileId=f["id"])):
        status, error = refused(call)
        assert (status, error["reason"], error["message"]) == (403, "insufficientPermissions",
                                                               "Insufficient Permission")
    metadata = _as(gdrive, [scope + "drive.metadata.readonly"])
    assert metadata.files().get(fileId=f["id"], fields="name").execute() == {"name": "s.txt"}
    assert refused(metadata.files().get_media(fileId=f["id"]))[0] == 403
    assert refused(_as(gdrive, [scope + "drive.metadata"]).files().update(
        fileId=f["id"], media_body=MediaInMemoryUpload(b"new", mimetype="text/plain")))[0] == 403
    assert refused(_as(gdrive, ["https://www.googleapis.com/auth/cloud-platform"]).files().list())[0] == 403
    assert _as(gdrive, [scope + "drive.file"]).files().get_media(fileId=f["id"]).execute() == b"bytes"


def test_domain_wide_delegation(gdrive):
    """Credentials.with_subject(user) got a token for the service account itself; Google refuses it (401
    unauthorized_client) unless the account has domain-wide delegation, and then the token is the user's."""
    from google.auth.exceptions import RefreshError

    full = ["https://www.googleapis.com/auth/drive"]
    with pytest.raises(RefreshError, match="unauthorized_client"):
        _as(gdrive, full, "grc-admin@example.com").about().get(fields="user").execute()
    gdrive.sandbox.accounts.delegate(gdrive.client_email)
    admin = _as(gdrive, full, "grc-admin@example.com")
    assert admin.about().get(fields="user(emailAddress)").execute() == {"user": {"emailAddress":
                                                                                 "grc-admin@example.com"}}
    owned = admin.files().list(q="'me' in owners", fields="files(name)").execute()["files"]
    assert {f["name"] for f in owned} == {"Project X Evidence Library", "Audit evidence inbox"}


def test_a_folder_takes_its_contents_to_the_trash_and_away(drive, gdrive):
    """Trashing a folder left its files untrashed (``trashed = false`` still listed them, changes.list said
    nothing) and deleting it left them alive under a parent that was gone; Drive trashes and deletes a
    folder's contents with it."""
    files, folder = drive.files(), "application/vnd.google-apps.folder"
    a = files.create(body={"name": "A", "mimeType": folder, "parents": [gdrive.evidence_folder]}).execute()["id"]
    b = files.create(body={"name": "B", "mimeType": folder, "parents": [a]}).execute()["id"]
    x = files.create(body={"name": "x.txt", "parents": [b]}, media_body=MediaInMemoryUpload(b"x"),
                     fields="id").execute()["id"]
    token = drive.changes().getStartPageToken().execute()["startPageToken"]
    files.update(fileId=a, body={"trashed": True}).execute()
    assert files.get(fileId=x, fields="trashed,explicitlyTrashed").execute() == {"trashed": True,
                                                                               "explicitlyTrashed": False}
    assert files.list(q=f"'{b}' in parents and trashed = false").execute()["files"] == []
    changed = drive.changes().list(pageToken=token, fields="changes(fileId,file(trashed))").execute()["changes"]
    assert {"fileId": x, "file": {"trashed": True}} in changed

    files.update(fileId=b, body={"trashed": True}).execute()  # B on its own: stays when A comes back
    files.update(fileId=a, body={"trashed": False}).execute()
    assert files.get(fileId=b, fields="trashed").execute() == {"trashed": True}
    assert files.get(fileId=x, fields="trashed").execute() == {"trashed": True}
    files.update(fileId=b, body={"trashed": False}).execute()
    assert files.get(fileId=x, fields="trashed").execute() == {"trashed": False}

    token = drive.changes().getStartPageToken().execute()["startPageToken"]
    files.delete(fileId=a).execute()
    for gone in (a, b, x):
        assert refused(files.get(fileId=gone))[0] == 404
    removed = drive.changes().list(pageToken=token, fields="changes(fileId,removed)").execute()["changes"]
    assert {c["fileId"] for c in removed if c["removed"]} == {a, b, x}


def test_service_accounts_without_storage(make_gdrive_sandbox, tmp_path, monkeypatch):
    """Google's service accounts own nothing outside shared drives since April 2025: an upload into a user's
    folder shared with the account as writer is 403 storageQuotaExceeded. The sandbox let every account own
    files; service_account_quota=False plays the new accounts (the default keeps the old ones)."""
    import json

    import httplib2
    from google.oauth2 import service_account
    from googleapiclient.discovery import build

    from sandbox.gdrive.auth import service_account_info
    from sandbox.gdrive.fixtures import SERVICE_ACCOUNT, new_key

    sb = make_gdrive_sandbox(tls=True, service_account_quota=False)
    monkeypatch.setattr(httplib2, "CA_CERTS", sb.ca_bundle)
    private, public = new_key()
    sb.accounts.register(SERVICE_ACCOUNT, public)
    key_file = tmp_path / "sa.json"
    key_file.write_text(json.dumps(service_account_info(SERVICE_ACCOUNT, private, sb.token_url)))
    folder = sb.store.folder("Evidence", "grc-admin@example.com", writers={SERVICE_ACCOUNT}).id
    creds = service_account.Credentials.from_service_account_file(
        str(key_file), scopes=["https://www.googleapis.com/auth/drive"])
    drive = build("drive", "v3", credentials=creds, client_options={"api_endpoint": sb.url + "/drive/v3/"},
                  cache_discovery=False, static_discovery=True)
    status, error = refused(drive.files().create(body={"name": "e.pdf", "parents": [folder]},
                                                 media_body=MediaInMemoryUpload(b"%PDF")))
    assert (status, error["reason"]) == (403, "storageQuotaExceeded")
    assert error["message"].startswith("Service Accounts do not have storage quota.")
    assert drive.about().get(fields="storageQuota(limit)").execute() == {"storageQuota": {"limit": "0"}}
    team = drive.drives().create(requestId="r1", body={"name": "Evidence (shared drive)"}).execute()["id"]
    made = drive.files().create(body={"name": "e.pdf", "parents": [team]}, media_body=MediaInMemoryUpload(b"%PDF"),
                                supportsAllDrives=True, fields="id,driveId").execute()
    assert made["driveId"] == team
