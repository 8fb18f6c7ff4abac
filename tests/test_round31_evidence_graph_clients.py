"""Round 31: Graph drive-item calls an evidence integration makes, against the SharePoint emulator over HTTPS,
with msgraph-sdk and office365-rest-python-client's ``GraphClient`` unchanged (and plain HTTP for what the
reference documents at the wire): path addressing with and without the closing colon and relative to a
folder id, ``$select`` of ``@microsoft.graph.downloadUrl``, ``$expand=children($select=…)``, ranged reads of
the download URL (a range whose end is before its start is ignored, RFC 9110: it was 416), a delta token
Graph never issued (410 resyncRequired), ``$skip`` refused, upload-session fragments without a usable
``Content-Range``, children paged by ``$top`` through the SDK, and office365's folder helpers
(``ensure_folder``/``ensure_file`` find what exists by ``$filter=name eq '…'``, quotes doubled)."""

from __future__ import annotations

import requests
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.drives.item.items.item.children.children_request_builder import ChildrenRequestBuilder

from tests.sandbox.sharepoint.test_client_probe import graph
from tests.sandbox.sharepoint.test_client_probe_more import _o365, _sdk

__all__ = ["graph"]


def _get(w, url: str, **headers: str) -> requests.Response:
    return requests.get(url, headers=headers, timeout=10, verify=w.sandbox.ca_bundle, allow_redirects=False)


def test_path_addressing_select_expand_and_ranged_download(graph):
    w, s, base = graph
    made = s.put(f"{base}/root:/R31/a.txt:/content", data=b"0123456789")
    assert made.status_code == 201
    item, folder = made.json()["id"], made.json()["parentReference"]["id"]
    assert s.get(f"{base}/root:/R31/a.txt").json()["id"] == item  # the closing colon may be left off
    assert s.get(f"{base}/items/{folder}:/a.txt:").json()["id"] == item  # a path relative to a folder's id
    redirect = s.get(f"{base}/items/{folder}:/a.txt:/content", allow_redirects=False)
    assert redirect.status_code == 302 and _get(w, redirect.headers["Location"]).content == b"0123456789"

    picked = s.get(f"{base}/items/{item}", params={"$select": "id,@microsoft.graph.downloadUrl"}).json()
    assert set(picked) == {"id", "@microsoft.graph.downloadUrl"}
    url = picked["@microsoft.graph.downloadUrl"]
    tail = _get(w, url, Range="bytes=-3")
    assert (tail.status_code, tail.headers["Content-Range"], tail.content) == (206, "bytes 7-9/10", b"789")
    rest = _get(w, url, Range="bytes=7-")
    assert (rest.status_code, rest.headers["Content-Range"], rest.content) == (206, "bytes 7-9/10", b"789")
    past = _get(w, url, Range="bytes=20-30")
    assert (past.status_code, past.headers["Content-Range"]) == (416, "bytes */10")
    backwards = _get(w, url, Range="bytes=5-2")  # not a range: ignored, the whole file (it was 416)
    assert (backwards.status_code, backwards.content) == (200, b"0123456789")
    assert "Content-Range" not in backwards.headers

    expanded = s.get(f"{base}/root:/R31:", params={"$select": "id,name",
                                                   "$expand": "children($select=id,name)"}).json()
    assert expanded == {"id": folder, "name": "R31", "children": [{"id": item, "name": "a.txt"}]}
    gone = s.get(f"{base}/root/delta", params={"token": "never-issued"})
    assert (gone.status_code, gone.json()["error"]["code"]) == (410, "resyncRequired")
    skipped = s.get(f"{base}/root/children", params={"$skip": "1"})
    assert skipped.status_code == 400 and "Only URLs returned by the API" in skipped.json()["error"]["message"]


def test_upload_session_fragments_need_a_content_range_with_the_total(graph):
    w, s, base = graph
    session = s.post(f"{base}/root:/R31/big.bin:/createUploadSession", json={})
    assert session.status_code == 200 and session.json()["nextExpectedRanges"] == ["0-"]
    url = session.json()["uploadUrl"]

    def put(data: bytes, **headers: str) -> requests.Response:
        return requests.put(url, data=data, headers=headers, timeout=10, verify=w.sandbox.ca_bundle)

    for headers in ({"Content-Range": "bytes 0-9/*"}, {}):  # the total must be known; a fragment must say where
        refused = put(b"a" * 10, **headers)
        assert (refused.status_code, refused.json()["error"]["code"]) == (400, "invalidRequest")
    first = put(b"a" * 10, **{"Content-Range": "bytes 0-9/20"})
    assert (first.status_code, first.json()["nextExpectedRanges"]) == (202, ["10-19"])
    last = put(b"b" * 10, **{"Content-Range": "bytes 10-19/20"})
    assert (last.status_code, last.json()["name"], last.json()["size"]) == (201, "big.bin", 20)
    after = requests.get(url, timeout=10, verify=w.sandbox.ca_bundle)
    assert (after.status_code, after.json()["error"]["code"]) == (404, "itemNotFound")
    assert s.get(f"{base}/items/{last.json()['id']}/content").content == b"a" * 10 + b"b" * 10


def test_children_paged_by_top_and_relative_paths_through_msgraph_sdk(graph):
    w, s, base = graph
    names = [f"e{n}.txt" for n in range(5)]
    for name in names:
        assert s.put(f"{base}/root:/R31/{name}:/content", data=name.encode()).status_code == 201
    folder = s.get(f"{base}/root:/R31:").json()["id"]

    async def run(_client, drive):
        query = ChildrenRequestBuilder.ChildrenRequestBuilderGetQueryParameters(top=2, select=["id", "name"])
        page = await drive.items.by_drive_item_id(folder).children.get(RequestConfiguration(query_parameters=query))
        seen, pages = [i.name for i in page.value], 1
        while page.odata_next_link:
            page = await drive.items.by_drive_item_id(folder).children.with_url(page.odata_next_link).get()
            seen += [i.name for i in page.value]
            pages += 1
        by_path = await drive.items.by_drive_item_id(f"{folder}:/e3.txt:").get()
        content = await drive.items.by_drive_item_id("root:/R31/e4.txt:").content.get()
        return seen, pages, by_path, content

    seen, pages, by_path, content = _sdk(w, run)
    assert sorted(seen) == names and pages == 3
    assert by_path.name == "e3.txt" and by_path.parent_reference.id == folder and content == b"e4.txt"


def test_office365_folder_helpers_find_what_exists(sharepoint, monkeypatch, tmp_path, graph):
    w = sharepoint
    _, s, base = graph
    root = _o365(w, monkeypatch).drives[w.library_id].root
    made = root.ensure_folder("Audit 2026/Q1/O'Brien").execute_query()
    again = root.ensure_folder("Audit 2026/Q1/O'Brien").execute_query()
    assert made.name == "O'Brien" and again.id == made.id  # found by $filter=name eq 'O''Brien', not made twice
    kids = s.get(f"{base}/root:/Audit 2026/Q1:/children", params={"$select": "name"}).json()["value"]
    assert kids == [{"name": "O'Brien"}]

    path = "Audit 2026/Q1/O'Brien/minutes.txt"
    assert root.ensure_file(path, b"one").execute_query().name == "minutes.txt"
    root.ensure_file(path, b"two").execute_query()  # skip: it exists
    assert root.get_by_path(path).get_content().execute_query().value == b"one"
    root.ensure_file(path, b"three", on_conflict="replace").execute_query()
    assert root.get_by_path(path).get_content().execute_query().value == b"three"

    src = tmp_path / "bundle"
    (src / "sub").mkdir(parents=True)
    (src / "x.txt").write_bytes(b"x")
    (src / "sub" / "y.txt").write_bytes(b"y")
    root.ensure_folder("Up").execute_query().upload_folder(str(src)).execute_query()
    up = root.get_by_path("Up")
    assert sorted(f.name for f in up.get_files(True).execute_query()) == ["x.txt", "y.txt"]
    assert [f.name for f in up.get_folders(True).execute_query()] == ["sub"]
    assert s.get(f"{base}/root:/Up/sub/y.txt:/content").content == b"y"
