"""Round 34: changes.list through google-api-python-client unchanged, without ``fields``: a shared drive's change
(made, then deleted) carried no ``driveId`` nor ``drive``, so a sync could not tell which drive had gone; and a
sub-selection of a change's ``drive`` was not checked (``drive(nosuch)`` answered 200, where ``file(nosuch)`` is
400 invalidParameter)."""

from __future__ import annotations

from tests.sandbox.gdrive.calls import refused
from tests.sandbox.gdrive.test_client_probe import drive

__all__ = ["drive"]


def test_drive_changes_name_their_drive_by_default(drive):
    token = drive.changes().getStartPageToken().execute()["startPageToken"]
    made = drive.drives().create(requestId="r34-drive-changes", body={"name": "Temp evidence"}).execute()
    listed = drive.changes().list(pageToken=token, supportsAllDrives=True, includeItemsFromAllDrives=True).execute()
    ours = [c for c in listed["changes"] if c.get("driveId") == made["id"]]
    assert [(c["changeType"], c["removed"], c["drive"]) for c in ours] == [
        ("drive", False, {"kind": "drive#drive", "id": made["id"], "name": "Temp evidence"})]
    drive.drives().delete(driveId=made["id"]).execute()
    later = drive.changes().list(pageToken=listed["newStartPageToken"], supportsAllDrives=True,
                                 includeItemsFromAllDrives=True).execute()
    assert [(c["changeType"], c.get("driveId"), c["removed"], "drive" in c) for c in later["changes"]] == [
        ("drive", made["id"], True, False)]
    status, detail = refused(drive.changes().list(pageToken=token, fields="changes(drive(nosuch))"))
    assert (status, detail["reason"], detail["location"]) == (400, "invalidParameter", "fields")
