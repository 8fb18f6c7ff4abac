"""The user's change log and shared drives, through google-api-python-client: with
``includeItemsFromAllDrives`` and ``supportsAllDrives`` it carries the changes to the items of the shared
drives the caller is a member of (``driveId`` on each) and changes of the drives themselves
(``changeType: "drive"``); without them neither; a non-member sees none; losing membership is a removed
drive change and takes the drive's items out; paging and ``changes.watch`` follow the same rules."""

from __future__ import annotations

from googleapiclient.http import MediaInMemoryUpload

from tests.sandbox.gdrive.calls import refused
from tests.sandbox.gdrive.test_client_probe import drive
from tests.sandbox.gdrive.test_client_probe_round2 import _as
from tests.sandbox.gdrive.test_client_watch import _settled, receiver

__all__ = ["drive", "receiver"]
FULL = ["https://www.googleapis.com/auth/drive"]
ALL = {"includeItemsFromAllDrives": True, "supportsAllDrives": True}
FIELDS = "nextPageToken,newStartPageToken,changes(changeType,fileId,driveId,removed,time,file(id,driveId,trashed)," \
         "drive(id,name))"


def _read(client, token: str, page_size: int = 100, **kwargs) -> tuple[list[dict], str]:
    """Every change from ``token`` on, page by page; the newStartPageToken."""
    out = []
    while True:
        got = client.changes().list(pageToken=token, pageSize=page_size, fields=FIELDS, **kwargs).execute()
        out += got["changes"]
        if "newStartPageToken" in got:
            assert "nextPageToken" not in got
            return out, got["newStartPageToken"]
        token = got["nextPageToken"]


def _start(client) -> str:
    return client.changes().getStartPageToken().execute()["startPageToken"]


def _kinds(changes: list[dict]) -> list[tuple]:
    return [(c["changeType"], c.get("fileId") or c.get("driveId"), c["removed"]) for c in changes]


def test_shared_drive_items_in_the_user_log_only_with_the_flags(drive, gdrive):
    start = _start(drive)
    team = drive.drives().create(requestId="c-1", body={"name": "Audit"}, fields="id").execute()["id"]
    f = drive.files().create(body={"name": "sox.txt", "parents": [team]}, media_body=MediaInMemoryUpload(b"v1"),
                             supportsAllDrives=True, fields="id").execute()["id"]
    drive.files().update(fileId=f, media_body=MediaInMemoryUpload(b"v2"), supportsAllDrives=True).execute()
    drive.files().update(fileId=f, body={"trashed": True}, supportsAllDrives=True).execute()
    mine = drive.files().create(body={"name": "mine.txt", "parents": [gdrive.evidence_folder]}).execute()["id"]

    changes, new_start = _read(drive, start, **ALL)
    # one entry per file and drive, its latest state (created, updated and trashed: one change)
    assert _kinds(changes) == [("drive", team, False), ("file", f, False), ("file", mine, False)]
    assert changes[0]["drive"] == {"id": team, "name": "Audit"} and "fileId" not in changes[0]
    assert changes[1]["driveId"] == team and changes[1]["file"] == {"id": f, "driveId": team, "trashed": True}
    assert "driveId" not in changes[2] and changes[2]["file"]["trashed"] is False
    assert all(c["time"].endswith("Z") for c in changes)

    assert _read(drive, start, page_size=2, **ALL) == (changes, new_start)  # the same, two by two
    assert _read(drive, new_start, **ALL) == ([], new_start)
    plain, plain_start = _read(drive, start)  # without the flags: My Drive only
    assert _kinds(plain) == [("file", mine, False)] and plain_start == new_start
    assert _kinds(_read(drive, start, supportsAllDrives=True)[0]) == [("file", mine, False)]
    status, detail = refused(drive.changes().list(pageToken=start, includeItemsFromAllDrives=True))
    assert (status, detail["location"]) == (403, "supportsAllDrives")
    root = drive.files().create(body={"name": "in-my-drive.txt"}, fields="id").execute()["id"]
    only = drive.changes().list(pageToken=start, restrictToMyDrive=True, fields="changes(fileId)", **ALL).execute()
    assert only == {"changes": [{"fileId": root}]}  # not the drive, its items, nor the shared folder's file

    team_start = drive.changes().getStartPageToken(driveId=team, supportsAllDrives=True).execute()["startPageToken"]
    drive.files().update(fileId=f, body={"name": "sox-v2.txt"}, supportsAllDrives=True).execute()
    assert _kinds(_read(drive, team_start, driveId=team, **ALL)[0]) == [("file", f, False)]  # the drive's log
    assert _kinds(_read(drive, new_start, **ALL)[0]) == [("file", root, False), ("file", f, False)]


def test_drive_created_renamed_deleted(drive, gdrive):
    start = _start(drive)
    team = drive.drives().create(requestId="c-2", body={"name": "Evidence"}, fields="id").execute()["id"]
    drive.drives().update(driveId=team, body={"name": "Evidence FY26"}).execute()
    changes, after = _read(drive, start, **ALL)
    assert _kinds(changes) == [("drive", team, False)]  # created and renamed: one entry, the drive as it is
    assert [c["drive"]["name"] for c in changes] == ["Evidence FY26"]
    assert _read(drive, start)[0] == []  # not without the flags

    f = drive.files().create(body={"name": "old.txt", "parents": [team]}, supportsAllDrives=True,
                             fields="id").execute()["id"]
    drive.files().update(fileId=f, body={"trashed": True}, supportsAllDrives=True).execute()
    drive.drives().delete(driveId=team).execute()
    changes, _ = _read(drive, after, **ALL)
    assert _kinds(changes) == [("drive", team, True)]  # its items went with it: only the drive's removal
    assert "drive" not in changes[0]
    assert _kinds(_read(drive, start, **ALL)[0]) == [("drive", team, True)]  # gone from the start too
    assert _kinds(drive.changes().list(pageToken=after, includeRemoved=False, fields=FIELDS, **ALL
                                       ).execute()["changes"]) == []


def test_only_members_see_a_drive_and_losing_access_removes_it(drive, gdrive):
    gdrive.sandbox.accounts.delegate(gdrive.client_email)
    outsider = _as(gdrive, FULL, "outsider@example.com")
    theirs, ours = _start(outsider), _start(drive)
    team = drive.drives().create(requestId="c-3", body={"name": "Restricted"}, fields="id").execute()["id"]
    f = drive.files().create(body={"name": "r.txt", "parents": [team]}, supportsAllDrives=True,
                             fields="id").execute()["id"]
    assert _read(outsider, theirs, **ALL)[0] == []  # not a member: nothing of the drive

    member = drive.permissions().create(fileId=team, supportsAllDrives=True, fields="id", body={
        "type": "user", "role": "reader", "emailAddress": "outsider@example.com"}).execute()
    drive.files().update(fileId=f, body={"name": "r2.txt"}, supportsAllDrives=True).execute()
    changes, joined = _read(outsider, theirs, **ALL)
    assert _kinds(changes) == [("drive", team, False), ("file", f, False)]  # from joining on: not r.txt's creation
    assert changes[0]["drive"] == {"id": team, "name": "Restricted"}

    drive.permissions().delete(fileId=team, permissionId=member["id"], supportsAllDrives=True).execute()
    drive.files().update(fileId=f, body={"name": "r3.txt"}, supportsAllDrives=True).execute()
    assert _kinds(_read(outsider, joined, **ALL)[0]) == [("drive", team, True)]
    assert _kinds(_read(outsider, theirs, **ALL)[0]) == [("drive", team, True)]  # its items are out
    assert refused(outsider.changes().getStartPageToken(driveId=team, supportsAllDrives=True))[0] == 404
    # the organizer's log is unchanged by others' membership (those changes are for the member only)
    assert [k for k in _kinds(_read(drive, ours, **ALL)[0]) if k[0] == "drive"] == [("drive", team, False)]


def test_changes_watch_fires_for_shared_drive_changes_with_the_flags(drive, gdrive, receiver):
    team = drive.drives().create(requestId="c-4", body={"name": "Watched"}, fields="id").execute()["id"]
    token = _start(drive)
    with_flags = drive.changes().watch(pageToken=token, body={"id": "all-drives", "type": "web_hook",
                                                              "address": receiver.url}, **ALL).execute()
    assert "includeItemsFromAllDrives=true" in with_flags["resourceUri"]
    drive.changes().watch(pageToken=token, body={"id": "my-drive", "type": "web_hook", "address": receiver.url}
                          ).execute()
    gdrive.sandbox.accounts.delegate(gdrive.client_email)
    outsider = _as(gdrive, FULL, "outsider@example.com")
    outsider.changes().watch(pageToken=_start(outsider), body={"id": "outsider", "type": "web_hook",
                                                               "address": receiver.url}, **ALL).execute()
    _settled(gdrive)
    drive.files().create(body={"name": "w.txt", "parents": [team]}, supportsAllDrives=True).execute()
    _settled(gdrive)
    drive.drives().update(driveId=team, body={"name": "Watched FY26"}).execute()
    _settled(gdrive)
    assert receiver.states("all-drives") == ["sync", "change", "change"]
    assert receiver.states("my-drive") == ["sync"] and receiver.states("outsider") == ["sync"]
    drive.files().create(body={"name": "m.txt", "parents": [gdrive.evidence_folder]}).execute()
    _settled(gdrive)
    assert receiver.states("my-drive") == ["sync", "change"] and len(receiver.states("all-drives")) == 4
    assert refused(drive.changes().watch(pageToken=token, includeItemsFromAllDrives=True, body={
        "id": "bad", "type": "web_hook", "address": receiver.url}))[0] == 403
