"""Probe round 6, shared drives through google-api-python-client: a shared drive's id as a file id
(files.get, permissions.* managing members), the permissions of its items, and metadata-only files."""

from __future__ import annotations

from googleapiclient.http import MediaInMemoryUpload

from tests.sandbox.gdrive.calls import refused
from tests.sandbox.gdrive.test_client_probe import drive

__all__ = ["drive"]


def test_shared_drive_id_as_a_file(drive, gdrive):
    """files.get(driveId) and permissions.create(fileId=driveId) were 404: apps add members this way."""
    team = drive.drives().create(requestId="m1", body={"name": "Audit FY26"}).execute()["id"]
    root = drive.files().get(fileId=team, supportsAllDrives=True, fields="id,name,mimeType,driveId,parents,owners"
                             ).execute()
    assert root == {"id": team, "name": "Audit FY26", "mimeType": "application/vnd.google-apps.folder",
                    "driveId": team}
    assert refused(drive.files().get(fileId=team))[0] == 404  # without supportsAllDrives
    perms = drive.permissions()
    added = perms.create(fileId=team, supportsAllDrives=True, sendNotificationEmail=False, fields="id,role,type",
                         body={"type": "user", "role": "fileOrganizer", "emailAddress": "auditor@example.com"}
                         ).execute()
    assert (added["role"], added["type"]) == ("fileOrganizer", "user")
    listed = perms.list(fileId=team, supportsAllDrives=True, fields="permissions(emailAddress,role)").execute()
    assert listed["permissions"] == [{"emailAddress": gdrive.client_email, "role": "organizer"},
                                     {"emailAddress": "auditor@example.com", "role": "fileOrganizer"}]
    assert drive.drives().get(driveId=team, fields="id").execute() == {"id": team}
    changed = perms.update(fileId=team, permissionId=added["id"], supportsAllDrives=True, body={"role": "reader"},
                           fields="role").execute()
    assert changed == {"role": "reader"}
    status, error = refused(perms.create(fileId=team, supportsAllDrives=True, body={
        "type": "user", "role": "owner", "emailAddress": "x@example.com"}))
    assert (status, error["reason"]) == (400, "invalid")

    f = drive.files().create(body={"name": "e.txt", "parents": [team]}, supportsAllDrives=True,
                             media_body=MediaInMemoryUpload(b"e", mimetype="text/plain"), fields="id").execute()["id"]
    item = perms.list(fileId=f, supportsAllDrives=True,
                      fields="permissions(emailAddress,role,permissionDetails)").execute()["permissions"]
    assert [p["role"] for p in item] == ["organizer", "reader"]  # the members, no owner
    assert item[0]["permissionDetails"] == [{"permissionType": "member", "role": "organizer", "inherited": True,
                                             "inheritedFrom": team}]
    shown = drive.files().get(fileId=f, supportsAllDrives=True, fields="permissions(role)").execute()
    assert shown == {"permissions": [{"role": "organizer"}, {"role": "reader"}]}
    perms.delete(fileId=team, permissionId=added["id"], supportsAllDrives=True).execute()
    assert len(perms.list(fileId=team, supportsAllDrives=True).execute()["permissions"]) == 1


def test_metadata_only_file_export_on_any_drive_labels_and_visibility(drive, gdrive):
    """files.create with a name only made a folder (Drive makes an empty application/octet-stream file);
    files.export, which takes no supportsAllDrives, was 404 on a shared drive's Doc; listLabels was 404;
    an 'anyone' share with allowFileDiscovery was visibility anyoneWithLink instead of anyoneCanFind."""
    files = drive.files()
    plain = files.create(body={"name": "notes", "parents": [gdrive.evidence_folder]}, fields="id,mimeType,size"
                         ).execute()
    assert (plain["mimeType"], plain["size"]) == ("application/octet-stream", "0")
    assert files.copy(fileId=plain["id"], fields="name").execute() == {"name": "Copy of notes"}
    team = drive.drives().create(requestId="m2", body={"name": "T"}).execute()["id"]
    doc = files.create(body={"name": "Policy", "mimeType": "application/vnd.google-apps.document",
                             "parents": [team]}, supportsAllDrives=True, fields="id").execute()["id"]
    assert files.export(fileId=doc, mimeType="text/plain").execute() == b"\xef\xbb\xbf"  # the BOM alone
    assert files.listLabels(fileId=plain["id"]).execute() == {"kind": "drive#labelList", "labels": []}
    drive.permissions().create(fileId=plain["id"], body={"type": "anyone", "role": "reader",
                                                         "allowFileDiscovery": True}).execute()
    found = files.list(q="visibility = 'anyoneCanFind'", fields="files(id)").execute()["files"]
    assert found == [{"id": plain["id"]}]
