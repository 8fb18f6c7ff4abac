"""Round 29: the Graph emulator through msgraph-sdk (GraphServiceClient with a ClientSecretCredential) and
msgraph-core, unchanged.

- A site's id is ``{hostname},{site collection GUID},{web GUID}``: its web part was 8 hex digits, so code
  that reads the id's parts as GUIDs (``uuid.UUID``) failed; a site id is found whatever its letters' case.
- List items paged by ``PageIterator`` with ``$top`` and ``$expand=fields($select=…)`` kept on every page;
  a GET with ``If-None-Match`` of the current eTag is 304 (the SDK answers None); throttling that outlasts
  the SDK's RetryHandler reaches the caller as ODataError 429 with Graph's error body.
"""

from __future__ import annotations

import time
import uuid

import requests

from tests.sandbox.sharepoint.test_client_probe import _token
from tests.sandbox.sharepoint.test_client_probe_more import _sdk


def test_site_id_is_a_hostname_and_two_guids(sharepoint):
    w = sharepoint
    host, collection, web = w.site_id.split(",")
    assert host == "contoso.sharepoint.com" and uuid.UUID(collection) and uuid.UUID(web)

    async def run(client, _drive):
        site = await client.sites.by_site_id(w.site_id).get()
        shouted = await client.sites.by_site_id(w.site_id.upper()).get()
        by_path = await client.sites.by_site_id("contoso.sharepoint.com:/sites/GRC:").get()
        drives = await client.sites.by_site_id(w.site_id.upper()).drives.get()
        return site, shouted, by_path, drives

    site, shouted, by_path, drives = _sdk(w, run)
    assert site.id == shouted.id == by_path.id == w.site_id
    assert w.library_id in {d.id for d in drives.value}


def test_list_items_pages_conditional_get_and_throttling(sharepoint):
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError
    from msgraph.generated.sites.item.lists.item.items.items_request_builder import ItemsRequestBuilder
    from msgraph_core.tasks.page_iterator import PageIterator

    w = sharepoint
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + _token(w)
    base = f"{w.sandbox.graph_url}/drives/{w.library_id}"
    names = [f"control-{n}.pdf" for n in range(7)]
    for name in names:
        assert s.put(f"{base}/root:/Audit/{name}:/content", data=b"%PDF " + name.encode()).status_code in (200, 201)

    async def run(client, drive):
        site = client.sites.by_site_id(w.site_id)
        lists = await site.lists.get()
        evidence = next(x for x in lists.value if x.display_name == "Evidence")
        query = ItemsRequestBuilder.ItemsRequestBuilderGetQueryParameters(
            top=3, expand=["fields($select=FileLeafRef)"])
        first = await site.lists.by_list_id(evidence.id).items.get(RequestConfiguration(query_parameters=query))
        pages, rows = [len(first.value)], []

        def keep(row) -> bool:
            assert set(row.fields.additional_data) <= {"@odata.etag", "FileLeafRef"}
            rows.append(row.fields.additional_data.get("FileLeafRef"))
            return True

        iterator = PageIterator(first, client.request_adapter)
        await iterator.iterate(keep)
        item = await drive.items.by_drive_item_id("root:/Audit/control-0.pdf:").get()
        unchanged = await drive.items.by_drive_item_id(item.id).get(
            RequestConfiguration(headers={"If-None-Match": item.e_tag}))
        changed = await drive.items.by_drive_item_id(item.id).get(
            RequestConfiguration(headers={"If-None-Match": '"{00000000-0000-0000-0000-000000000000},1"'}))
        w.sandbox.fail_next(429, 4, method="GET", path=r"/items/" + item.id + "$", retry_after=1)
        started = time.monotonic()
        try:
            await drive.items.by_drive_item_id(item.id).get()
        except ODataError as exc:
            throttled = (exc, time.monotonic() - started)
        return first, pages, rows, unchanged, changed, throttled

    first, pages, rows, unchanged, changed, (throttled, waited) = _sdk(w, run)
    assert pages == [3] and first.odata_next_link
    assert sorted(r for r in rows if r != "Audit") == names  # every page kept $expand=fields($select=…)
    assert unchanged is None and changed is not None and changed.name == "control-0.pdf"
    assert throttled.response_status_code == 429 and throttled.error.code == "tooManyRequests"
    assert throttled.error.inner_error.request_id and waited >= 3  # three retries, each after Retry-After: 1
