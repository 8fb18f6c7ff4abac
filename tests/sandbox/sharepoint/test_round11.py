"""Round 11: Graph list items ``$orderby``; ``content?format=pdf``; SharePoint REST property bags; notifications to
an https receiver whose certificate the sandbox CA signed, and ``resourceData`` on list notifications. Before this
round ``$orderby`` on a custom list's items was 400, ``format=pdf`` served the original bytes, ``AllProperties`` was
404 and an https receiver signed by the sandbox CA never got its validation request (delivery trusted the system
CAs only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from office365.runtime.client_request_exception import ClientRequestException
from office365.runtime.paths.resource_path import ResourcePath
from office365.sharepoint.types.property_values import PropertyValues

from sandbox.core.tls import server_context
from tests.sandbox.sharepoint.test_client_probe import graph
from tests.sandbox.sharepoint.test_client_probe_more import _sdk
from tests.sandbox.sharepoint.test_graph_round9_notify import Receiver
from tests.sandbox.sharepoint.test_rest_api import rest

__all__ = ["graph", "rest"]

PREFER = {"Prefer": "HonorNonIndexedQueriesWarningMayFailRandomly"}


def _custom_list(w, s, title: str = "Findings") -> str:
    made = s.post(f"{w.sandbox.graph_url}/sites/{w.site_id}/lists", json={
        "displayName": title, "list": {"template": "genericList"}, "columns": [{"name": "Score", "number": {}}]})
    assert made.status_code == 201, made.text
    return made.json()["id"]


def test_list_items_orderby_through_msgraph(graph):
    """items.get(orderby=["fields/Title desc"]) needs the Prefer header (Title is not indexed); createdDateTime and
    a number column order as Graph orders them; paging keeps the order."""
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError
    from msgraph.generated.sites.item.lists.item.items.items_request_builder import ItemsRequestBuilder

    w, s, _ = graph
    lid = _custom_list(w, s)
    items = f"{w.sandbox.graph_url}/sites/{w.site_id}/lists/{lid}/items"
    for title, score in (("beta", 10), ("Alpha", 2), ("gamma", 7)):
        assert s.post(items, json={"fields": {"Title": title, "Score": score}}).status_code == 201

    def params(orderby, prefer=False):
        config = RequestConfiguration(query_parameters=ItemsRequestBuilder.ItemsRequestBuilderGetQueryParameters(
            orderby=orderby, expand=["fields"]))
        if prefer:
            config.headers.add("Prefer", PREFER["Prefer"])
        return config

    async def run(client, _drive):
        lst = client.sites.by_site_id(w.site_id).lists.by_list_id(lid)
        with pytest.raises(ODataError) as refused:
            await lst.items.get(params(["fields/Title desc"]))
        by_title = await lst.items.get(params(["fields/Title desc"], prefer=True))
        by_created = await lst.items.get(params(["createdDateTime desc"]))
        return refused.value, by_title, by_created

    refused, by_title, by_created = _sdk(w, run)
    assert refused.response_status_code == 400 and "not indexed" in refused.error.message
    assert [i.fields.additional_data["Title"] for i in by_title.value] == ["gamma", "beta", "Alpha"]
    assert [i.id for i in by_created.value] == ["3", "2", "1"]
    page = s.get(items, params={"$orderby": "fields/Score", "$expand": "fields", "$top": 2}, headers=PREFER).json()
    assert [i["fields"]["Score"] for i in page["value"]] == [2, 7]
    rest = s.get(page["@odata.nextLink"], headers=PREFER).json()
    assert [i["fields"]["Score"] for i in rest["value"]] == [10]
    assert s.get(items, params={"$orderby": "size"}).status_code == 400  # not a list item property


def test_library_list_items_orderby(graph):
    w, s, base = graph
    for name in ("b.txt", "a.txt", "c.txt"):
        assert s.put(f"{base}/root:/Order/{name}:/content", data=b"x").status_code == 201
    lst = s.get(f"{w.sandbox.graph_url}/drives/{w.library_id}/list").json()["id"]
    url = f"{w.sandbox.graph_url}/sites/{w.site_id}/lists/{lst}/items"
    assert s.get(url, params={"$orderby": "fields/FileLeafRef"}).status_code == 400
    shown = s.get(url, params={"$orderby": "fields/FileLeafRef desc", "$expand": "fields"}, headers=PREFER).json()
    names = [i["fields"]["FileLeafRef"] for i in shown["value"] if i["fields"]["FileLeafRef"].endswith(".txt")]
    assert names == ["c.txt", "b.txt", "a.txt"]


def test_content_format_pdf_through_msgraph(graph):
    """content.get(format=pdf) of a .docx follows the 302 to a small valid PDF; a .txt is 406."""
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.drives.item.items.item.content.content_request_builder import ContentRequestBuilder
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    w, s, base = graph
    docx = s.put(f"{base}/root:/Conv/report.docx:/content", data=b"PK\x03\x04 not really a docx").json()["id"]
    txt = s.put(f"{base}/root:/Conv/notes.txt:/content", data=b"plain").json()["id"]
    raw = s.get(f"{base}/items/{docx}/content", params={"format": "pdf"}, allow_redirects=False)
    assert raw.status_code == 302 and "download.aspx" in raw.headers["Location"]
    assert requests.get(raw.headers["Location"], timeout=10).headers["Content-Type"] == "application/pdf"
    pdf = lambda: RequestConfiguration(query_parameters=ContentRequestBuilder.  # noqa: E731
                                       ContentRequestBuilderGetQueryParameters(format="pdf"))

    async def run(client, drive):
        got = await drive.items.by_drive_item_id(docx).content.get(pdf())
        with pytest.raises(ODataError) as refused:
            await drive.items.by_drive_item_id(txt).content.get(pdf())
        return got, refused.value

    got, refused = _sdk(w, run)
    assert got.startswith(b"%PDF-1.") and got.rstrip().endswith(b"%%EOF") and b"report.docx" in got
    assert refused.response_status_code == 406
    assert s.get(f"{base}/items/{docx}/content", params={"format": "bogus"}).status_code == 400


def test_property_bags_through_office365(rest):
    """web.all_properties and a list's RootFolder/Properties read; a write through REST is refused [unc]."""
    w, ctx = rest
    w.sandbox.property_bag(w.site_id)["evidence_owner"] = "grc-team"
    props = ctx.web.all_properties.get().execute_query()
    values = props.to_json()
    assert values.get("vti_x005f_defaultlanguage") == "en-us" or values.get("vti_defaultlanguage") == "en-us"
    assert "grc-team" in values.values()
    root = ctx.web.lists.get_by_title("Evidence").root_folder  # office365's Folder has no Properties accessor
    bag = PropertyValues(ctx, ResourcePath("Properties", root.resource_path))
    ctx.load(bag)
    ctx.execute_query()
    folder_props = bag.to_json()
    assert "Evidence" in folder_props.values()
    with pytest.raises(ClientRequestException) as refused:
        ctx.web.set_property("AllProperties", {"x": "y"}).update().execute_query()
    assert refused.value.response.status_code == 400 and "SP.PropertyValues" in str(refused.value)


@pytest.fixture
def https_receiver():
    hook = Receiver()
    ctx, _ = server_context()
    hook.server.socket = ctx.wrap_socket(hook.server.socket, server_side=True)
    hook.url = f"https://127.0.0.1:{hook.server.server_port}/hook"
    yield hook
    hook.close()


def test_https_receiver_signed_by_sandbox_ca_and_list_resource_data(graph, https_receiver):
    w, s, _ = graph
    lid = _custom_list(w, s, "Watched")
    resource = f"/sites/{w.site_id}/lists/{lid}"
    made = s.post(f"{w.sandbox.graph_url}/subscriptions", json={
        "changeType": "updated", "notificationUrl": https_receiver.url, "resource": resource,
        "expirationDateTime": (datetime.now(UTC) + timedelta(days=1)).isoformat().replace("+00:00", "Z")})
    assert made.status_code == 201, made.text
    assert https_receiver.tokens  # validated over TLS
    assert s.post(f"{w.sandbox.graph_url}{resource}/items", json={"fields": {"Title": "x"}}).status_code == 201
    [note] = https_receiver.wait(1)[0]["value"]
    assert note["resource"] == resource and note["resourceData"] == {"@odata.type": "#Microsoft.Graph.ListItem"}



def test_list_item_versions_through_msgraph(graph, rest):
    """A custom list item updated through Graph and through REST has three versions, newest first, each with its
    fields; restoreVersion (204) makes the first version's fields a fourth, current version."""
    w, s, _ = graph
    _, ctx = rest
    lid = _custom_list(w, s, "Versioned")
    items = f"{w.sandbox.graph_url}/sites/{w.site_id}/lists/{lid}/items"
    assert s.post(items, json={"fields": {"Title": "v1", "Score": 1}}).status_code == 201
    assert s.patch(f"{items}/1/fields", json={"Title": "v2"}).status_code == 200
    ctx.web.lists.get_by_title("Versioned").get_item_by_id(1).set_property("Title", "v3").update().execute_query()

    async def run(client, _drive):
        item = client.sites.by_site_id(w.site_id).lists.by_list_id(lid).items.by_list_item_id("1")
        listed = await item.versions.get()
        first = await item.versions.by_list_item_version_id("1.0").get()
        await item.versions.by_list_item_version_id("1.0").restore_version.post()
        after = await item.versions.get()
        current = await item.fields.get()
        return listed, first, after, current

    listed, first, after, current = _sdk(w, run)
    assert [v.id for v in listed.value] == ["3.0", "2.0", "1.0"]
    assert [v.fields.additional_data["Title"] for v in listed.value] == ["v3", "v2", "v1"]
    assert first.id == "1.0" and first.last_modified_date_time is not None
    assert [v.id for v in after.value] == ["4.0", "3.0", "2.0", "1.0"]
    assert current.additional_data["Title"] == "v1"
    assert s.get(f"{items}/1/versions/9.0").status_code == 404


def test_library_list_item_versions(graph):
    w, s, base = graph
    for body in (b"one", b"two"):
        assert s.put(f"{base}/root:/Ver/doc.txt:/content", data=body).status_code in (200, 201)
    n = s.get(f"{base}/root:/Ver/doc.txt:/listItem").json()["id"]
    lst = s.get(f"{w.sandbox.graph_url}/drives/{w.library_id}/list").json()["id"]
    url = f"{w.sandbox.graph_url}/sites/{w.site_id}/lists/{lst}/items/{n}/versions"
    assert [v["id"] for v in s.get(url).json()["value"]] == ["2.0", "1.0"]
    assert s.post(f"{url}/1.0/restoreVersion").status_code == 204
    assert s.get(f"{base}/root:/Ver/doc.txt:/content").content == b"one"
