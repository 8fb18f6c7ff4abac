"""Probe round 6 of Graph through its vendors' clients: Microsoft Search (``POST /v1.0/search/query``), which was
404 'Resource not found for the segment'."""

from __future__ import annotations

import pytest

from tests.sandbox.sharepoint.test_client_probe import graph
from tests.sandbox.sharepoint.test_client_probe_more import _o365, _sdk

__all__ = ["graph"]


def test_microsoft_search_through_msgraph(sharepoint, graph):
    """client.search.query.post over the granted libraries, KQL as SharePoint search takes it; app-only needs a
    region (400 without)."""
    from msgraph.generated.models.entity_type import EntityType
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError
    from msgraph.generated.models.search_query import SearchQuery
    from msgraph.generated.models.search_request import SearchRequest
    from msgraph.generated.search.query.query_post_request_body import QueryPostRequestBody

    _, s, base = graph
    for path, body in (("Audit/report q1.pdf", b"quarterly controls"), ("Audit/controls.csv", b"a,b"),
                       ("notes.txt", b"nothing")):
        assert s.put(f"{base}/root:/{path}:/content", data=body).status_code == 201

    def ask(query: str, region: str | None = "NAM", size: int | None = None) -> QueryPostRequestBody:
        return QueryPostRequestBody(requests=[SearchRequest(entity_types=[EntityType.DriveItem], size=size,
                                                            query=SearchQuery(query_string=query), region=region)])

    async def run(client, drive):
        found = await client.search.query.post(ask("controls"))
        paged = await client.search.query.post(ask("FileExtension:pdf OR filename:notes*", size=1))
        with pytest.raises(ODataError) as err:
            await client.search.query.post(ask("controls", region=None))
        return found, paged, (err.value.response_status_code, err.value.error.code)

    found, paged, refused = _sdk(sharepoint, run)
    [container] = found.value[0].hits_containers
    assert container.total == 2 and sorted(h.resource.name for h in container.hits) == ["controls.csv", "report q1.pdf"]
    assert container.hits[0].resource.odata_type == "#microsoft.graph.driveItem"
    [page] = paged.value[0].hits_containers
    assert (page.total, len(page.hits), page.more_results_available) == (2, 1, True)
    assert refused == (400, "BadRequest")


def test_microsoft_search_through_office365(sharepoint, monkeypatch, graph):
    _, s, base = graph
    assert s.put(f"{base}/root:/Audit/controls.csv:/content", data=b"a,b").status_code == 201
    client = _o365(sharepoint, monkeypatch)
    result = client.search.query("filename:controls.csv", entity_types=["driveItem", "listItem"],
                                 region="NAM").execute_query()
    containers = result.value[0].hitsContainers
    assert [h.resource.name for h in containers[0].hits] == ["controls.csv"]
    assert containers[1].hits[0].resource.web_url.endswith("/sites/GRC/Evidence/Audit/controls.csv")
