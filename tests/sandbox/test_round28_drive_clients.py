"""Round 28: Drive v3 calls through google-api-python-client unchanged: a create retried with the id it got from
files.generateIds is Drive's 409 (reason ``duplicate``), so a retry can tell "already made" from a failure."""

from __future__ import annotations

from googleapiclient.http import MediaInMemoryUpload

from tests.sandbox.gdrive.calls import raw, refused
from tests.sandbox.gdrive.test_client_probe import drive

__all__ = ["drive"]


def test_reused_generated_id_is_a_conflict(drive, gdrive):
    files = drive.files()
    wanted, spare = files.generateIds(count=2, fields="ids").execute()["ids"]
    body = {"id": wanted, "name": "retried.txt", "parents": [gdrive.evidence_folder]}
    made = files.create(body=body, media_body=MediaInMemoryUpload(b"once", mimetype="text/plain"),
                        fields="id").execute()
    assert made == {"id": wanted}
    status, detail = refused(files.create(body=body, media_body=MediaInMemoryUpload(b"twice", mimetype="text/plain")))
    assert (status, detail["reason"], detail["domain"]) == (409, "duplicate", "global")
    # the whole envelope, as Drive sends it
    r = raw(gdrive, "POST", "/drive/v3/files", json={"id": wanted, "name": "again",
                                                      "parents": [gdrive.evidence_folder]})
    error = r.json()["error"]
    assert (r.status_code, error["code"], error["status"], error["errors"][0]["reason"]) == (
        409, 409, "ALREADY_EXISTS", "duplicate")
    # the file made first is untouched, and only once there
    assert files.get_media(fileId=wanted).execute() == b"once"
    listed = files.list(q=f"name = 'retried.txt' and '{gdrive.evidence_folder}' in parents",
                        fields="files(id)").execute()
    assert listed["files"] == [{"id": wanted}]
    # an id Drive never generated is still 400 invalid on file.id
    status, detail = refused(files.create(body={"id": "not" + spare, "name": "x.txt"}))
    assert (status, detail["reason"], detail["location"]) == (400, "invalid", "file.id")
    # files.copy takes a generated id too, and a used one is the same 409
    copy = files.copy(fileId=wanted, body={"id": spare, "name": "copy.txt"}, fields="id,name").execute()
    assert copy == {"id": spare, "name": "copy.txt"}
    status, detail = refused(files.copy(fileId=wanted, body={"id": spare}))
    assert (status, detail["reason"]) == (409, "duplicate")
