"""google-api-python-client against the Drive emulator's shared drives: drives.* (requestId, paging,
``q``, hide/unhide, organizer-only changes, no deleting a drive with items) and files in a shared drive
(``supportsAllDrives``, ``driveId``, ``corpora=drive`` with Drive's refusals)."""

from __future__ import annotations

from googleapiclient.http import MediaInMemoryUpload

from sandbox.gdrive.drives import add_shared_drive
from tests.sandbox.gdrive.calls import raw, refused
from tests.sandbox.gdrive.test_client_probe import drive

__all__ = ["drive"]


def _new_drive(drive, name: str, request_id: str) -> dict:
    return drive.drives().create(requestId=request_id, body={"name": name}, fields="id,name,capabilities").execute()


def test_create_get_update_list_hide(drive, gdrive):
    made = _new_drive(drive, "Evidence 2026", "req-1")
    assert made["name"] == "Evidence 2026" and made["id"].startswith("0A")
    assert made["capabilities"]["canDeleteDrive"] is True and made["capabilities"]["canAddChildren"] is True
    status, detail = refused(drive.drives().create(requestId="req-1", body={"name": "again"}))
    assert (status, detail["reason"]) == (409, "teamDriveAlreadyExists")
    missing = raw(gdrive, "POST", "/drive/v3/drives", json={"name": "no request id"})
    assert missing.status_code == 400 and missing.json()["error"]["errors"][0] == {
        "domain": "global", "reason": "required", "message": "Required parameter: requestId",
        "locationType": "parameter", "location": "requestId"}
    assert drive.drives().get(driveId=made["id"]).execute() == {"kind": "drive#drive", "id": made["id"],
                                                                 "name": "Evidence 2026"}
    renamed = drive.drives().update(driveId=made["id"], body={"name": "Evidence FY26",
                                                              "restrictions": {"domainUsersOnly": True}},
                                    fields="name,restrictions/domainUsersOnly").execute()
    assert renamed == {"name": "Evidence FY26", "restrictions": {"domainUsersOnly": True}}
    status, detail = refused(drive.drives().update(driveId=made["id"], body={"id": "x"}))
    assert (status, detail["reason"]) == (403, "fieldNotWritable")

    for n in range(3):
        _new_drive(drive, f"Team {n}", f"team-{n}")
    add_shared_drive(gdrive.sandbox.store, "Not mine", "someone@example.com")
    names, token = [], None
    while True:
        got = drive.drives().list(pageSize=3, pageToken=token, fields="nextPageToken,drives(name)").execute()
        names += [d["name"] for d in got["drives"]]
        token = got.get("nextPageToken")
        if not token:
            break
    assert names == ["Evidence FY26", "Team 0", "Team 1", "Team 2"]  # a drive the caller is not in is not listed
    by_name = drive.drives().list(q="name contains 'Team' and not name = 'Team 1'", fields="drives(name)").execute()
    assert by_name == {"drives": [{"name": "Team 0"}, {"name": "Team 2"}]}
    assert drive.drives().hide(driveId=made["id"], fields="hidden").execute()["hidden"] is True
    assert drive.drives().list(q="hidden = true", fields="drives(id)").execute() == {"drives": [{"id": made["id"]}]}
    assert drive.drives().unhide(driveId=made["id"], fields="hidden").execute()["hidden"] is False
    status, detail = refused(drive.drives().list(q="colour = 'red'"))
    assert (status, detail["reason"], detail["location"]) == (400, "invalid", "q")
    status, detail = refused(drive.drives().get(driveId="0Anope"))
    assert (status, detail["reason"], detail["location"]) == (404, "notFound", "driveId")


def test_only_organizers_change_a_drive(drive, gdrive):
    team = add_shared_drive(gdrive.sandbox.store, "GRC", "grc-admin@example.com", {gdrive.client_email: "writer"})
    got = drive.drives().get(driveId=team.id, fields="capabilities(canEdit,canDeleteDrive)").execute()
    assert got == {"capabilities": {"canEdit": True, "canDeleteDrive": False}}
    for call in (drive.drives().update(driveId=team.id, body={"name": "mine now"}),
                 drive.drives().delete(driveId=team.id)):
        status, detail = refused(call)
        assert (status, detail["reason"]) == (403, "insufficientFilePermissions")


def test_files_in_a_shared_drive(drive, gdrive):
    team = _new_drive(drive, "Audit", "audit-1")["id"]
    body = {"name": "sox.txt", "parents": [team]}
    media = MediaInMemoryUpload(b"sox", mimetype="text/plain")
    status, detail = refused(drive.files().create(body=body, media_body=media))
    assert (status, detail["reason"]) == (404, "notFound")  # without supportsAllDrives the drive is not found
    f = drive.files().create(body=body, media_body=media, supportsAllDrives=True,
                             fields="id,driveId,owners,parents,capabilities/canDelete").execute()
    assert f == {"id": f["id"], "driveId": team, "parents": [team], "capabilities": {"canDelete": True}}
    sub = drive.files().create(body={"name": "Q1", "mimeType": "application/vnd.google-apps.folder",
                                     "parents": [team]}, supportsAllDrives=True).execute()
    inner = drive.files().create(body={"name": "inner.txt", "parents": [sub["id"]]}, supportsAllDrives=True,
                                 fields="id,driveId").execute()
    assert inner["driveId"] == team

    for call in (drive.files().get(fileId=f["id"]), drive.files().update(fileId=f["id"], body={"name": "y"}),
                 drive.files().delete(fileId=f["id"]), drive.permissions().list(fileId=f["id"])):
        status, detail = refused(call)
        assert (status, detail["reason"], detail["location"]) == (404, "notFound", "fileId")
    assert drive.files().get(fileId=f["id"], supportsAllDrives=True, fields="name").execute() == {"name": "sox.txt"}
    # revisions.* and comments.* take no supportsAllDrives and work on shared drive items
    assert len(drive.revisions().list(fileId=f["id"]).execute()["revisions"]) == 1
    drive.comments().create(fileId=f["id"], body={"content": "ok"}, fields="id").execute()

    def ids(**kwargs) -> set[str]:
        return {x["id"] for x in drive.files().list(fields="files(id)", **kwargs).execute()["files"]}

    in_drive = {f["id"], sub["id"], inner["id"]}
    assert ids(corpora="drive", driveId=team, includeItemsFromAllDrives=True, supportsAllDrives=True) == in_drive
    assert not ids() & in_drive  # My Drive listing leaves shared drive items out
    assert ids(includeItemsFromAllDrives=True, supportsAllDrives=True) >= in_drive
    for kwargs, expected in (({"corpora": "drive", "driveId": team, "supportsAllDrives": True},
                              (403, "teamDriveIncludeItemsRequired")),
                             ({"corpora": "drive", "includeItemsFromAllDrives": True, "supportsAllDrives": True},
                              (400, "teamDriveIdRequiresTeamDriveCorpora")),
                             ({"driveId": team, "includeItemsFromAllDrives": True, "supportsAllDrives": True},
                              (400, "teamDriveIdRequiresTeamDriveCorpora")),
                             ({"corpora": "drive", "driveId": team, "includeItemsFromAllDrives": True},
                              (403, "teamDriveItemsRequireTeamDriveSupport"))):
        status, detail = refused(drive.files().list(**kwargs))
        assert (status, detail["reason"]) == expected
    other = add_shared_drive(gdrive.sandbox.store, "Elsewhere", "someone@example.com").id
    status, detail = refused(drive.files().list(corpora="drive", driveId=other, includeItemsFromAllDrives=True,
                                                supportsAllDrives=True))
    assert (status, detail["reason"], detail["location"]) == (404, "notFound", "driveId")

    status, detail = refused(drive.drives().delete(driveId=team))
    assert (status, detail["reason"]) == (403, "cannotDeleteResourceWithChildren")
    for item in (f["id"], sub["id"]):
        drive.files().update(fileId=item, body={"trashed": True}, supportsAllDrives=True).execute()
    assert drive.drives().delete(driveId=team).execute() == ""
    status, _ = refused(drive.drives().get(driveId=team))
    assert status == 404
    assert not ids(includeItemsFromAllDrives=True, supportsAllDrives=True) & in_drive


def test_each_shared_drive_has_its_own_change_log(drive, gdrive):
    """Changes to shared drive items are in that drive's change log (``driveId``, with ``supportsAllDrives``)
    and in the user's only with ``includeItemsFromAllDrives`` (``test_client_drive_changes.py``); a token of
    one log is refused by another; a file moved out of the drive is reported removed in the drive's log and
    once, where it is now, in the user's."""
    team = _new_drive(drive, "Audit", "log-1")["id"]
    user_start = drive.changes().getStartPageToken().execute()["startPageToken"]
    team_start = drive.changes().getStartPageToken(driveId=team, supportsAllDrives=True).execute()["startPageToken"]
    f = drive.files().create(body={"name": "sox.txt", "parents": [team]}, media_body=MediaInMemoryUpload(b"sox"),
                             supportsAllDrives=True, fields="id").execute()["id"]
    mine = drive.files().create(body={"name": "mine.txt", "parents": [gdrive.evidence_folder]}).execute()["id"]
    fields = "newStartPageToken,changes(fileId,removed,driveId,changeType,file(id,driveId))"

    def changes(token: str, **kwargs) -> tuple[list[dict], str]:
        got = drive.changes().list(pageToken=token, fields=fields, includeItemsFromAllDrives=True,
                                   supportsAllDrives=True, **kwargs).execute()
        return got["changes"], got["newStartPageToken"]

    user, user_next = changes(user_start)
    assert [c.get("fileId") for c in user if c["changeType"] == "file"] == [f, mine]
    plain = drive.changes().list(pageToken=user_start, fields=fields).execute()["changes"]
    assert [c["fileId"] for c in plain] == [mine]  # without the flags, no shared drive item
    team_changes, team_next = changes(team_start, driveId=team)
    assert team_changes == [{"fileId": f, "removed": False, "driveId": team, "changeType": "file",
                             "file": {"id": f, "driveId": team}}]
    for token, kwargs in ((user_start, {"driveId": team}), (team_start, {})):
        status, detail = refused(drive.changes().list(pageToken=token, supportsAllDrives=True, **kwargs))
        assert (status, detail["reason"], detail["location"]) == (400, "invalid", "pageToken")
    status, detail = refused(drive.changes().list(pageToken=team_start, driveId=team))
    assert status == 403 and detail["location"] == "supportsAllDrives"
    other = add_shared_drive(gdrive.sandbox.store, "Elsewhere", "someone@example.com").id
    for call in (drive.changes().getStartPageToken(driveId=other, supportsAllDrives=True),
                 drive.changes().list(pageToken=team_start, driveId=other, supportsAllDrives=True)):
        status, detail = refused(call)
        assert (status, detail["reason"], detail["location"]) == (404, "notFound", "driveId")

    drive.files().update(fileId=f, addParents=gdrive.evidence_folder, removeParents=team,
                         supportsAllDrives=True).execute()
    assert [(c["fileId"], c["removed"]) for c in changes(team_next, driveId=team)[0]] == [(f, True)]
    assert [(c["fileId"], c["removed"]) for c in changes(user_next)[0]] == [(f, False)]
