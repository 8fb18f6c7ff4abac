"""Attachment API with plain requests, and the Batch API envelope."""

from __future__ import annotations

import base64

import requests

AUTH = ("integration.user", "sandbox-password")


def test_seeded_attachments_list_get_file(servicenow_sandbox, sn_session):
    sb = servicenow_sandbox
    base = f"{sb.url}/api/now/attachment"
    listing = sn_session.get(base, params={"sysparm_query": "table_name=incident", "sysparm_limit": 5})
    assert listing.status_code == 200
    total = int(listing.headers["X-Total-Count"])
    assert total == len(sb.records("sys_attachment")) > 5 and len(listing.json()["result"]) == 5
    meta = listing.json()["result"][0]
    assert meta["download_link"] == f"{base}/{meta['sys_id']}/file"
    one = sn_session.get(f"{sb.url}/api/now/v1/attachment/{meta['sys_id']}").json()["result"]
    assert one == meta
    f = sn_session.get(meta["download_link"])
    assert f.status_code == 200 and f.headers["Content-Type"] == meta["content_type"]
    assert len(f.content) == int(meta["size_bytes"]) and f.content == sb.attachment_content(meta["sys_id"])
    by_record = sn_session.get(base, params={"sysparm_query": f"table_sys_id={meta['table_sys_id']}"})
    assert meta["sys_id"] in {x["sys_id"] for x in by_record.json()["result"]}


def test_upload_raw_multipart_and_delete(make_servicenow_sandbox, sn_session):
    sb = make_servicenow_sandbox(size=20)
    inc = sb.records("incident")[0]["sys_id"]
    raw = sn_session.post(f"{sb.url}/api/now/attachment/file",
                          params={"table_name": "incident", "table_sys_id": inc, "file_name": "a.pdf"},
                          data=b"%PDF-1.4 test", headers={"Content-Type": "application/pdf"})
    assert raw.status_code == 201
    meta = raw.json()["result"]
    assert raw.headers["Location"] == f"{sb.url}/api/now/attachment/{meta['sys_id']}"
    assert meta["content_type"] == "application/pdf" and meta["size_bytes"] == "13"
    multi = sn_session.post(f"{sb.url}/api/now/attachment/upload",
                            data={"table_name": "incident", "table_sys_id": inc},
                            files={"uploadFile": ("notes.txt", b"multipart body", "text/plain")})
    assert multi.status_code == 201, multi.text
    mid = multi.json()["result"]["sys_id"]
    assert sn_session.get(f"{sb.url}/api/now/attachment/{mid}/file").content == b"multipart body"
    assert sn_session.delete(f"{sb.url}/api/now/attachment/{mid}").status_code == 204
    assert sn_session.get(f"{sb.url}/api/now/attachment/{mid}").status_code == 404
    missing = sn_session.post(f"{sb.url}/api/now/attachment/file", params={"table_name": "incident",
                                                                           "table_sys_id": "0" * 32,
                                                                           "file_name": "x"}, data=b"x")
    assert missing.status_code == 404  # the Attachment API reference: the record does not exist


def test_batch_envelope(servicenow_sandbox):
    sb = servicenow_sandbox
    rec = sb.records("incident")[0]
    body = {"batch_request_id": 17, "rest_requests": [
        {"id": "a", "method": "GET", "url": f"/api/now/table/incident/{rec['sys_id']}?sysparm_fields=number",
         "headers": [{"name": "Accept", "value": "application/json"}]},
        {"id": "b", "method": "GET", "url": "/api/now/table/incident?sysparm_limit=2", "headers": []},
        {"id": "c", "method": "GET", "url": f"/api/now/table/incident/{'0' * 32}", "headers": []},
    ]}
    r = requests.post(f"{sb.url}/api/now/v1/batch", json=body, auth=AUTH)
    assert r.status_code == 200
    data = r.json()
    assert data["batch_request_id"] == "17" and data["unserviced_requests"] == []
    by_id = {x["id"]: x for x in data["serviced_requests"]}
    assert by_id["a"]["status_code"] == 200
    assert base64.b64decode(by_id["a"]["body"]) == f'{{"result":{{"number":"{rec["number"]}"}}}}'.encode()
    headers = {h["name"]: h["value"] for h in by_id["b"]["headers"]}
    assert headers["X-Total-Count"] == "200"
    assert by_id["c"]["status_code"] == 404
    assert requests.post(f"{sb.url}/api/now/v1/batch", json=body).status_code == 401
