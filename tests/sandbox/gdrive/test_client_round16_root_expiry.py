"""``root`` and expiring grants through google-api-python-client.

- ``root`` (the caller's My Drive root) is one id wherever Drive takes a file or folder id: ``'root' in
  parents``, ``parents`` on create and copy, ``addParents``/``removeParents``, ``permissions.list/get`` on it
  (it answered 404 "File not found: root" there before: only files.get resolved it).
- A user grant with an ``expirationTime`` stops granting once the sandbox's clock passes it: the grantee's
  files.get/list/export/download answer 404 notFound and permissions.list no longer shows it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from googleapiclient.http import MediaInMemoryUpload

from sandbox.gdrive.store import root_id
from tests.sandbox.gdrive.calls import refused
from tests.sandbox.gdrive.test_client_probe import drive
from tests.sandbox.gdrive.test_client_probe_round2 import _as

__all__ = ["drive"]
FULL = ["https://www.googleapis.com/auth/drive"]
FOLDER = "application/vnd.google-apps.folder"


def _text(name: str, **body) -> dict:
    return {"body": {"name": name, **body}, "media_body": MediaInMemoryUpload(b"x", mimetype="text/plain")}


def test_root_is_one_id_for_every_method(drive, gdrive):
    files, mine = drive.files(), root_id(gdrive.client_email)
    assert files.get(fileId="root", fields="id").execute()["id"] == mine
    a = files.create(**_text("a.txt", parents=["root"]), fields="id,parents").execute()
    b = files.create(**_text("b.txt"), fields="id,parents").execute()
    assert a["parents"] == b["parents"] == [mine]
    copied = files.copy(fileId=a["id"], body={"name": "c.txt", "parents": ["root"]}, fields="id,parents").execute()
    assert copied["parents"] == [mine]
    listed = {f["id"] for f in files.list(q="'root' in parents and trashed = false", fields="files(id)").execute()[
        "files"]}
    assert listed == {a["id"], b["id"], copied["id"]}
    assert listed == {f["id"] for f in files.list(q=f"'{mine}' in parents", fields="files(id)").execute()["files"]}

    sub = files.create(body={"name": "S", "mimeType": FOLDER, "parents": ["root"]}, fields="id").execute()["id"]
    out = files.update(fileId=a["id"], addParents=sub, removeParents="root", fields="parents").execute()
    assert out["parents"] == [sub]
    back = files.update(fileId=a["id"], addParents="root", removeParents=sub, fields="parents").execute()
    assert back["parents"] == [mine]

    for folder in ("root", mine):
        perms = drive.permissions().list(fileId=folder, fields="permissions(id,role,emailAddress)").execute()
        assert [(p["role"], p["emailAddress"]) for p in perms["permissions"]] == [("owner", gdrive.client_email)]
        got = drive.permissions().get(fileId=folder, permissionId=perms["permissions"][0]["id"],
                                      fields="role").execute()
        assert got == {"role": "owner"}
    status, error = refused(files.delete(fileId="root"))  # [unc] Drive's answer; never deleted
    assert (status, error["reason"]) == (403, "insufficientFilePermissions")
    assert files.get(fileId="root", fields="name").execute() == {"name": "My Drive"}


def test_an_expired_grant_no_longer_grants(drive, gdrive):
    sb = gdrive.sandbox
    sb.accounts.delegate(gdrive.client_email)
    owner = _as(gdrive, FULL, subject="grc-admin@example.com")
    grantee = "ext@example.com"
    guest = _as(gdrive, FULL, subject=grantee)
    made = owner.files().create(**_text("r.txt"), fields="id").execute()["id"]
    doc = owner.files().create(body={"name": "Policy", "mimeType": "application/vnd.google-apps.document"},
                               fields="id").execute()["id"]
    when = (sb.clock.now() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    for file_id in (made, doc):
        owner.permissions().create(fileId=file_id, body={"type": "user", "role": "reader", "emailAddress": grantee,
                                                         "expirationTime": when}).execute()
    assert guest.files().get(fileId=made, fields="id").execute() == {"id": made}
    assert guest.files().get_media(fileId=made).execute() == b"x"
    assert guest.files().export(fileId=doc, mimeType="text/plain").execute() is not None
    assert {made, doc} <= {f["id"] for f in guest.files().list(fields="files(id)").execute()["files"]}

    sb.clock.advance(2 * 3600 + 1)
    for call in (guest.files().get(fileId=made), guest.files().get_media(fileId=made),
                 guest.files().export(fileId=doc, mimeType="text/plain"), guest.files().download(fileId=made)):
        status, error = refused(call)
        assert (status, error["reason"]) == (404, "notFound")
    assert not {made, doc} & {f["id"] for f in guest.files().list(fields="files(id)").execute()["files"]}
    listed = owner.permissions().list(fileId=made, fields="permissions(emailAddress)").execute()["permissions"]
    assert [p["emailAddress"] for p in listed] == ["grc-admin@example.com"]
    assert owner.files().get(fileId=made, fields="id").execute() == {"id": made}  # the owner keeps it


def test_expiration_must_be_in_the_future_on_the_sandbox_clock(drive, gdrive):
    sb = gdrive.sandbox
    made = drive.files().create(**_text("e.txt", parents=[gdrive.evidence_folder]), fields="id").execute()["id"]
    soon = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    sb.clock.advance(2 * 86400)  # the sandbox's now is past it, though the wall clock is not
    status, error = refused(drive.permissions().create(fileId=made, body={
        "type": "user", "role": "reader", "emailAddress": "x@example.com", "expirationTime": soon}))
    assert (status, error["reason"]) == (400, "expirationDatesMustBeInTheFuture")
