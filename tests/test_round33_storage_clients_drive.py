"""Round 33: the Drive emulator through google-api-python-client, unchanged, where it differed from Drive.

- ``drives.delete`` took no ``useDomainAdminAccess``: a Workspace administrator could not delete a shared drive
  they are not an organizer of (404), and ``allowItemDeletion=true`` (the reference: "Whether any items inside the
  shared drive should also be deleted. This option is only supported when useDomainAdminAccess is also set to
  true") was ignored, so a drive with files in it was never deleted (403 cannotDeleteResourceWithChildren).
- An ``anyone`` permission that search may find (``allowFileDiscovery: true``) had the id ``anyoneWithLink``,
  the id Drive gives the link-only share; Drive names it ``anyone`` [unc: from Drive's answers], so code that
  reads the id to tell "public on the web" from "anyone with the link" took one for the other.
- ``files.update(addParents=<a folder inside the moved folder>)`` (or the folder itself) made a parent loop and
  the emulator hung on it (every later call on the sandbox timed out); it is 400 invalid on ``addParents``
  [unc: Drive's reason and words].
- A file made in a trashed folder read ``trashed: false``; Drive's ``trashed`` is "either explicitly or from a
  trashed parent folder", as the emulator already answered for a file moved there.
"""

from __future__ import annotations

from googleapiclient.http import MediaInMemoryUpload

from tests.sandbox.gdrive.calls import refused
from tests.sandbox.gdrive.test_client_probe import drive
from tests.sandbox.gdrive.test_client_probe_round2 import _as

__all__ = ["drive"]
FULL = ["https://www.googleapis.com/auth/drive"]
ADMIN = "grc-admin@example.com"


def _drive_with_a_file(drive, request_id: str) -> tuple[str, str]:
    team = drive.drives().create(requestId=request_id, body={"name": "Evidence FY26"}, fields="id").execute()["id"]
    made = drive.files().create(body={"name": "soc2.pdf", "parents": [team]}, supportsAllDrives=True, fields="id",
                                media_body=MediaInMemoryUpload(b"%PDF-1.7", mimetype="application/pdf")).execute()
    return team, made["id"]


def test_an_admin_deletes_a_drive_with_its_items(drive, gdrive):
    gdrive.sandbox.accounts.delegate(gdrive.client_email)
    gdrive.sandbox.domain_admins.add(ADMIN)
    admin = _as(gdrive, FULL, ADMIN)
    team, pdf = _drive_with_a_file(drive, "r33-del-1")

    # not a member: without the parameter the drive is not there for the admin
    assert refused(admin.drives().delete(driveId=team))[0] == 404
    # as an administrator, without allowItemDeletion, untrashed items still keep the drive
    status, detail = refused(admin.drives().delete(driveId=team, useDomainAdminAccess=True))
    assert (status, detail["reason"]) == (403, "cannotDeleteResourceWithChildren")
    assert drive.files().get(fileId=pdf, supportsAllDrives=True, fields="id").execute() == {"id": pdf}
    # with it, the drive goes and its files with it
    assert admin.drives().delete(driveId=team, useDomainAdminAccess=True, allowItemDeletion=True).execute() == ""
    assert refused(drive.drives().get(driveId=team))[0] == 404
    assert refused(drive.files().get(fileId=pdf, supportsAllDrives=True))[0] == 404
    assert refused(admin.drives().get(driveId=team, useDomainAdminAccess=True))[0] == 404


def test_admin_delete_is_refused_to_others_and_the_flag_alone_deletes_nothing(drive, gdrive):
    team, pdf = _drive_with_a_file(drive, "r33-del-2")
    # the drive's own organizer, without the administrator privilege
    status, detail = refused(drive.drives().delete(driveId=team, useDomainAdminAccess=True, allowItemDeletion=True))
    assert (status, detail["reason"]) == (403, "noManageTeamDriveAdministratorPrivilege")
    status, detail = refused(drive.drives().delete(driveId=team, allowItemDeletion=True))
    assert (status, detail["reason"]) == (403, "cannotDeleteResourceWithChildren")
    assert drive.files().get(fileId=pdf, supportsAllDrives=True, fields="id").execute() == {"id": pdf}


def test_a_discoverable_share_is_anyone_and_a_link_share_anyone_with_link(drive, gdrive):
    perms = drive.permissions()
    public = drive.files().create(body={"name": "public.pdf", "parents": [gdrive.evidence_folder]}, fields="id",
                                  media_body=MediaInMemoryUpload(b"%PDF", mimetype="application/pdf")).execute()["id"]
    linked = drive.files().create(body={"name": "linked.pdf", "parents": [gdrive.evidence_folder]}, fields="id",
                                  media_body=MediaInMemoryUpload(b"%PDF", mimetype="application/pdf")).execute()["id"]
    made = perms.create(fileId=public, body={"type": "anyone", "role": "reader", "allowFileDiscovery": True},
                        fields="id,type,allowFileDiscovery").execute()
    assert made == {"id": "anyone", "type": "anyone", "allowFileDiscovery": True}
    link = perms.create(fileId=linked, body={"type": "anyone", "role": "reader"}, fields="id").execute()
    assert link == {"id": "anyoneWithLink"}
    assert perms.get(fileId=public, permissionId="anyone", fields="role").execute() == {"role": "reader"}
    assert refused(perms.get(fileId=public, permissionId="anyoneWithLink"))[0] == 404
    listed = perms.list(fileId=public, fields="permissions(id)").execute()["permissions"]
    assert {"id": "anyone"} in listed and {"id": "anyoneWithLink"} not in listed
    assert drive.files().get(fileId=public, fields="permissionIds").execute()["permissionIds"][-1] == "anyone"
    perms.update(fileId=public, permissionId="anyone", body={"role": "commenter"}).execute()
    assert perms.get(fileId=public, permissionId="anyone", fields="role").execute() == {"role": "commenter"}
    perms.delete(fileId=public, permissionId="anyone").execute()
    assert drive.files().get(fileId=public, fields="shared").execute() == {"shared": False}


def test_a_folder_is_not_moved_into_itself(drive, gdrive):
    files, folder = drive.files(), "application/vnd.google-apps.folder"
    audit = files.create(body={"name": "Audit", "mimeType": folder, "parents": [gdrive.evidence_folder]}
                         ).execute()["id"]
    fy26 = files.create(body={"name": "FY26", "mimeType": folder, "parents": [audit]}).execute()["id"]
    q1 = files.create(body={"name": "Q1", "mimeType": folder, "parents": [fy26]}).execute()["id"]
    for inside in (q1, fy26, audit):
        status, detail = refused(files.update(fileId=audit, addParents=inside, removeParents=gdrive.evidence_folder))
        assert (status, detail["reason"], detail["location"]) == (400, "invalid", "addParents")
    # nothing moved, and the sandbox still answers
    assert files.get(fileId=audit, fields="parents").execute() == {"parents": [gdrive.evidence_folder]}
    moved = files.update(fileId=q1, addParents=audit, removeParents=fy26, fields="parents").execute()
    assert moved == {"parents": [audit]}
    listed = files.list(q=f"'{audit}' in parents", fields="files(name)", orderBy="name").execute()["files"]
    assert listed == [{"name": "FY26"}, {"name": "Q1"}]


def test_a_file_made_in_a_trashed_folder_is_trashed(drive, gdrive):
    files = drive.files()
    old = files.create(body={"name": "FY24", "mimeType": "application/vnd.google-apps.folder",
                             "parents": [gdrive.evidence_folder]}).execute()["id"]
    files.update(fileId=old, body={"trashed": True}).execute()
    made = files.create(body={"name": "late.pdf", "parents": [old]}, fields="id,trashed,explicitlyTrashed",
                        media_body=MediaInMemoryUpload(b"%PDF", mimetype="application/pdf")).execute()
    assert (made["trashed"], made["explicitlyTrashed"]) == (True, False)
    live = files.list(q=f"'{old}' in parents and trashed = false", fields="files(id)").execute()["files"]
    assert live == []
    files.update(fileId=old, body={"trashed": False}).execute()  # restoring the folder restores it
    assert files.get(fileId=made["id"], fields="trashed").execute() == {"trashed": False}
