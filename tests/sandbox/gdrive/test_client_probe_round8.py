"""Probe round 8 through google-api-python-client, unchanged: teamdrives.* (v3's deprecated shared-drive
resource) and apps.list were 404 and about lacked canCreateTeamDrives; files.list over allDrives and its
`q` edge cases, files.export per Google type, files.copy and an ownership transfer, which already answered
as Drive does, are pinned here; an ownership transfer to an anyone link or inside a shared drive went
through (Drive refuses both)."""

from __future__ import annotations

from googleapiclient.http import MediaInMemoryUpload

from tests.sandbox.gdrive.calls import refused
from tests.sandbox.gdrive.test_client_probe import drive

__all__ = ["drive"]
APPS = "application/vnd.google-apps."


def test_teamdrives_are_shared_drives_in_the_old_shape(drive):
    teams = drive.teamdrives()
    made = teams.create(requestId="td-1", body={"name": "Audit 2026", "restrictions": {"teamMembersOnly": True}},
                        fields="*").execute()
    assert made["kind"] == "drive#teamDrive" and "hidden" not in made
    assert made["capabilities"]["canRenameTeamDrive"] and made["capabilities"]["canDeleteTeamDrive"]
    assert "canRenameDrive" not in made["capabilities"] and made["capabilities"]["canRemoveChildren"]
    assert made["restrictions"]["teamMembersOnly"] is True and "driveMembersOnly" not in made["restrictions"]
    assert drive.drives().get(driveId=made["id"]).execute()["name"] == "Audit 2026"  # the same drive
    assert drive.drives().get(driveId=made["id"], fields="restrictions").execute()["restrictions"][
        "driveMembersOnly"] is True
    listed = teams.list().execute()
    assert listed == {"kind": "drive#teamDriveList",
                      "teamDrives": [{"kind": "drive#teamDrive", "id": made["id"], "name": "Audit 2026"}]}
    assert refused(teams.create(requestId="td-1", body={"name": "again"}))[0] == 409
    renamed = teams.update(teamDriveId=made["id"], body={"name": "Audit FY26"}, fields="id,name").execute()
    assert renamed == {"id": made["id"], "name": "Audit FY26"}
    status, error = refused(teams.get(teamDriveId=made["id"], fields="hidden"))
    assert (status, error["reason"]) == (400, "invalidParameter")
    teams.delete(teamDriveId=made["id"]).execute()
    assert refused(teams.get(teamDriveId=made["id"]))[0] == 404
    assert teams.list(fields="teamDrives(id)").execute() == {"teamDrives": []}


def test_apps_and_about(drive):
    assert drive.apps().list().execute() == {"kind": "drive#appList", "selfLink": drive.apps().list().uri.split("?")[0],
                                              "defaultAppIds": [], "items": []}
    about = drive.about().get(fields="appInstalled,canCreateDrives,canCreateTeamDrives").execute()
    assert about == {"appInstalled": False, "canCreateDrives": True, "canCreateTeamDrives": True}


def test_list_corpora_and_query_edge_cases(drive, gdrive):
    files = drive.files()
    status, error = refused(files.list(corpora="allDrives"))
    assert (status, error["reason"]) == (403, "teamDriveIncludeItemsRequired")
    everything = files.list(corpora="allDrives", includeItemsFromAllDrives=True, supportsAllDrives=True).execute()
    assert {f["id"] for f in everything["files"]} >= {gdrive.evidence_folder}
    mine = files.create(body={"name": "p.txt", "parents": [gdrive.evidence_folder], "properties": {"k": "v"}},
                        media_body=MediaInMemoryUpload(b"x", mimetype="text/plain")).execute()
    owned = files.list(q="'me' in owners and trashed = false", fields="files(id)").execute()["files"]
    assert {"id": mine["id"]} in owned and {"id": gdrive.evidence_folder} not in owned
    shared = files.list(q="sharedWithMe", fields="files(id)").execute()["files"]
    assert {"id": gdrive.evidence_folder} in shared and {"id": mine["id"]} not in shared
    for q, hit in (("properties has { key='k' and value='v' }", True), ("properties has {key='k' and value='v'}", True),
                   ("properties has { key='k' and value='w' }", False)):
        assert ({"id": mine["id"]} in files.list(q=q, fields="files(id)").execute()["files"]) is hit


def test_export_copy_and_transfer_ownership(drive, gdrive):
    files = drive.files()
    formats = {"document": ("application/pdf", "text/plain", "text/markdown"), "spreadsheet": ("text/csv",),
               "presentation": ("image/png",), "drawing": ("image/svg+xml",)}
    for kind, outs in formats.items():
        doc = files.create(body={"name": kind, "mimeType": APPS + kind, "parents": [gdrive.evidence_folder]}).execute()
        for out in outs:
            assert isinstance(files.export(fileId=doc["id"], mimeType=out).execute(), bytes)
        status, error = refused(files.export(fileId=doc["id"], mimeType="application/epub+zip" if kind != "document"
                                             else "text/csv"))
        assert (status, error["reason"]) == (400, "badRequest")
    src = files.create(body={"name": "p.txt", "parents": [gdrive.evidence_folder], "properties": {"k": "v"}},
                       media_body=MediaInMemoryUpload(b"x", mimetype="text/plain")).execute()
    copied = files.copy(fileId=src["id"], fields="name,parents,properties,mimeType").execute()
    assert copied == {"name": "Copy of p.txt", "parents": [gdrive.evidence_folder], "properties": {"k": "v"},
                      "mimeType": "text/plain"}
    perms = drive.permissions()
    new = perms.create(fileId=src["id"], body={"role": "writer", "type": "user", "emailAddress": "amelia@example.com"},
                       sendNotificationEmail=False).execute()
    status, error = refused(perms.update(fileId=src["id"], permissionId=new["id"], body={"role": "owner"}))
    assert status == 403 and "transferOwnership" in error["message"]
    assert perms.update(fileId=src["id"], permissionId=new["id"], body={"role": "owner"},
                        transferOwnership=True).execute()["role"] == "owner"
    roles = {p["emailAddress"]: p["role"] for p in perms.list(fileId=src["id"], fields="permissions(emailAddress,role)")
             .execute()["permissions"]}
    assert roles == {"amelia@example.com": "owner", gdrive.client_email: "writer"}  # the old owner keeps write


def test_ownership_goes_to_a_user_outside_shared_drives(drive, gdrive):
    perms = drive.permissions()
    mine = drive.files().create(body={"name": "g.txt", "parents": [gdrive.evidence_folder]},
                                media_body=MediaInMemoryUpload(b"x", mimetype="text/plain")).execute()
    link = perms.create(fileId=mine["id"], body={"role": "reader", "type": "anyone"}).execute()
    status, error = refused(perms.update(fileId=mine["id"], permissionId=link["id"], body={"role": "owner"},
                                         transferOwnership=True))
    assert (status, error["reason"]) == (403, "invalidSharingRequest")
    assert perms.get(fileId=mine["id"], permissionId=link["id"]).execute()["role"] == "reader"
    shared = drive.drives().create(requestId="own-1", body={"name": "SD"}).execute()
    inside = drive.files().create(body={"name": "in.txt", "parents": [shared["id"]]}, supportsAllDrives=True,
                                  media_body=MediaInMemoryUpload(b"x", mimetype="text/plain")).execute()
    writer = perms.create(fileId=inside["id"], body={"role": "writer", "type": "user",
                                                     "emailAddress": "amelia@example.com"},
                          supportsAllDrives=True, sendNotificationEmail=False).execute()
    status, error = refused(perms.update(fileId=inside["id"], permissionId=writer["id"], body={"role": "owner"},
                                         transferOwnership=True, supportsAllDrives=True))
    assert status == 403 and "shared drives" in error["message"]
    assert perms.get(fileId=inside["id"], permissionId=writer["id"], supportsAllDrives=True).execute()["role"] == \
        "writer"
