"""Who may trash through google-api-python-client: a writer's files.update ``trashed=true`` on a file it
does not own went through although the file's own ``capabilities.canTrash`` said false; Drive lets only
the owner (in a shared drive an organizer or file organizer) trash or restore."""

from __future__ import annotations

from sandbox.gdrive.store import DriveFile
from tests.sandbox.gdrive.calls import refused
from tests.sandbox.gdrive.test_client_probe import drive

__all__ = ["drive"]


def test_only_who_may_trash_trashes(drive, gdrive):
    files, store = drive.files(), gdrive.sandbox.store
    theirs = store.add(DriveFile(store.new_id(), "theirs.txt", "text/plain", [gdrive.evidence_folder],
                                 "grc-admin@example.com", b"abc")).id
    caps = files.get(fileId=theirs, fields="capabilities(canEdit,canTrash,canUntrash)").execute()["capabilities"]
    assert caps == {"canEdit": True, "canTrash": False, "canUntrash": False}
    status, detail = refused(files.update(fileId=theirs, body={"trashed": True}))
    assert (status, detail["reason"]) == (403, "insufficientFilePermissions")
    assert files.get(fileId=theirs, fields="trashed").execute() == {"trashed": False}
    assert files.update(fileId=theirs, body={"name": "renamed.txt", "trashed": False},
                        fields="name,trashed").execute() == {"name": "renamed.txt", "trashed": False}  # no change

    mine = files.create(body={"name": "mine.txt", "parents": [gdrive.evidence_folder]}, fields="id").execute()["id"]
    assert files.update(fileId=mine, body={"trashed": True}, fields="trashed").execute() == {"trashed": True}
    store.files[theirs].trashed = True  # the owner trashed theirs: a writer cannot restore it either
    status, detail = refused(files.update(fileId=theirs, body={"trashed": False}))
    assert (status, detail["reason"]) == (403, "insufficientFilePermissions")

    shared = drive.drives().create(requestId="trash-1", body={"name": "Team"}, fields="id").execute()["id"]
    item = files.create(body={"name": "t.txt", "parents": [shared]}, supportsAllDrives=True, fields="id").execute()
    done = files.update(fileId=item["id"], body={"trashed": True}, supportsAllDrives=True, fields="trashed").execute()
    assert done == {"trashed": True}  # an organizer may
