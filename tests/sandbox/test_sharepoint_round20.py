"""Round 20 (Graph): ``children/$count`` and ``versions/$count`` (text/plain), ``versions/current``, and the
current version's ``content`` refused as Graph documents it, through msgraph-sdk and office365 unchanged."""

from __future__ import annotations

import pytest
import requests
from office365.runtime.client_request_exception import ClientRequestException

from tests.sandbox.sharepoint.test_client_probe import _token
from tests.sandbox.sharepoint.test_client_probe_more import _o365, _sdk


@pytest.fixture
def files(sharepoint):
    w = sharepoint
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + _token(w)
    base = f"{w.sandbox.graph_url}/drives/{w.library_id}"
    folder = s.post(f"{base}/root/children", json={"name": "counted", "folder": {}}).json()
    for n in range(3):
        assert s.put(f"{base}/items/{folder['id']}:/f{n}.txt:/content", data=b"x" * (n + 1)).status_code == 201
    item = s.put(f"{base}/root:/ver.txt:/content", data=b"old").json()
    s.put(f"{base}/root:/ver.txt:/content", data=b"newer")
    yield w, s, base, folder, item
    s.close()


def test_children_count_over_http(files):
    _, s, base, folder, item = files
    r = s.get(f"{base}/items/{folder['id']}/children/$count")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain") and r.text == "3"
    assert s.get(f"{base}/items/{folder['id']}/children/$count", params={"$filter": "name eq 'f1.txt'"}).text == "1"
    assert s.get(f"{base}/root:/counted:/children/$count").text == "3"
    assert s.get(f"{base}/items/{item['id']}/children/$count").text == "0"  # as its (empty) children list
    missing = s.get(f"{base}/items/NOPE/children/$count")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "itemNotFound"
    assert s.get(f"{base}/items/{folder['id']}/children/$count", params={"$skip": "1"}).status_code == 400


def test_counts_and_current_version_through_msgraph(files):
    w, _, _, folder, item = files

    async def run(client, drive):
        versions = drive.items.by_drive_item_id(item["id"]).versions
        return (await drive.items.by_drive_item_id(folder["id"]).children.count.get(), await versions.count.get(),
                await versions.by_drive_item_version_id("current").get(),
                await versions.by_drive_item_version_id("1.0").content.get())

    children, count, current, old = _sdk(w, run)
    assert (children, count, current.id, current.size, old) == (3, 2, "2.0", 5, b"old")


def test_current_version_content_is_refused(files, monkeypatch):
    from kiota_abstractions.api_error import APIError

    w, s, base, _, item = files
    for label in ("current", "2.0"):
        r = s.get(f"{base}/items/{item['id']}/versions/{label}/content", allow_redirects=False)
        assert r.status_code == 400 and r.json()["error"] == {
            "code": "invalidRequest", "message": "You cannot get the content of the current version.",
            "innerError": r.json()["error"]["innerError"]}
    assert s.get(f"{base}/items/{item['id']}/versions/1.0/content").content == b"old"

    async def run(client, drive):
        return await drive.items.by_drive_item_id(item["id"]).versions.by_drive_item_version_id("current") \
            .content.get()

    with pytest.raises(APIError) as info:
        _sdk(w, run)
    assert info.value.response_status_code == 400
    client = _o365(w, monkeypatch)
    current = client.drives[w.library_id].items[item["id"]].versions["current"].get().execute_query()
    assert (current.id, current.size) == ("2.0", 5)
    with pytest.raises(ClientRequestException):
        client.drives[w.library_id].items[item["id"]].versions["9.0"].get().execute_query()
