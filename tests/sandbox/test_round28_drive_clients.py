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


def test_resumable_session_uri_needs_no_authorization(drive, gdrive):
    """Drive's guide sends a resumable session's PUTs without ``Authorization`` (the session URI is the
    credential: a server starts the session, a browser sends the bytes); the emulator refused them with 403."""
    import requests

    start = raw(gdrive, "POST", "/upload/drive/v3/files?uploadType=resumable", json={
        "name": "browser.bin", "parents": [gdrive.evidence_folder]}, headers={
        "X-Upload-Content-Type": "application/octet-stream", "X-Upload-Content-Length": "600000"})
    assert start.status_code == 200
    session = start.headers["Location"]
    put = dict(verify=gdrive.sandbox.ca_bundle, timeout=10, allow_redirects=False)
    first = requests.put(session, data=b"a" * 262144, headers={"Content-Range": "bytes 0-262143/600000"}, **put)
    assert (first.status_code, first.headers["Range"]) == (308, "bytes=0-262143")
    status = requests.put(session, data=b"", headers={"Content-Range": "bytes */600000"}, **put)
    assert (status.status_code, status.headers["Range"]) == (308, "bytes=0-262143")
    done = requests.put(session, data=b"b" * (600000 - 262144), headers={
        "Content-Range": "bytes 262144-599999/600000"}, **put)
    assert done.status_code == 200 and done.json()["name"] == "browser.bin"
    content = drive.files().get_media(fileId=done.json()["id"]).execute()
    assert content == b"a" * 262144 + b"b" * (600000 - 262144)
    # a session URI Drive never issued, without a credential, is still the anonymous caller's 403
    unknown = requests.put(session.replace("upload_id=", "upload_id=x"), data=b"", **put)
    assert unknown.status_code == 403 and unknown.json()["error"]["errors"][0]["reason"] == "forbidden"
    # a wrong credential on a good session URI is still 401
    bad = requests.put(session, data=b"", headers={"Authorization": "Bearer nope"}, **put)
    assert bad.status_code == 401
