"""A parent that is not a folder, through google-api-python-client: files.create (metadata and upload),
files.copy and files.update's addParents naming a Doc, a PDF or a shortcut were accepted and made a file
whose parent is a file; Drive answers 400 invalid "The specified parent is not a folder."."""

from __future__ import annotations

from googleapiclient.http import MediaInMemoryUpload

from tests.sandbox.gdrive.calls import refused
from tests.sandbox.gdrive.test_client_probe import drive

__all__ = ["drive"]
NOT_A_FOLDER = (400, "invalid", "The specified parent is not a folder.")


def _why(call) -> tuple[int, str, str]:
    status, detail = refused(call)
    return status, detail["reason"], detail["message"]


def test_a_parent_must_be_a_folder(drive, gdrive):
    files = drive.files()
    home = gdrive.evidence_folder
    doc = files.create(body={"name": "Policy", "mimeType": "application/vnd.google-apps.document",
                             "parents": [home]}, fields="id").execute()["id"]
    pdf = files.create(body={"name": "r.pdf", "parents": [home]}, fields="id",
                       media_body=MediaInMemoryUpload(b"%PDF-1.4", mimetype="application/pdf")).execute()["id"]
    sub = files.create(body={"name": "Q1", "mimeType": "application/vnd.google-apps.folder", "parents": [home]},
                       fields="id").execute()["id"]
    link = files.create(body={"name": "Q1 link", "mimeType": "application/vnd.google-apps.shortcut",
                              "shortcutDetails": {"targetId": sub}, "parents": [home]}, fields="id").execute()["id"]
    for parent in (doc, pdf, link):
        assert _why(files.create(body={"name": "x.txt", "parents": [parent]})) == NOT_A_FOLDER
        assert _why(files.create(body={"name": "x.txt", "parents": [parent]},
                                 media_body=MediaInMemoryUpload(b"x", mimetype="text/plain"))) == NOT_A_FOLDER
        assert _why(files.copy(fileId=pdf, body={"parents": [parent]})) == NOT_A_FOLDER
        assert _why(files.update(fileId=pdf, addParents=parent, removeParents=home)) == NOT_A_FOLDER
    assert files.get(fileId=pdf, fields="parents").execute() == {"parents": [home]}  # not moved
    names = {f["name"] for f in files.list(q=f"'{home}' in parents", fields="files(name)").execute()["files"]}
    assert names == {"Policy", "r.pdf", "Q1", "Q1 link"}
    moved = files.update(fileId=pdf, addParents=sub, removeParents=home, fields="parents").execute()
    assert moved == {"parents": [sub]}  # a folder still takes it
