"""Round 13 of Graph through msgraph-sdk, more: sites by path with their drive and lists, ``@odata.nextLink``
keeping ``$select``/``$filter``/``$expand``, ``If-Match`` on upload sessions and content, copy with
conflictBehavior, one permission read and changed, drive search and delta paged by ``PageIterator``; and what
was wrong: ``createLink`` of type ``embed`` (OneDrive personal's only) was made on SharePoint, and a Graph
``DELETE`` removed the item for good (Graph bins it) while ``permanentDelete`` was 400."""

from __future__ import annotations

import pytest
import requests

from tests.sandbox.sharepoint.test_client_probe import graph
from tests.sandbox.sharepoint.test_client_probe_more import _sdk

__all__ = ["graph"]


def test_site_by_path_drive_lists_and_items(graph):
    w, s, base = graph
    s.put(f"{base}/root:/SP/a.txt:/content", data=b"a")

    async def run(client, _drive):
        site = client.sites.by_site_id("contoso.sharepoint.com:/sites/GRC:")
        drive = await site.drive.get()
        lists = await site.lists.get()
        drives = await site.drives.get()
        item = await client.drives.by_drive_id(w.library_id).items.by_drive_item_id("root:/SP/a.txt:").get()
        via_site = await client.sites.by_site_id(w.site_id).drives.by_drive_id(w.library_id).get()
        return drive, lists, drives, item, via_site

    drive, lists, drives, item, via_site = _sdk(w, run)
    assert drive.id and lists.value and drives.value and item.name == "a.txt" and via_site.id == w.library_id


def test_children_next_link_keeps_select_and_filter(graph):
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.drives.item.items.item.children.children_request_builder import ChildrenRequestBuilder
    from msgraph_core.tasks.page_iterator import PageIterator

    w, s, base = graph
    for n in range(5):
        s.put(f"{base}/root:/NL/f{n}.txt:/content", data=b"x")
    s.post(f"{base}/root:/NL:/children", json={"name": "Sub", "folder": {}})

    async def run(client, drive):
        q = ChildrenRequestBuilder.ChildrenRequestBuilderGetQueryParameters(
            top=2, select=["name", "file"], filter="file ne null", expand=["thumbnails"])
        first = await drive.items.by_drive_item_id("root:/NL:").children.get(RequestConfiguration(query_parameters=q))
        seen = []
        await PageIterator(first, client.request_adapter).iterate(lambda i: seen.append(i) or True)
        return first, seen

    first, seen = _sdk(w, run)
    assert "$select=name" in first.odata_next_link.replace("%2C", ",") and "$filter=" in first.odata_next_link
    assert sorted(i.name for i in seen) == [f"f{n}.txt" for n in range(5)]
    assert all(i.id is None and i.size is None for i in seen)


def test_if_match_on_upload_session_and_content(graph):
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.drives.item.items.item.create_upload_session.create_upload_session_post_request_body import (
        CreateUploadSessionPostRequestBody,
    )
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    w, s, base = graph
    item = s.put(f"{base}/root:/IM/a.txt:/content", data=b"1").json()
    s.put(f"{base}/root:/IM/a.txt:/content", data=b"2")

    async def run(_client, drive):
        target = drive.items.by_drive_item_id(item["id"])
        out = {}
        stale, stale_c = (RequestConfiguration(headers={"If-Match": item[k]}) for k in ("eTag", "cTag"))
        for name, call in {
            "session": lambda: target.create_upload_session.post(CreateUploadSessionPostRequestBody(), stale),
            "content": lambda: target.content.put(b"3", stale),
            "ctag": lambda: target.content.put(b"3", stale_c),
        }.items():
            try:
                await call()
                out[name] = 200
            except ODataError as e:
                out[name] = e.response_status_code
        return out

    assert _sdk(w, run) == {"session": 412, "content": 412, "ctag": 412}


def test_copy_conflict_behavior_and_permissions_get_patch(graph):
    from msgraph.generated.drives.item.items.item.copy.copy_post_request_body import CopyPostRequestBody
    from msgraph.generated.drives.item.items.item.create_link.create_link_post_request_body import (
        CreateLinkPostRequestBody,
    )
    from msgraph.generated.models.item_reference import ItemReference
    from msgraph.generated.models.permission import Permission

    w, s, base = graph
    item = s.put(f"{base}/root:/CP/a.txt:/content", data=b"a").json()
    folder = s.get(f"{base}/root:/CP:").json()

    async def run(_client, drive):
        target = drive.items.by_drive_item_id(item["id"])
        await target.copy.post(CopyPostRequestBody(parent_reference=ItemReference(drive_id=w.library_id,
                                                                                  id=folder["id"]),
                                                   additional_data={"@microsoft.graph.conflictBehavior": "rename"}))
        kids = await drive.items.by_drive_item_id(folder["id"]).children.get()
        link = await target.create_link.post(CreateLinkPostRequestBody(type="view", scope="organization"))
        one = await target.permissions.by_permission_id(link.id).get()
        changed = await target.permissions.by_permission_id(link.id).patch(Permission(roles=["write"]))
        return kids, one, changed

    kids, one, changed = _sdk(w, run)
    assert sorted(k.name for k in kids.value) == ["a 1.txt", "a.txt"]
    assert one.link.type == "view"
    assert changed.roles == ["write"]


def test_search_paged_and_delta_select(graph):
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.drives.item.items.item.delta.delta_request_builder import DeltaRequestBuilder
    from msgraph.generated.drives.item.search_with_q.search_with_q_request_builder import SearchWithQRequestBuilder
    from msgraph_core.tasks.page_iterator import PageIterator

    w, s, base = graph
    for n in range(5):
        s.put(f"{base}/root:/SR/report{n}.txt:/content", data=b"x")

    async def run(client, drive):
        found = await drive.search_with_q("report").get(RequestConfiguration(
            query_parameters=SearchWithQRequestBuilder.SearchWithQRequestBuilderGetQueryParameters(top=2)))
        seen = []
        await PageIterator(found, client.request_adapter).iterate(lambda i: seen.append(i.name) or True)
        d = await drive.items.by_drive_item_id("root").delta.get(RequestConfiguration(
            query_parameters=DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(select=["id", "name"], top=3)))
        dseen = []
        await PageIterator(d, client.request_adapter).iterate(lambda i: dseen.append(i) or True)
        return found, seen, d, dseen

    found, seen, d, dseen = _sdk(w, run)
    assert len(found.value) == 2 and found.odata_next_link
    assert sorted(seen) == [f"report{n}.txt" for n in range(5)]
    assert len(d.value) <= 3 and d.odata_next_link
    assert all(i.size is None for i in dseen)


def test_delete_bins_the_item_and_permanent_delete_does_not(graph, sharepoint):
    """A Graph DELETE took the item out for good, so SharePoint REST's recycle bin never listed it; POST
    permanentDelete was 400 "unsupported segment"."""
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    from tests.sandbox.sharepoint.test_client_probe import _token

    w, s, base = graph
    binned = s.put(f"{base}/root:/DEL/a.txt:/content", data=b"a").json()
    purged = s.put(f"{base}/root:/DEL/b.txt:/content", data=b"b").json()
    stale = purged["eTag"]
    s.put(f"{base}/root:/DEL/b.txt:/content", data=b"bb")

    async def run(_client, drive):
        await drive.items.by_drive_item_id(binned["id"]).delete()
        with pytest.raises(ODataError) as gone:
            await drive.items.by_drive_item_id(binned["id"]).get()
        with pytest.raises(ODataError) as precondition:
            await drive.items.by_drive_item_id(purged["id"]).permanent_delete.post(
                RequestConfiguration(headers={"If-Match": stale}))
        await drive.items.by_drive_item_id(purged["id"]).permanent_delete.post()
        with pytest.raises(ODataError) as purged_gone:
            await drive.items.by_drive_item_id(purged["id"]).get()
        return gone.value, precondition.value, purged_gone.value

    gone, precondition, purged_gone = _sdk(w, run)
    assert gone.response_status_code == 404 and gone.error.code == "itemNotFound"
    assert precondition.response_status_code == 412 and purged_gone.response_status_code == 404
    rest = requests.Session()
    rest.headers.update({"Authorization": "Bearer " + _token(w, "https://contoso.sharepoint.com/.default"),
                         "Accept": "application/json"})
    bin_items = rest.get(f"{w.site_url}/_api/web/RecycleBin").json()["value"]
    assert [(b["LeafName"], b["DirName"]) for b in bin_items] == [("a.txt", "sites/GRC/Evidence/DEL")]
    restored = rest.post(f"{w.site_url}/_api/web/RecycleBin('{bin_items[0]['Id']}')/Restore()")
    assert restored.status_code == 200, restored.text
    assert s.get(f"{base}/items/{binned['id']}/content").content == b"a"  # back with its id
    assert s.get(f"{base}/items/{purged['id']}").status_code == 404


def test_embed_links_are_onedrive_personal_only(graph):
    """createLink type embed made a link on SharePoint; Graph answers notSupported there."""
    from msgraph.generated.drives.item.items.item.create_link.create_link_post_request_body import (
        CreateLinkPostRequestBody,
    )
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    w, s, base = graph
    item = s.put(f"{base}/root:/EM/a.txt:/content", data=b"a").json()

    async def run(_client, drive):
        with pytest.raises(ODataError) as refused:
            await drive.items.by_drive_item_id(item["id"]).create_link.post(CreateLinkPostRequestBody(type="embed"))
        return refused.value, await drive.items.by_drive_item_id(item["id"]).permissions.get()

    refused, permissions = _sdk(w, run)
    assert refused.error.code == "notSupported" and refused.response_status_code == 400  # the status: [unc]
    assert refused.error.message == "Requested sharingLink type is not yet available."
    assert permissions.value == []
