"""permissions.create ``moveToNewOwnersRoot`` through google-api-python-client: Drive's reference moves a
file whose ownership is transferred to the new owner's My Drive root, all prior parents removed, when it
is true, and leaves the parents when it is false; the emulator ignored it."""

from __future__ import annotations

from googleapiclient.http import MediaInMemoryUpload

from tests.sandbox.gdrive.test_client_probe import drive
from tests.sandbox.gdrive.test_client_probe_round2 import _as

__all__ = ["drive"]
FULL = ["https://www.googleapis.com/auth/drive"]
NEW_OWNER = "amelia@example.com"


def test_move_to_new_owners_root(drive, gdrive):
    gdrive.sandbox.accounts.delegate(gdrive.client_email)
    files, perms = drive.files(), drive.permissions()
    home = gdrive.evidence_folder

    def made(name: str) -> str:
        return files.create(body={"name": name, "parents": [home]}, fields="id",
                            media_body=MediaInMemoryUpload(b"x", mimetype="text/plain")).execute()["id"]

    moved, kept = made("moved.txt"), made("kept.txt")
    for file_id, move in ((moved, True), (kept, False)):
        perms.create(fileId=file_id, transferOwnership=True, moveToNewOwnersRoot=move,
                     body={"type": "user", "role": "owner", "emailAddress": NEW_OWNER}).execute()
    amelia = _as(gdrive, FULL, NEW_OWNER).files()
    root = amelia.get(fileId="root", fields="id").execute()["id"]
    assert amelia.get(fileId=moved, fields="parents,owners(emailAddress)").execute() == {
        "parents": [root], "owners": [{"emailAddress": NEW_OWNER}]}
    assert files.get(fileId=kept, fields="parents").execute() == {"parents": [home]}
    in_home = {f["name"] for f in files.list(q=f"'{home}' in parents", fields="files(name)").execute()["files"]}
    assert in_home == {"kept.txt"}
    mine = {f["name"] for f in amelia.list(q="'root' in parents", fields="files(name)").execute()["files"]}
    assert mine == {"moved.txt"}
