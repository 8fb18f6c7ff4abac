"""The Graph emulator against the official Microsoft clients (msgraph-sdk, msgraph-core's
LargeFileUploadTask, azure-identity's ClientSecretCredential) and the calls customer scripts make
with requests: what each of them tripped on before."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import ssl

import httpx
import pytest
import requests

SCOPE = "https://graph.microsoft.com/.default"


def _token(w, scope: str = SCOPE) -> str:
    """An app-only token by client secret, for Graph unless ``scope`` names another audience."""
    w.sandbox.directory.add_secret(w.tenant_id, w.client_id, "probe~secret")
    r = requests.post(f"{w.sandbox.url}/{w.tenant_id}/oauth2/v2.0/token",
                      data={"grant_type": "client_credentials", "client_id": w.client_id,
                            "client_secret": "probe~secret", "scope": scope}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


@pytest.fixture
def graph(sharepoint):
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + _token(sharepoint)
    base = f"{sharepoint.sandbox.graph_url}/drives/{sharepoint.library_id}"
    yield sharepoint, s, base
    s.close()


def _client(w, secret: str):
    from azure.identity import ClientSecretCredential
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from msgraph import GraphServiceClient
    from msgraph_core import BaseGraphRequestAdapter, GraphClientFactory

    credential = ClientSecretCredential(w.tenant_id, w.client_id, secret, authority=w.sandbox.url,
                                        disable_instance_discovery=True)
    auth = AzureIdentityAuthenticationProvider(credential, scopes=[SCOPE],
                                               allowed_hosts=[httpx.URL(w.sandbox.graph_url).host])
    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(verify=ssl.create_default_context(cafile=w.sandbox.ca_bundle)))
    adapter = BaseGraphRequestAdapter(auth, http_client=http)
    adapter.base_url = w.sandbox.graph_url
    return GraphServiceClient(request_adapter=adapter), adapter, credential


def test_client_secret_credential(sharepoint):
    """ClientSecretCredential got 401 AADSTS7000215 (only certificates were accepted); a wrong secret still does."""
    from azure.core.exceptions import ClientAuthenticationError

    w = sharepoint
    w.sandbox.directory.add_secret(w.tenant_id, w.client_id, "right~secret")

    async def run(secret):
        client, _, credential = _client(w, secret)
        with credential:
            return await client.drives.by_drive_id(w.library_id).get()

    assert asyncio.run(run("right~secret")).id == w.library_id
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        asyncio.run(run("wrong"))
    basic = requests.post(f"{w.sandbox.url}/{w.tenant_id}/oauth2/v2.0/token", auth=(w.client_id, "right~secret"),
                          data={"grant_type": "client_credentials", "scope": SCOPE}, timeout=10)
    assert basic.status_code == 200 and basic.json()["token_type"] == "Bearer"


def test_children_select_orderby_and_paging(graph):
    _, s, base = graph
    for name in ("a.txt", "c.txt", "b.txt"):
        assert s.put(f"{base}/root:/{name}:/content", data=name.encode()).status_code == 201
    r = s.get(f"{base}/root/children", params={"$select": "id,name", "$orderby": "name desc", "$top": 2})
    body = r.json()
    assert [set(v) for v in body["value"]] == [{"id", "name"}] * 2
    assert [v["name"] for v in body["value"]] == ["c.txt", "b.txt"]
    rest = s.get(body["@odata.nextLink"]).json()
    assert [v["name"] for v in rest["value"]] == ["a.txt"] and set(rest["value"][0]) == {"id", "name"}
    bad = s.get(f"{base}/root/children", params={"$select": "id,nope"})
    assert bad.status_code == 400 and "nope" in bad.json()["error"]["message"]
    assert s.get(f"{base}/root/children", params={"$orderby": "colour"}).status_code == 400


def test_download_url_and_upload_to_new_folders(graph):
    """PUT to a path under folders that do not exist was 404; Graph makes them. GET item now carries the
    pre-authenticated @microsoft.graph.downloadUrl scripts fetch without a token."""
    _, s, base = graph
    r = s.put(f"{base}/root:/Audit/2026/Q1/report.txt:/content", data=b"quarterly")
    assert r.status_code == 201, r.text
    item = s.get(f"{base}/root:/Audit/2026/Q1/report.txt:").json()
    assert item["id"] == r.json()["id"] and item["parentReference"]["path"].endswith("/root:/Audit/2026/Q1")
    assert requests.get(item["@microsoft.graph.downloadUrl"], timeout=10).content == b"quarterly"
    assert s.get(f"{base}/root:/Audit/2026:").json()["folder"]["childCount"] == 1
    assert s.put(f"{base}/root:/Audit/2026/Q1/report.txt/x.txt:/content", data=b"x").status_code == 400


def test_upload_session_ranges_and_large_file_upload_task(sharepoint):
    """nextExpectedRanges is 'next-last' once the size is known, as SharePoint writes it; LargeFileUploadTask
    (which sends 320 KiB + 1 byte fragments) used to die on int('') and on the 320 KiB-multiple rule."""
    from msgraph.generated.drives.item.items.item.create_upload_session.create_upload_session_post_request_body import (
        CreateUploadSessionPostRequestBody,
    )
    from msgraph.generated.models.drive_item import DriveItem
    from msgraph_core.tasks.large_file_upload import LargeFileUploadTask

    w = sharepoint
    data = os.urandom(900 * 1024)

    async def run():
        client, adapter, credential = _client(w, "probe~secret")
        with credential:
            items = client.drives.by_drive_id(w.library_id).items
            session = await items.by_drive_item_id("root:/Big/large.bin:").create_upload_session.post(
                CreateUploadSessionPostRequestBody())
            task = LargeFileUploadTask(session, adapter, io.BytesIO(data), parsable_factory=DriveItem,
                                       max_chunk_size=320 * 1024)
            with contextlib.suppress(Exception):  # the task PUTs its last range once more after the 201
                await task.upload()
            item = await items.by_drive_item_id("root:/Big/large.bin:").get()
            return await items.by_drive_item_id(item.id).content.get()

    w.sandbox.directory.add_secret(w.tenant_id, w.client_id, "probe~secret")
    assert asyncio.run(run()) == data
    fragments = [r for r in w.sandbox.request_log if r["path"].startswith("/_api/v2.0/uploadSession/")]
    assert [r["status"] for r in fragments][:3] == [202, 202, 201]

    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + _token(w)
    base = f"{w.sandbox.graph_url}/drives/{w.library_id}"
    url = s.post(f"{base}/root:/two.bin:/createUploadSession", json={}).json()["uploadUrl"]
    first = requests.put(url, data=b"a" * 1000, headers={"Content-Range": "bytes 0-999/1500"}, timeout=10)
    assert first.status_code == 202 and first.json()["nextExpectedRanges"] == ["1000-1499"]
    assert requests.get(url, timeout=10).json()["nextExpectedRanges"] == ["1000-1499"]
    last = requests.put(url, data=b"b" * 500, headers={"Content-Range": "bytes 1000-1499/1500"}, timeout=10)
    assert last.status_code == 201 and last.json()["size"] == 1500
    empty = requests.put(url, data=b"", headers={"Content-Range": "bytes 0-1499/1500"}, timeout=10)
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "invalidRange"


def test_patch_rename_and_move(graph):
    """PATCH of a drive item (rename, move) was 400 'PATCH is not supported'."""
    w, s, base = graph
    item = s.put(f"{base}/root:/Inbox/memo.txt:/content", data=b"memo").json()
    folder = s.post(f"{base}/root/children", json={"name": "Filed", "folder": {}}).json()
    delta = s.get(f"{base}/root/delta").json()["@odata.deltaLink"]
    moved = s.patch(f"{base}/items/{item['id']}", json={"name": "memo-2026.txt",
                                                        "parentReference": {"id": folder["id"]}})
    assert moved.status_code == 200, moved.text
    assert moved.json()["name"] == "memo-2026.txt" and moved.json()["parentReference"]["id"] == folder["id"]
    assert s.get(f"{base}/root:/Filed/memo-2026.txt:/content").content == b"memo"
    assert s.get(f"{base}/root:/Inbox/memo.txt:").status_code == 404
    assert [v["name"] for v in s.get(delta).json()["value"]] == ["memo-2026.txt"]
    s.put(f"{base}/root:/Filed/other.txt:/content", data=b"o")
    clash = s.patch(f"{base}/items/{item['id']}", json={"name": "OTHER.txt"})
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "nameAlreadyExists"
    inbox = {"parentReference": {"path": f"/drives/{w.library_id}/root:/Inbox"}}
    back = s.patch(f"{base}/items/{item['id']}", json=inbox)
    assert back.status_code == 200 and back.json()["parentReference"]["path"].endswith("/root:/Inbox")
    assert s.patch(f"{base}/items/{folder['id']}", json={"parentReference": {"id": folder["id"]}}).status_code == 400


def test_sites_by_id_and_path_and_default_drive(graph):
    """GET /sites/{id}, /sites/{host}:/sites/{name}: and /sites/{id}/drive answered 404."""
    w, s, _ = graph
    root = w.sandbox.graph_url
    by_id = s.get(f"{root}/sites/{w.site_id}")
    assert by_id.status_code == 200 and by_id.json()["displayName"] == "GRC"
    for path in ("contoso.sharepoint.com:/sites/GRC:", "contoso.sharepoint.com:/sites/grc"):
        assert s.get(f"{root}/sites/{path}").json()["id"] == w.site_id
    drives = s.get(f"{root}/sites/contoso.sharepoint.com:/sites/GRC:/drives").json()["value"]
    assert {d["id"] for d in drives} == {w.library_id, w.readonly_library_id}
    assert s.get(f"{root}/sites/{w.site_id}/drive").json()["id"] == w.library_id
    missing = s.get(f"{root}/sites/contoso.sharepoint.com:/sites/Nope:")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "itemNotFound"


def test_unknown_segment_is_graph_bad_request(graph):
    """A path Graph has no resource for was 404 itemNotFound with the path as the message."""
    _, s, base = graph
    r = s.get(f"{base}/root/bogusSegment/more")
    assert r.status_code == 400
    assert r.json()["error"]["code"] in ("BadRequest", "invalidRequest")
    r = s.get(f"{base[:base.index('/v1.0')]}/v1.0/nothingHere")
    assert r.status_code == 400 and r.json()["error"] == {**r.json()["error"], "code": "BadRequest",
                                                          "message": "Resource not found for the segment "
                                                                     "'nothingHere'."}
