"""Round 30: Drive v3 through google-api-python-client unchanged, where the emulator took what Drive refuses:

- a custom property (appProperties / properties) over 124 bytes of key and value, or more than 30 of a kind on a
  file: stored (Drive: 400), so a client that did not cut a long file name into its appProperties passed here only;
- a resumable chunk whose Content-Range total differs from the session's, ends past it, or does not match the bytes
  sent: the emulator truncated or took the new total (Drive: 400), and nothing refused is kept."""

from __future__ import annotations

import requests
from googleapiclient.http import MediaInMemoryUpload

from tests.sandbox.gdrive.calls import raw, refused
from tests.sandbox.gdrive.test_client_probe import drive

__all__ = ["drive"]


def test_property_size_and_count_limits(drive, gdrive):
    files = drive.files()
    body = {"name": "p.txt", "parents": [gdrive.evidence_folder]}
    key = "k" * 10
    ok = files.create(body={**body, "appProperties": {key: "v" * 114}}, fields="id,appProperties").execute()
    assert ok["appProperties"] == {key: "v" * 114}
    status, detail = refused(files.create(body={**body, "appProperties": {key: "v" * 115}}))
    assert (status, detail["reason"], detail["location"]) == (400, "invalid", "file.appProperties")
    # bytes, not characters: 57 two-byte characters and a ten-byte key is 124, one more is 126
    assert refused(files.create(body={**body, "properties": {key: "é" * 58}}))[0] == 400
    files.create(body={**body, "properties": {key: "é" * 57}}).execute()
    # through a multipart upload and a resumable session's first request too
    media = MediaInMemoryUpload(b"x", mimetype="text/plain")
    assert refused(files.create(body={**body, "appProperties": {key: "v" * 200}}, media_body=media))[0] == 400
    start = raw(gdrive, "POST", "/upload/drive/v3/files?uploadType=resumable",
                json={**body, "appProperties": {key: "v" * 200}}, headers={"X-Upload-Content-Length": "1"})
    assert start.status_code == 400 and "Location" not in start.headers
    # 30 of a kind at most, counted after an update merges them (null removes one)
    thirty = {f"p{n}": "v" for n in range(30)}
    made = files.create(body={**body, "appProperties": thirty}, fields="id").execute()
    assert refused(files.update(fileId=made["id"], body={"appProperties": {"p30": "v"}}))[0] == 400
    swapped = files.update(fileId=made["id"], body={"appProperties": {"p0": None, "p30": "v"}},
                           fields="appProperties").execute()
    assert len(swapped["appProperties"]) == 30 and "p0" not in swapped["appProperties"]
    # a too-long value in an update leaves the file as it was
    assert refused(files.update(fileId=ok["id"], body={"appProperties": {key: "w" * 200}}))[0] == 400
    assert files.get(fileId=ok["id"], fields="appProperties").execute()["appProperties"] == {key: "v" * 114}


def test_resumable_chunk_ranges_are_checked_against_the_session(gdrive):
    start = raw(gdrive, "POST", "/upload/drive/v3/files?uploadType=resumable", json={
        "name": "ranges.bin", "parents": [gdrive.evidence_folder]}, headers={"X-Upload-Content-Length": "1000"})
    session, put = start.headers["Location"], dict(verify=gdrive.sandbox.ca_bundle, timeout=10)
    first = requests.put(session, data=b"a" * 400, headers={"Content-Range": "bytes 0-399/1000"}, **put)
    assert (first.status_code, first.headers["Range"]) == (308, "bytes=0-399")
    for span, data in (("bytes 400-499/2000", b"b" * 100),  # another total
                       ("bytes 400-1099/1000", b"b" * 700),  # past the total
                       ("bytes 400-599/1000", b"b" * 100)):  # more bytes named than sent
        answer = requests.put(session, data=data, headers={"Content-Range": span}, **put)
        assert answer.status_code == 400, span
        assert answer.json()["error"]["errors"][0]["reason"] == "badRequest"
    status = requests.put(session, data=b"", headers={"Content-Range": "bytes */1000"}, **put)
    assert (status.status_code, status.headers["Range"]) == (308, "bytes=0-399")  # nothing refused was kept
    done = requests.put(session, data=b"c" * 600, headers={"Content-Range": "bytes 400-999/1000"}, **put)
    assert done.status_code == 200
    token = gdrive.sandbox.tokens.issue(gdrive.client_email, gdrive.client_email, "")["access_token"]
    content = requests.get(f"{gdrive.sandbox.url}/drive/v3/files/{done.json()['id']}?alt=media",
                           headers={"Authorization": f"Bearer {token}"}, **put).content
    assert content == b"a" * 400 + b"c" * 600



def test_batch_refuses_downloads_and_runs_the_other_calls(drive, gdrive):
    """Drive batches no media, uploads or downloads: googleapiclient's get_media / export in a BatchHttpRequest get
    a 400 of their own (the emulator served the bytes), and the batch's other calls run."""
    files = drive.files()
    made = files.create(body={"name": "b.txt", "parents": [gdrive.evidence_folder]},
                        media_body=MediaInMemoryUpload(b"bytes", mimetype="text/plain"), fields="id").execute()
    doc = files.create(body={"name": "Doc", "mimeType": "application/vnd.google-apps.document",
                             "parents": [gdrive.evidence_folder]}, fields="id").execute()
    answers: dict[str, tuple] = {}
    batch = drive.new_batch_http_request(
        callback=lambda rid, resp, exc: answers.update({rid: (resp, None if exc is None else exc.resp.status)}))
    batch._batch_uri = gdrive.sandbox.url + "/batch/drive/v3"
    batch.add(files.get_media(fileId=made["id"]), request_id="media")
    batch.add(files.export(fileId=doc["id"], mimeType="text/plain"), request_id="export")
    batch.add(files.get(fileId=made["id"], fields="id,name"), request_id="meta")
    batch.execute()
    assert answers["media"] == (None, 400) and answers["export"] == (None, 400)
    assert answers["meta"] == ({"id": made["id"], "name": "b.txt"}, None)
    assert files.get_media(fileId=made["id"]).execute() == b"bytes"  # outside a batch, as ever
