"""Round 30: the Graph emulator's conflictBehavior, and the calls around it, through msgraph-sdk and
office365-rest-python-client's ``GraphClient``, unchanged.

Simple upload (``PUT …:/content``) takes ``@microsoft.graph.conflictBehavior`` as a query parameter
(``replace`` by default); ``createUploadSession`` in its ``item`` body (Graph refuses ``fail`` on an
existing name when the session is made, and again at the commit when a file appeared meanwhile).
"""

from __future__ import annotations

import asyncio

import requests

from tests.sandbox.sharepoint.test_client_probe import _client, _token

FAIL, RENAME, REPLACE = ("@microsoft.graph.conflictBehavior=" + b for b in ("fail", "rename", "replace"))


def _sdk(w, run):
    w.sandbox.directory.add_secret(w.tenant_id, w.client_id, "probe~secret")

    async def go():
        client, adapter, credential = _client(w, "probe~secret")
        with credential:
            return await run(client.drives.by_drive_id(w.library_id), adapter)

    return asyncio.run(go())


def test_simple_upload_conflict_behaviour_through_msgraph_sdk(sharepoint):
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    w = sharepoint
    base = f"{w.sandbox.graph_url}/drives/{w.library_id}/items/root:%2FR30%2Fa.txt:/content"

    async def run(drive, _adapter):
        content = drive.items.by_drive_item_id("root:/R30/a.txt:").content
        first = await content.put(b"one")
        out = {"first": first}
        try:
            await content.with_url(f"{base}?{FAIL}").put(b"two")
        except ODataError as exc:
            out["fail"] = (exc.response_status_code, exc.error.code)
        out["rename"] = await content.with_url(f"{base}?{RENAME}").put(b"three")
        out["replace"] = await content.with_url(f"{base}?{REPLACE}").put(b"four")
        out["by_path"] = await drive.items.by_drive_item_id("root:/R30/a.txt:").get()
        out["renamed"] = await drive.items.by_drive_item_id("root:/R30/a 1.txt:").get()
        try:
            await content.with_url(f"{base}?@microsoft.graph.conflictBehavior=keep").put(b"five")
        except ODataError as exc:
            out["bad"] = (exc.response_status_code, exc.error.code)
        return out

    out = _sdk(w, run)
    assert out["fail"] == (409, "nameAlreadyExists")
    assert out["rename"].name == "a 1.txt" and out["rename"].id != out["first"].id
    assert out["replace"].id == out["first"].id and out["replace"].size == 4
    assert out["by_path"].size == 4 and out["renamed"].size == 5
    assert out["bad"] == (400, "invalidRequest")
    item = w.sandbox.store.items[out["first"].id]
    assert item.content == b"four" and [h[0] for h in item.history] == [b"one"]  # fail wrote nothing


def test_upload_session_conflict_behaviour_through_msgraph_sdk(sharepoint):
    from msgraph.generated.drives.item.items.item.create_upload_session.create_upload_session_post_request_body import (
        CreateUploadSessionPostRequestBody,
    )
    from msgraph.generated.models.drive_item_uploadable_properties import DriveItemUploadableProperties
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    w = sharepoint

    def body(behavior):
        return CreateUploadSessionPostRequestBody(item=DriveItemUploadableProperties(
            additional_data={"@microsoft.graph.conflictBehavior": behavior}))

    async def run(drive, _adapter):
        ref = drive.items.by_drive_item_id("root:/R30/big.bin:")
        await ref.content.put(b"planted")
        out = {}
        try:
            await ref.create_upload_session.post(body("fail"))
        except ODataError as exc:
            out["fail"] = (exc.response_status_code, exc.error.code)
        renamed = await ref.create_upload_session.post(body("rename"))
        out["rename"] = requests.put(renamed.upload_url, data=b"r" * 10, headers={"Content-Range": "bytes 0-9/10"},
                                     timeout=10)
        late = await drive.items.by_drive_item_id("root:/R30/late.bin:").create_upload_session.post(body("fail"))
        await drive.items.by_drive_item_id("root:/R30/late.bin:").content.put(b"came first")
        out["late"] = requests.put(late.upload_url, data=b"l" * 10, headers={"Content-Range": "bytes 0-9/10"},
                                   timeout=10)
        out["late_status"] = requests.get(late.upload_url, timeout=10).status_code
        return out

    out = _sdk(w, run)
    assert out["fail"] == (409, "nameAlreadyExists")
    assert out["rename"].status_code == 201 and out["rename"].json()["name"] == "big 1.bin"
    assert out["late"].status_code == 409 and out["late"].json()["error"]["code"] == "nameAlreadyExists"
    assert out["late_status"] == 404  # the session is spent
    kept = [i for i in w.sandbox.store.items.values() if i.name in ("big.bin", "late.bin")]
    assert sorted(i.content for i in kept) == [b"came first", b"planted"]


def test_paging_delete_and_fields_through_office365_graph_client(sharepoint, monkeypatch):
    import office365.graph_request
    from office365.graph_client import GraphClient

    w = sharepoint
    token = _token(w)
    monkeypatch.setattr(office365.graph_request, "get_graph_authority", lambda env: w.sandbox.url)
    client = GraphClient(token_callback=lambda: {"access_token": token, "token_type": "Bearer"})
    folder = client.drives[w.library_id].root.create_folder("R30 paging").execute_query()
    for n in range(5):
        folder.upload(f"f{n}.txt", f"file {n}".encode()).execute_query()
    again = folder.upload("f0.txt", b"replaced").execute_query()  # the client's PUT: replace by default
    assert again.properties["size"] == len(b"replaced")
    pages = []
    listed = list(folder.children.get().paged(2, page_loaded=lambda col: pages.append(len(col))).execute_query())
    assert sorted(c.name for c in listed) == [f"f{n}.txt" for n in range(5)] and len(pages) == 3, pages
    got = client.drives[w.library_id].root.get_by_path("R30 paging/f3.txt").get().execute_query()
    from sandbox.sharepoint.facets import quick_xor_hash

    # office365 types File.hashes as a str, so it keeps Graph's object as a dict
    assert got.file.hashes == {"quickXorHash": quick_xor_hash(b"file 3")}
    assert got.name == "f3.txt"
    fields = got.list_item.fields.get().execute_query()
    assert fields.properties["FileLeafRef"] == "f3.txt"
    got.delete_object().execute_query()
    names = [c.name for c in folder.children.get().execute_query()]
    assert sorted(names) == ["f0.txt", "f1.txt", "f2.txt", "f4.txt"]


def test_children_pages_keep_the_list_item_and_a_deleted_item_is_gone_through_msgraph_sdk(sharepoint):
    """The evidence store's listing: ``children`` with ``$expand=listItem($expand=fields)`` and ``$top``, each
    ``@odata.nextLink`` followed as given; then ``DELETE`` (204) and a read of the deleted item (404)."""
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.drives.item.items.item.children.children_request_builder import ChildrenRequestBuilder
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    w = sharepoint

    async def run(drive, _adapter):
        for n in range(5):
            await drive.items.by_drive_item_id(f"root:/R30 list/e{n}.bin:").content.put(b"e" * n)
        folder = await drive.items.by_drive_item_id("root:/R30 list:").get()
        query = ChildrenRequestBuilder.ChildrenRequestBuilderGetQueryParameters(
            expand=["listItem($expand=fields)"], top=2)
        children = drive.items.by_drive_item_id(folder.id).children
        page = await children.get(RequestConfiguration(query_parameters=query))
        seen = []
        while page is not None:
            seen += [(i.name, i.list_item.fields.additional_data["FileLeafRef"], i.size) for i in page.value]
            page = await children.with_url(page.odata_next_link).get() if page.odata_next_link else None
        gone = seen and await drive.items.by_drive_item_id("root:/R30 list/e2.bin:").get()
        await drive.items.by_drive_item_id(gone.id).delete()
        try:
            await drive.items.by_drive_item_id(gone.id).get()
        except ODataError as exc:
            return seen, (exc.response_status_code, exc.error.code)
        return seen, None

    seen, after = _sdk(w, run)
    assert seen == [(f"e{n}.bin", f"e{n}.bin", n) for n in range(5)]
    assert after == (404, "itemNotFound")


def test_a_file_written_through_sharepoint_rest_shows_the_app_in_graph(sharepoint):
    """The same item written through SharePoint REST (office365's ClientContext) is the app's write in Graph's
    ``lastModifiedBy`` too."""
    from tests.sandbox.sharepoint.test_rest_api import _cert_token, _ctx

    w = sharepoint
    ctx = _ctx(w, _cert_token(w))
    folder = ctx.web.lists.get_by_title("Evidence").root_folder
    folder.upload_file("r30-rest.txt", b"by rest").execute_query()
    item = next(i for i in w.sandbox.store.items.values() if i.name == "r30-rest.txt")
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + _token(w)
    shown = s.get(f"{w.sandbox.graph_url}/drives/{w.library_id}/items/{item.id}").json()
    assert shown["lastModifiedBy"]["application"]["id"] == w.client_id
    s.close()
