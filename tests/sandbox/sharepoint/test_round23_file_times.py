"""Probe round 23: ``fileSystemInfo`` set by a client (msgraph-sdk's ``DriveItem(file_system_info=…)`` PATCH, and
``item.fileSystemInfo`` in ``createUploadSession``) was ignored: the write's own time came back in
``lastModifiedDateTime``, ``fileSystemInfo`` and the list item's ``Modified``; a bad value was not refused."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import requests

from tests.sandbox.sharepoint.test_client_probe import _client, graph
from tests.sandbox.sharepoint.test_rest_api import _ctx, _token

__all__ = ["graph"]


def test_patch_file_system_info_over_http_and_through_office365(graph):
    w, s, base = graph
    item = s.put(f"{base}/root:/t/a.txt:/content", data=b"A").json()
    r = s.patch(f"{base}/items/{item['id']}", json={"fileSystemInfo": {
        "createdDateTime": "2019-05-01T10:00:00Z", "lastModifiedDateTime": "2020-01-02T03:04:05+01:00"}})
    assert r.status_code == 200
    got = r.json()
    assert got["createdDateTime"].startswith("2019-05-01T10:00:00") and got["lastModifiedDateTime"].startswith(
        "2020-01-02T02:04:05")
    assert got["fileSystemInfo"] == {"createdDateTime": got["createdDateTime"],
                                     "lastModifiedDateTime": got["lastModifiedDateTime"]}
    fields = s.get(f"{base}/items/{item['id']}/listItem/fields").json()
    assert fields["Modified"].startswith("2020-01-02T02:04:05") and fields["Created"].startswith("2019-05-01")
    ctx = _ctx(w, _token(w, "https://contoso.sharepoint.com/.default"))
    f = ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/t/a.txt").get().execute_query()
    assert f.properties["TimeLastModified"] == datetime(2020, 1, 2, 2, 4, 5, tzinfo=UTC)
    for bad in ({"lastModifiedDateTime": "yesterday"}, {"createdDateTime": "2020-01-01T00:00:00"}, "2020"):
        r = s.patch(f"{base}/items/{item['id']}", json={"fileSystemInfo": bad})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalidRequest", bad
    assert s.get(f"{base}/items/{item['id']}").json()["lastModifiedDateTime"].startswith("2020-01-02")
    # a later write without fileSystemInfo is stamped with its own time again
    assert s.put(f"{base}/items/{item['id']}/content", data=b"B").json()["lastModifiedDateTime"] > "2026"


def test_upload_session_file_system_info(graph):
    _, s, base = graph
    session = s.post(f"{base}/root:/t/big.bin:/createUploadSession", json={"item": {
        "@microsoft.graph.conflictBehavior": "replace",
        "fileSystemInfo": {"lastModifiedDateTime": "2018-03-03T00:00:00Z"}}}).json()
    half = requests.put(session["uploadUrl"], data=b"xy", headers={"Content-Range": "bytes 0-1/3"}, timeout=10)
    assert half.status_code == 202
    done = requests.put(session["uploadUrl"], data=b"z", headers={"Content-Range": "bytes 2-2/3"}, timeout=10)
    assert done.status_code == 201 and done.json()["lastModifiedDateTime"].startswith("2018-03-03T00:00:00")
    r = s.post(f"{base}/root:/t/bad.bin:/createUploadSession",
               json={"item": {"fileSystemInfo": {"lastModifiedDateTime": "soon"}}})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalidRequest"


def test_file_system_info_through_msgraph(graph):
    from msgraph.generated.models.drive_item import DriveItem
    from msgraph.generated.models.file_system_info import FileSystemInfo

    w, s, base = graph
    item = s.put(f"{base}/root:/t/m.txt:/content", data=b"M").json()
    when = datetime(2021, 6, 1, 12, 30, tzinfo=UTC)

    async def run():
        client, _, credential = _client(w, w.client_secret)
        with credential:
            ref = client.drives.by_drive_id(w.library_id).items.by_drive_item_id(item["id"])
            await ref.patch(DriveItem(file_system_info=FileSystemInfo(last_modified_date_time=when)))
            return await ref.get()

    got = asyncio.run(run())
    assert got.last_modified_date_time == when and got.file_system_info.last_modified_date_time == when
    assert got.created_date_time != when  # only what was sent changes
