"""OData query options on drive items with the official clients, unchanged: msgraph-sdk (``$filter``,
``$top`` paging followed by msgraph-core's ``PageIterator``, ``$count``, ``$expand=children``, search)
and office365-rest-python-client's ``GraphClient`` (its Graph host is fixed, so the test points
``get_graph_authority`` at the emulator), plus Graph's error bodies for options Graph refuses."""

from __future__ import annotations

import asyncio

import pytest
import requests

from tests.sandbox.sharepoint.test_client_probe import _client, _token, graph

__all__ = ["graph"]
NAMES = ("report-q1.pdf", "Report-Q2.pdf", "notes.txt", "budget.xlsx")


def _seed(s, base) -> dict[str, str]:
    ids = {}
    for name in NAMES:
        data = f"{name} quarterly evidence".encode()
        ids[name] = s.put(f"{base}/root:/Audit/{name}:/content", data=data).json()["id"]
    ids["Archive"] = s.post(f"{base}/root:/Audit:/children", json={"name": "Archive", "folder": {}}).json()["id"]
    ids["deep.txt"] = s.put(f"{base}/root:/Audit/Archive/deep.txt:/content", data=b"old report text").json()["id"]
    return ids


def test_filter_count_and_errors_over_http(graph):
    _, s, base = graph
    _seed(s, base)
    kids = f"{base}/root:/Audit:/children"

    def names(flt: str) -> list[str]:
        r = s.get(kids, params={"$filter": flt})
        assert r.status_code == 200, r.text
        return [v["name"] for v in r.json()["value"]]

    assert names("name eq 'notes.txt'") == ["notes.txt"]
    assert names("name eq 'NOTES.TXT'") == ["notes.txt"]  # SharePoint names are case-insensitive
    assert names("startswith(name,'report')") == ["report-q1.pdf", "Report-Q2.pdf"]
    assert names("startswith(name,'report') and name ne 'report-q1.pdf'") == ["Report-Q2.pdf"]
    assert names("name eq 'notes.txt' or (name eq 'budget.xlsx')") == ["budget.xlsx", "notes.txt"]
    assert names("folder ne null") == ["Archive"]
    assert names("file ne null and not startswith(name,'r')") == ["budget.xlsx", "notes.txt"]
    counted = s.get(kids, params={"$count": "true", "$top": 2, "$filter": "file ne null"}).json()
    assert counted["@odata.count"] == 4 and len(counted["value"]) == 2
    rest = s.get(counted["@odata.nextLink"]).json()
    assert len(rest["value"]) == 2 and rest["@odata.count"] == 4 and "@odata.nextLink" not in rest
    for params, code in (({"$filter": "contains(name,'rep')"}, "invalidRequest"),
                         ({"$filter": "size gt 3"}, "invalidRequest"),
                         ({"$filter": "name eq"}, "invalidRequest"),
                         ({"$skip": "2"}, "invalidRequest"),
                         ({"$top": "abc"}, "BadRequest"),
                         ({"$top": "0"}, "BadRequest"),
                         ({"$bogus": "1"}, "BadRequest"),
                         ({"$count": "maybe"}, "BadRequest"),
                         ({"$expand": "owner"}, "BadRequest")):
        r = s.get(kids, params=params)
        assert r.status_code == 400, (params, r.text)
        error = r.json()["error"]
        assert error["code"] == code and error["message"] and set(error["innerError"]) >= {"date", "request-id"}


def test_expand_children_and_search_over_http(graph):
    _, s, base = graph
    ids = _seed(s, base)
    folder = s.get(f"{base}/root:/Audit:", params={"$expand": "children($select=id,name)", "$select": "id,name"})
    body = folder.json()
    assert set(body) == {"id", "name", "children"} and body["name"] == "Audit"
    assert [c["name"] for c in body["children"]] == ["Archive", "budget.xlsx", "notes.txt", "report-q1.pdf",
                                                     "Report-Q2.pdf"]
    assert all(set(c) == {"id", "name"} for c in body["children"])
    found = s.get(f"{base}/root/search(q='report')").json()["value"]
    assert {v["name"] for v in found} == {"report-q1.pdf", "Report-Q2.pdf", "deep.txt"}  # names and text
    assert all("searchResult" in v and "path" not in v["parentReference"] for v in found)
    within = s.get(f"{base}/items/{ids['Archive']}/search(q='report')").json()["value"]
    assert [v["name"] for v in within] == ["deep.txt"]
    drive_wide = s.get(f"{base}/search(q='quarterly evidence')", params={"$filter": "startswith(name,'b')"})
    assert [v["name"] for v in drive_wide.json()["value"]] == ["budget.xlsx"]
    paged = s.get(f"{base}/root/search(q='pdf')", params={"$top": 1}).json()
    assert len(paged["value"]) == 1 and len(s.get(paged["@odata.nextLink"]).json()["value"]) == 1
    assert s.get(f"{base}/root/search(q='x')", params={"$skip": 1}).status_code == 400


def test_msgraph_sdk_filter_paging_count_expand_and_search(sharepoint):
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.drives.item.items.item.children.children_request_builder import ChildrenRequestBuilder
    from msgraph.generated.drives.item.items.item.drive_item_item_request_builder import (
        DriveItemItemRequestBuilder,
    )
    from msgraph.generated.models.drive_item import DriveItem
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError
    from msgraph_core.tasks.page_iterator import PageIterator

    w = sharepoint
    w.sandbox.directory.add_secret(w.tenant_id, w.client_id, "probe~secret")
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + _token(w)
    _seed(s, f"{w.sandbox.graph_url}/drives/{w.library_id}")

    async def run():
        client, adapter, credential = _client(w, "probe~secret")
        with credential:
            drive = client.drives.by_drive_id(w.library_id)
            params = ChildrenRequestBuilder.ChildrenRequestBuilderGetQueryParameters(
                filter="file ne null", top=2, count=True, select=["id", "name"], orderby=["name desc"])
            folder = (await drive.root.get()).id
            audit_id = (await drive.items.by_drive_item_id("root:/Audit:").get()).id
            first = await drive.items.by_drive_item_id(audit_id).children.get(
                RequestConfiguration(query_parameters=params))
            seen: list[str] = []

            def keep(item: DriveItem) -> bool:
                seen.append(item.name)
                return True

            await PageIterator(first, adapter).iterate(keep)
            expanded = await drive.items.by_drive_item_id(audit_id).get(RequestConfiguration(
                query_parameters=DriveItemItemRequestBuilder.DriveItemItemRequestBuilderGetQueryParameters(
                    expand=["children"])))
            found = await drive.items.by_drive_item_id(folder).search_with_q("report").get()
            drive_found = await drive.search_with_q("budget").get()
            with pytest.raises(ODataError) as err:
                await drive.items.by_drive_item_id(audit_id).children.get(RequestConfiguration(
                    query_parameters=ChildrenRequestBuilder.ChildrenRequestBuilderGetQueryParameters(
                        filter="contains(name,'x')")))
            return first, seen, expanded, found, drive_found, err.value

    first, seen, expanded, found, drive_found, error = asyncio.run(run())
    assert first.odata_count == 4 and first.odata_next_link and len(first.value) == 2
    assert seen == ["Report-Q2.pdf", "report-q1.pdf", "notes.txt", "budget.xlsx"]
    assert sorted(c.name for c in expanded.children) == sorted([*NAMES, "Archive"])
    assert {i.name for i in found.value} == {"report-q1.pdf", "Report-Q2.pdf", "deep.txt"}
    assert [i.name for i in drive_found.value] == ["budget.xlsx"]
    assert error.response_status_code == 400 and error.error.code == "invalidRequest"


def test_office365_graph_client(sharepoint, monkeypatch):
    import office365.graph_request
    from office365.graph_client import GraphClient
    from office365.runtime.client_request_exception import ClientRequestException

    w = sharepoint
    w.sandbox.directory.add_secret(w.tenant_id, w.client_id, "probe~secret")
    token = _token(w)
    monkeypatch.setattr(office365.graph_request, "get_graph_authority", lambda env: w.sandbox.url)
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + token
    _seed(s, f"{w.sandbox.graph_url}/drives/{w.library_id}")

    client = GraphClient(token_callback=lambda: {"access_token": token, "token_type": "Bearer"})
    drive = client.drives[w.library_id]
    audit = drive.root.get_by_path("Audit")
    everything = audit.children.get_all(page_size=2).execute_query()
    assert sorted(i.name for i in everything) == sorted([*NAMES, "Archive"])
    pdfs = audit.children.filter("startswith(name,'report')").get().execute_query()
    assert sorted(i.name for i in pdfs) == ["Report-Q2.pdf", "report-q1.pdf"]
    # (its order_by() sends "$order_by", which Graph refuses as an unknown option, as the emulator does)
    top = audit.children.top(2).get().execute_query()
    assert [i.name for i in top] == ["Archive", "budget.xlsx"] and top.has_next
    hits = drive.root.search("report").execute_query()
    assert {i.name for i in hits} == {"report-q1.pdf", "Report-Q2.pdf", "deep.txt"}
    loaded = audit.expand(["children"]).get().execute_query()
    assert len(loaded.children) == 5
    with pytest.raises(ClientRequestException) as err:
        audit.children.filter("contains(name,'x')").get().execute_query()
    assert err.value.response.status_code == 400 and err.value.code == "invalidRequest"
