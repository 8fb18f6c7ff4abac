"""Probe round 23 of Graph sites and drives through msgraph-sdk (unchanged) and plain requests:

- ``$select`` on a site (``/sites/{id}``, ``/sites/root``, ``/sites?search=``) or a drive (``/drives/{id}``,
  ``/sites/{id}/drives``, ``/sites/{id}/drive``) was ignored: every property came back; an unknown name was
  not refused.
- ``/sites/{id}/columns`` and ``/sites/{id}/contentTypes`` were 404 "Requested site could not be found"
  (the segment was read as part of the site's id)."""

from __future__ import annotations

import asyncio

from kiota_abstractions.base_request_configuration import RequestConfiguration

from tests.sandbox.sharepoint.test_client_probe import _client, graph

__all__ = ["graph"]


def test_select_on_sites_and_drives_over_http(graph):
    w, s, base = graph
    g = w.sandbox.graph_url
    assert s.get(f"{g}/sites/{w.site_id}?$select=id,displayName").json() == {"id": w.site_id, "displayName": "GRC"}
    assert s.get(f"{g}/sites/root?$select=webUrl").json() == {"webUrl": "https://contoso.sharepoint.com/sites/GRC"}
    found = s.get(f"{g}/sites?search=GRC&$select=id").json()["value"]
    assert found == [{"id": w.site_id}]
    drives = s.get(f"{g}/sites/{w.site_id}/drives?$select=id,name").json()["value"]
    assert all(set(d) == {"id", "name"} for d in drives) and {d["name"] for d in drives} >= {"Evidence", "Policies"}
    one = s.get(f"{base}?$select=id,quota").json()
    assert set(one) == {"id", "quota"} and one["quota"]["state"] == "normal"
    assert s.get(f"{g}/sites/{w.site_id}/drive?$select=name").json() == {"name": "Evidence"}
    assert set(s.get(base).json()) >= {"id", "name", "driveType", "webUrl", "quota"}  # no $select: all of it
    for url in (f"{base}?$select=nope", f"{g}/sites/{w.site_id}?$select=nope"):
        r = s.get(url)
        assert r.status_code == 400 and r.json()["error"]["code"] == "BadRequest"
        assert "Could not find a property named 'nope'" in r.json()["error"]["message"]


def test_select_drives_columns_and_content_types_through_msgraph(graph):
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError
    from msgraph.generated.sites.item.drives.drives_request_builder import DrivesRequestBuilder
    from msgraph.generated.sites.item.site_item_request_builder import SiteItemRequestBuilder

    w, _, _ = graph

    async def run():
        client, _, credential = _client(w, w.client_secret)
        with credential:
            site = client.sites.by_site_id(w.site_id)
            drives = await site.drives.get(RequestConfiguration(
                query_parameters=DrivesRequestBuilder.DrivesRequestBuilderGetQueryParameters(select=["id", "name"])))
            got = await site.get(RequestConfiguration(
                query_parameters=SiteItemRequestBuilder.SiteItemRequestBuilderGetQueryParameters(select=["webUrl"])))
            columns = await site.columns.get()
            types = await site.content_types.get()
            try:
                await site.get(RequestConfiguration(query_parameters=SiteItemRequestBuilder
                                                    .SiteItemRequestBuilderGetQueryParameters(select=["bogus"])))
            except ODataError as e:
                bad = (e.response_status_code, e.error.code)
            return drives, got, columns, types, bad

    drives, got, columns, types, bad = asyncio.run(run())
    assert {d.name for d in drives.value} >= {"Evidence", "Policies"}
    assert all(d.quota is None and d.web_url is None for d in drives.value)  # not selected
    assert got.web_url.endswith("/sites/GRC") and got.id is None and got.display_name is None
    names = [c.name for c in columns.value]
    assert {"Title", "FileLeafRef", "ID", "Created", "Modified"} <= set(names) and len(names) == len(set(names))
    title = next(c for c in columns.value if c.name == "Title")
    assert title.text is not None and title.required and title.id == "fa564e0f-0c70-4ab9-b863-0177e6ddd247"
    assert [(t.id, t.name) for t in types.value] == [("0x01", "Item"), ("0x0101", "Document"), ("0x0120", "Folder")]
    assert bad == (400, "BadRequest")


def test_site_columns_need_a_grant_on_the_site(graph):
    w, s, _ = graph
    g = w.sandbox.graph_url
    for d in w.sandbox.store.drives.values():
        d.grants = {}
    for seg in ("columns", "contentTypes"):
        r = s.get(f"{g}/sites/{w.site_id}/{seg}")
        assert r.status_code == 403 and r.json()["error"]["code"] == "accessDenied"
    r = s.get(f"{g}/sites/contoso.sharepoint.com,00000000-0000-0000-0000-000000000000,0/columns")
    assert r.status_code == 404 and r.json()["error"]["code"] == "itemNotFound"
