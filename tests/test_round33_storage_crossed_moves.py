"""Round 33 review: two crossed moves at once (folder A under B while B goes under A) both passed the emulators'
cycle check, which ran before the store's lock: the parent loop then hung every later request (a trash walk or an
ancestors walk without end). The check is made again under the lock, and the walks stop at a loop.

The race is made deterministic: the crossing move is applied the moment the first request has passed its check."""

from __future__ import annotations

from tests.sandbox.gdrive.calls import refused
from tests.sandbox.gdrive.test_client_probe import drive  # noqa: F401  (fixture)

FOLDER = "application/vnd.google-apps.folder"


def test_drive_crossed_moves_make_no_parent_loop(drive, gdrive, monkeypatch):  # noqa: F811
    from sandbox.gdrive.writes import Writes

    files, home = drive.files(), gdrive.evidence_folder
    a = files.create(body={"name": "A", "mimeType": FOLDER, "parents": [home]}).execute()["id"]
    b = files.create(body={"name": "B", "mimeType": FOLDER, "parents": [home]}).execute()["id"]
    store, original, crossed = gdrive.sandbox.store, Writes._within, []

    def within(self, folder, ancestor):
        answer = original(self, folder, ancestor)
        if not crossed:  # the other request: B moved under A, between this request's check and its write
            crossed.append(True)
            store.files[b].parents = [a]
        return answer

    monkeypatch.setattr(Writes, "_within", within)
    status, detail = refused(files.update(fileId=a, addParents=b, removeParents=home))
    assert (status, detail["reason"]) == (400, "invalid")  # before: 200, A under B under A
    monkeypatch.setattr(Writes, "_within", original)
    assert files.get(fileId=a, fields="parents").execute() == {"parents": [home]}
    files.update(fileId=a, body={"trashed": True}).execute()  # the trash walk ends
    assert files.get(fileId=b, fields="trashed").execute() == {"trashed": True}


def test_graph_ancestors_stop_at_a_loop():
    from sandbox.sharepoint.store import Item

    class Items:
        def __init__(self):
            self.items = {"a": Item.__new__(Item), "b": Item.__new__(Item)}
            self.items["a"].parent_id, self.items["b"].parent_id = "b", "a"

    from sandbox.sharepoint.store import GraphStore

    store = Items()
    assert GraphStore.ancestors(store, store.items["a"]) == ("b", "a")  # before: never returned


def test_a_file_keeps_one_anyone_permission(drive, gdrive):  # noqa: F811
    """Review: a link-only share then a discoverable one left both (`anyoneWithLink` and `anyone`), so deleting the
    link share left the file findable by anyone."""
    from googleapiclient.http import MediaInMemoryUpload

    perms = drive.permissions()
    made = drive.files().create(body={"name": "both.pdf", "parents": [gdrive.evidence_folder]}, fields="id",
                                media_body=MediaInMemoryUpload(b"%PDF", mimetype="application/pdf")).execute()["id"]
    perms.create(fileId=made, body={"type": "anyone", "role": "reader"}).execute()
    perms.create(fileId=made, body={"type": "anyone", "role": "reader", "allowFileDiscovery": True}).execute()
    listed = [p["id"] for p in perms.list(fileId=made, fields="permissions(id,type)").execute()["permissions"]
              if p["id"].startswith("anyone")]
    assert listed == ["anyone"], listed
    perms.delete(fileId=made, permissionId="anyone").execute()
    assert drive.files().get(fileId=made, fields="shared").execute() == {"shared": False}
