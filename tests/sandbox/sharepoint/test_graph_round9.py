"""Round 9 of Graph through msgraph-sdk: SharePoint lists that are not libraries. ``/sites/{id}/lists`` showed only
document libraries, ``POST lists`` was 405, ``lists/{id}/columns`` and ``contentTypes`` were 400, and a custom
list (REST only until now) was 404 through Graph; its items could not be added through Graph at all."""

from __future__ import annotations

import pytest

from tests.sandbox.sharepoint.test_client_probe import graph
from tests.sandbox.sharepoint.test_client_probe_more import _sdk
from tests.sandbox.sharepoint.test_rest_api import rest

__all__ = ["graph", "rest"]

PREFER = {"Prefer": "HonorNonIndexedQueriesWarningMayFailRandomly"}


def _app(w) -> str:
    return next(iter(w.sandbox.store.drives[w.library_id].grants))


def test_create_a_generic_list_and_its_items_through_msgraph(sharepoint):
    """lists.post(List(...)), items.post(ListItem(fields=FieldValueSet(...))), items.get with expand=fields(select=…)
    and $filter on a column (with the Prefer header), columns and content types."""
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.models.column_definition import ColumnDefinition
    from msgraph.generated.models.field_value_set import FieldValueSet
    from msgraph.generated.models.list_ import List_ as List
    from msgraph.generated.models.list_info import ListInfo
    from msgraph.generated.models.list_item import ListItem
    from msgraph.generated.models.number_column import NumberColumn
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError
    from msgraph.generated.models.text_column import TextColumn
    from msgraph.generated.sites.item.lists.item.items.items_request_builder import ItemsRequestBuilder

    w = sharepoint

    async def run(client, _drive):
        site = client.sites.by_site_id(w.site_id)
        made = await site.lists.post(List(display_name="Evidence Requests", list_=ListInfo(template="genericList"),
                                          columns=[ColumnDefinition(name="Status", text=TextColumn()),
                                                   ColumnDefinition(name="Score", number=NumberColumn())]))
        lst = site.lists.by_list_id(made.id)
        added = []
        for title, status, score in (("CC6.1", "Open", 3), ("CC7.2", "Closed", 1.5), ("A1.2", "Open", None)):
            values = {"Title": title, "Status": status, **({"Score": score} if score is not None else {})}
            added.append(await lst.items.post(ListItem(fields=FieldValueSet(additional_data=values))))
        query = ItemsRequestBuilder.ItemsRequestBuilderGetQueryParameters(expand=["fields(select=Title,Status)"])
        page = await lst.items.get(RequestConfiguration(query_parameters=query))
        with pytest.raises(ODataError) as refused:  # Status is not indexed: Graph wants the Prefer header
            await lst.items.get(RequestConfiguration(query_parameters=ItemsRequestBuilder.
                                                     ItemsRequestBuilderGetQueryParameters(
                                                         filter="fields/Status eq 'Open'", expand=["fields"])))
        config = RequestConfiguration(query_parameters=ItemsRequestBuilder.ItemsRequestBuilderGetQueryParameters(
            filter="fields/Status eq 'Open'", expand=["fields"]))
        config.headers.add("Prefer", "HonorNonIndexedQueriesWarningMayFailRandomly")
        open_items = await lst.items.get(config)
        columns = await lst.columns.get()
        types = await lst.content_types.get()
        lists = await site.lists.get()
        return made, added, page, refused.value, open_items, columns, types, lists

    made, added, page, refused, open_items, columns, types, lists = _sdk(w, run)
    assert (made.display_name, made.name, made.list_.template) == ("Evidence Requests", "EvidenceRequests",
                                                                    "genericList")
    assert made.web_url == "https://contoso.sharepoint.com/sites/GRC/Lists/EvidenceRequests"
    assert [i.id for i in added] == ["1", "2", "3"]
    assert added[0].fields.additional_data["Status"] == "Open" and added[0].fields.additional_data["Score"] == 3
    assert added[1].fields.additional_data["Score"] == 1.5 and "Score" not in added[2].fields.additional_data
    shown = [i.fields.additional_data for i in page.value]
    assert [(f["Title"], f["Status"]) for f in shown] == [("CC6.1", "Open"), ("CC7.2", "Closed"), ("A1.2", "Open")]
    assert all(set(f) <= {"@odata.etag", "id", "Title", "Status"} for f in shown)
    assert refused.response_status_code == 400 and "HonorNonIndexedQueriesWarningMayFailRandomly" in \
        refused.error.message
    assert [i.fields.additional_data["Title"] for i in open_items.value] == ["CC6.1", "A1.2"]
    names = [c.name for c in columns.value]
    assert names[0] == "Title" and {"Status", "Score", "Created", "Attachments"} <= set(names)
    status = next(c for c in columns.value if c.name == "Status")
    assert status.text is not None and status.indexed is False
    assert next(c for c in columns.value if c.name == "Score").number is not None
    assert [t.name for t in types.value] == ["Item", "Folder"] and types.value[0].id.startswith("0x0100")
    templates = {x.display_name: x.list_.template for x in lists.value}
    assert templates == {"Evidence": "documentLibrary", "Policies": "documentLibrary",
                         "Evidence Requests": "genericList"}


def test_items_update_delete_and_paging_over_http(graph):
    """POST items (201), PATCH fields, PATCH the item, DELETE (204), $top paging with @odata.nextLink, a field
    the list lacks is 400, expand without the $ (as Graph documents it)."""
    w, s, _ = graph
    lists = f"{w.sandbox.graph_url}/sites/{w.site_id}/lists"
    r = s.post(lists, json={"displayName": "Findings", "columns": [{"name": "Status", "text": {}}],
                            "list": {"template": "genericList"}})
    assert r.status_code == 201, r.text
    base = f"{lists}/{r.json()['id']}/items"
    for n in range(5):
        made = s.post(base, json={"fields": {"Title": f"F{n}", "Status": "Open"}})
        assert made.status_code == 201 and made.json()["fields"]["Title"] == f"F{n}"
    assert made.json()["webUrl"].endswith("/sites/GRC/Lists/Findings/5_.000")
    bad = s.post(base, json={"fields": {"Colour": "red"}})
    assert bad.status_code == 400 and bad.json()["error"]["message"] == "Field 'Colour' is not recognized"
    patched = s.patch(f"{base}/2/fields", json={"Status": "Closed"})
    assert patched.status_code == 200 and patched.json()["Status"] == "Closed"
    assert patched.json()["_UIVersionString"] == "2.0"
    whole = s.patch(f"{base}/3", json={"fields": {"Title": "F3b"}})
    assert whole.status_code == 200 and whole.json()["fields"]["Title"] == "F3b"
    assert s.delete(f"{base}/1").status_code == 204
    assert s.get(f"{base}/1").status_code == 404
    page = s.get(base, params={"$top": 2, "expand": "fields(select=Title)"}).json()
    seen = [v["fields"]["Title"] for v in page["value"]]
    while "@odata.nextLink" in page:
        page = s.get(page["@odata.nextLink"]).json()
        seen += [v["fields"]["Title"] for v in page["value"]]
    assert seen == ["F1", "F3b", "F3", "F4"]
    closed = s.get(base, params={"$filter": "fields/Status eq 'Closed'", "$expand": "fields"}, headers=PREFER)
    assert [v["id"] for v in closed.json()["value"]] == ["2"]
    taken = s.post(lists, json={"displayName": "findings"})
    assert taken.status_code == 409


def test_one_store_for_graph_and_sharepoint_rest(sharepoint, rest):
    """A list made through REST's custom lists shows through Graph with its items, and an item added through Graph
    reads back through office365's ClientContext."""
    w, ctx = rest
    w.sandbox.add_custom_list(w.site_id, "Control Tests", grants={_app(w): "write"}, columns={"Control"})
    lst = ctx.web.lists.get_by_title("Control Tests")
    lst.add_item({"Title": "from REST", "Control": "CC6.1"}).execute_query()

    async def run(client, _drive):
        from msgraph.generated.models.field_value_set import FieldValueSet
        from msgraph.generated.models.list_item import ListItem

        site = client.sites.by_site_id(w.site_id)
        found = next(x for x in (await site.lists.get()).value if x.display_name == "Control Tests")
        items = site.lists.by_list_id(found.id).items
        await items.post(ListItem(fields=FieldValueSet(additional_data={"Title": "from Graph", "Control": "CC7"})))
        one = await items.by_list_item_id("1").fields.get()
        return found, one

    found, one = _sdk(w, run)
    assert found.list_.template == "genericList" and found.name == "ControlTests"
    assert (one.additional_data["Title"], one.additional_data["Control"]) == ("from REST", "CC6.1")
    rows = lst.items.get().execute_query()
    assert [(i.properties["Title"], i.properties["Control"]) for i in rows] == [("from REST", "CC6.1"),
                                                                              ("from Graph", "CC7")]


def test_library_columns_content_types_and_new_library(graph):
    """A library's columns and content types through Graph; POST lists with documentLibrary makes a drive;
    an app with read only cannot write a list it may read."""
    w, s, _ = graph
    lists = f"{w.sandbox.graph_url}/sites/{w.site_id}/lists"
    cols = s.get(f"{lists}/Evidence/columns").json()["value"]
    assert {"Title", "FileLeafRef", "EvidenceSha256", "EvidenceMetadata"} <= {c["name"] for c in cols}
    added = s.post(f"{lists}/Evidence/columns", json={"name": "Reviewer", "text": {"maxLength": 100}})
    assert added.status_code == 201 and added.json()["text"]["maxLength"] == 100
    assert s.post(f"{lists}/Evidence/columns", json={"name": "Reviewer", "text": {}}).status_code == 409
    assert s.get(f"{lists}/Evidence/contentTypes").json()["value"][0]["name"] == "Document"
    lib = s.post(lists, json={"displayName": "Audit Files", "list": {"template": "documentLibrary"}})
    assert lib.status_code == 201 and lib.json()["list"]["template"] == "documentLibrary"
    drive = s.get(f"{lists}/{lib.json()['id']}/drive").json()
    assert s.put(f"{w.sandbox.graph_url}/drives/{drive['id']}/root:/a.txt:/content", data=b"a").status_code == 201
    w.sandbox.add_custom_list(w.site_id, "Read Only", grants={_app(w): "read"})
    ro = f"{lists}/ReadOnly/items"
    assert s.get(ro).status_code == 200
    assert s.post(ro, json={"fields": {"Title": "x"}}).status_code == 403
    w.sandbox.add_custom_list(w.site_id, "Hidden", grants={})
    assert "Hidden" not in [x["displayName"] for x in s.get(lists).json()["value"]]


def test_list_expand_and_an_indexed_column(graph):
    """GET a list with $expand=columns,items(expand=fields); a column created indexed filters without the Prefer
    header, an unindexed one still needs it."""
    w, s, _ = graph
    lists = f"{w.sandbox.graph_url}/sites/{w.site_id}/lists"
    made = s.post(lists, json={"displayName": "Risks", "columns": [{"name": "Owner", "text": {}, "indexed": True},
                                                                   {"name": "Level", "text": {}}]}).json()
    assert made["list"]["template"] == "genericList"  # the default template
    for owner in ("ann", "bob"):
        s.post(f"{lists}/{made['id']}/items", json={"fields": {"Title": f"R-{owner}", "Owner": owner}})
    shown = s.get(f"{lists}/{made['id']}", params={"$expand": "columns,items(expand=fields(select=Owner))"}).json()
    assert next(c for c in shown["columns"] if c["name"] == "Owner")["indexed"] is True
    assert [i["fields"]["Owner"] for i in shown["items"]] == ["ann", "bob"]
    assert "Title" not in shown["items"][0]["fields"]
    items = f"{lists}/{made['id']}/items"
    by_owner = s.get(items, params={"$filter": "fields/Owner eq 'bob'", "$expand": "fields"})
    assert by_owner.status_code == 200 and [v["fields"]["Title"] for v in by_owner.json()["value"]] == ["R-bob"]
    assert s.get(items, params={"$filter": "fields/Level eq 'high'"}).status_code == 400
