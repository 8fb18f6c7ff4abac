"""Round 28: SharePoint REST calls office365-rest-python-client makes on custom (generic) lists, unchanged: folders
in a list (Folder content type, items in a folder, FileSystemObjectType), ``GetListItemChangesSinceToken`` and the
hidden User Information List (``web.site_user_info_list``)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import requests
from office365.runtime.client_request_exception import ClientRequestException
from office365.sharepoint.changes.log_item_query import ChangeLogItemQuery
from office365.sharepoint.listitems.caml.query import CamlQuery
from office365.sharepoint.listitems.creation_information import ListItemCreationInformation
from office365.sharepoint.lists.creation_information import ListCreationInformation
from office365.sharepoint.lists.templates.type import ListTemplateType

from tests.sandbox.sharepoint.test_client_probe import _token
from tests.sandbox.sharepoint.test_client_probe_more import _sdk
from tests.sandbox.sharepoint.test_rest_api import SP_SCOPE, rest

__all__ = ["rest"]
ROOT = "/sites/GRC/Lists/Controls"
Z = "{#RowsetSchema}row"


@pytest.fixture
def controls(rest):
    w, ctx = rest
    lst = ctx.web.lists.add(ListCreationInformation("Controls", None, ListTemplateType.GenericList)).execute_query()
    return w, ctx, lst


def _rows(xml: bytes) -> tuple[ET.Element, list[dict[str, str]]]:
    root = ET.fromstring(xml)
    return root, [dict(r.attrib) for r in root.iter(Z)]


def test_folders_in_a_custom_list(controls):
    _w, ctx, lst = controls
    q1 = lst.root_folder.folders.add("Q1").execute_query()
    assert (q1.name, q1.server_relative_url) == ("Q1", f"{ROOT}/Q1")
    made = lst.add_item(ListItemCreationInformation(LeafName="Q2", UnderlyingObjectType=1)).execute_query()
    assert made.properties["FileSystemObjectType"] == 1 and made.properties["ContentTypeId"].startswith("0x0120")
    lst.add_item({"Title": "at the root"}).execute_query()
    # AddValidateUpdateItem: an item in a folder, with its fields; the answer names the new item's id
    result = lst.add_validate_update_item(ListItemCreationInformation(FolderUrl=f"{ROOT}/Q1"),
                                          {"Title": "in Q1"}).execute_query()
    values = {v.FieldName: v for v in result.value}
    assert values["Title"].HasException is False and values["Id"].FieldValue == str(values["Id"].ItemId)
    inner = ctx.web.get_folder_by_server_relative_url(f"{ROOT}/Q1").folders.add("Inner").execute_query()
    assert inner.server_relative_url == f"{ROOT}/Q1/Inner"
    ctx.web.folders.add("Lists/Controls/Q3").execute_query()  # the web's Folders/Add with a site-relative URL

    items = lst.items.select(["Id", "Title", "FileSystemObjectType", "FileRef", "FileDirRef", "FileLeafRef"]) \
        .get().execute_query()
    got = {i.properties["Title"]: (i.properties["FileSystemObjectType"], i.properties["FileDirRef"],
                                   i.properties["FileLeafRef"]) for i in items}
    item_id = values["Id"].ItemId
    assert got == {"Q1": (1, ROOT, "Q1"), "Q2": (1, ROOT, "Q2"), "at the root": (0, ROOT, f"{made.id + 1}_.000"),
                   "in Q1": (0, f"{ROOT}/Q1", f"{item_id}_.000"), "Inner": (1, f"{ROOT}/Q1", "Inner"),
                   "Q3": (1, ROOT, "Q3")}
    plain = lst.items.get().execute_query()[0].properties  # paths are shown only when selected, as SharePoint does
    assert "FileRef" not in plain and plain["FileSystemObjectType"] in (0, 1)
    folders = lst.items.filter("FSObjType eq 1").select(["FileLeafRef"]).get().execute_query()
    assert sorted(f.properties["FileLeafRef"] for f in folders) == ["Inner", "Q1", "Q2", "Q3"]

    q1_folder = ctx.web.get_folder_by_server_relative_url(f"{ROOT}/Q1").get().execute_query()
    assert q1_folder.properties["ItemCount"] == 2  # "in Q1" and "Inner"
    assert [f.name for f in q1_folder.folders.get().execute_query()] == ["Inner"]
    assert q1_folder.list_item_all_fields.get().execute_query().properties["FileSystemObjectType"] == 1
    # CAML: the root folder's rows by default, a folder's with FolderServerRelativeUrl, every item with Scope
    root_rows = lst.get_items(CamlQuery.parse("<View><Query></Query></View>")).execute_query()
    assert sorted(i.properties["Title"] for i in root_rows) == ["Q1", "Q2", "Q3", "at the root"]
    in_q1 = CamlQuery.parse("<View><Query></Query></View>")
    in_q1.FolderServerRelativeUrl = f"{ROOT}/Q1"
    assert sorted(i.properties["Title"] for i in lst.get_items(in_q1).execute_query()) == ["Inner", "in Q1"]
    every = lst.get_items(CamlQuery(ViewXml='<View Scope="Recursive"><Query></Query></View>')).execute_query()
    assert sorted(i.properties["Title"] for i in every) == ["at the root", "in Q1"]
    every = lst.get_items(CamlQuery(ViewXml='<View Scope="RecursiveAll"><Query></Query></View>')).execute_query()
    assert len(every) == 6  # folders too

    ctx.web.get_folder_by_server_relative_url(f"{ROOT}/Q1").delete_object().execute_query()  # and what is in it
    left = sorted(i.properties["Title"] for i in lst.items.get().execute_query())
    assert left == ["Q2", "Q3", "at the root"]
    with pytest.raises(ClientRequestException) as info:
        ctx.web.get_folder_by_server_relative_url(f"{ROOT}/Q1").get().execute_query()
    assert info.value.response.status_code == 404


def test_folder_errors_and_graph_content_type(controls):
    w, _ctx, lst = controls
    lst.root_folder.folders.add("Evidence 2026").execute_query()
    with pytest.raises(ClientRequestException) as info:  # addItem does not take a taken folder name
        lst.add_item(ListItemCreationInformation(LeafName="Evidence 2026", UnderlyingObjectType=1)).execute_query()
    assert info.value.response.status_code == 400 and "already exists" in info.value.message
    again = lst.root_folder.folders.add("Evidence 2026").execute_query()  # Folders/Add answers the one there
    assert again.server_relative_url == f"{ROOT}/Evidence 2026"
    with pytest.raises(ClientRequestException) as info:  # an item in a folder that is not there
        lst.add_validate_update_item(ListItemCreationInformation(FolderUrl=f"{ROOT}/Nope"), {"Title": "x"}) \
            .execute_query()
    assert info.value.response.status_code == 404
    graph = requests.Session()
    graph.headers["Authorization"] = "Bearer " + _token(w)
    items = graph.get(f"{w.sandbox.graph_url}/sites/{w.site_id}/lists/{lst.id}/items", params={"$expand": "fields"},
                      timeout=10).json()["value"]
    assert [(i["contentType"]["name"], i["fields"]["ContentType"]) for i in items] == [("Folder", "Folder")]


def test_list_item_changes_since_token(controls):
    _w, ctx, lst = controls
    a = lst.add_item({"Title": "alpha"}).execute_query()
    b = lst.add_item({"Title": "beta"}).execute_query()
    first = lst.get_list_item_changes_since_token(ChangeLogItemQuery()).execute_query().value
    root, rows = _rows(first)
    changes = root.find("Changes")
    assert changes is not None and changes.find("List") is not None  # the first call carries the list's schema
    token = changes.get("LastChangeToken")
    assert token.startswith(f"1;3;{lst.id};") and [r["ows_Title"] for r in rows] == ["alpha", "beta"]
    assert rows[0]["ows_ID"] == str(a.id) and rows[0]["ows_FSObjType"] == f"{a.id};#0"

    a.set_property("Title", "alpha 2").update().execute_query()
    b.delete_object().execute_query()
    lst.add_item({"Title": "gamma"}).execute_query()
    later = lst.get_list_item_changes_since_token(ChangeLogItemQuery(ChangeToken=token)).execute_query().value
    root, rows = _rows(later)
    assert [r["ows_Title"] for r in rows] == ["alpha 2", "gamma"]
    assert root.find("Changes/List") is None
    assert [(i.get("ChangeType"), i.text) for i in root.findall("Changes/Id")] == [("Delete", str(b.id))]
    assert root.find("{urn:schemas-microsoft-com:rowset}data").get("ItemCount") == "2"

    # RowLimit: MoreChanges and a token after the last change shown
    paged = lst.get_list_item_changes_since_token(ChangeLogItemQuery(ChangeToken=token, RowLimit="1")) \
        .execute_query().value
    root, rows = _rows(paged)
    assert root.find("Changes").get("MoreChanges") == "TRUE" and [r["ows_Title"] for r in rows] == ["alpha 2"]
    rest_of = lst.get_list_item_changes_since_token(
        ChangeLogItemQuery(ChangeToken=root.find("Changes").get("LastChangeToken"))).execute_query().value
    assert [r["ows_Title"] for r in _rows(rest_of)[1]] == ["gamma"]
    # a query narrows the rows
    where = "<Where><Eq><FieldRef Name='Title'/><Value Type='Text'>gamma</Value></Eq></Where>"
    narrowed = lst.get_list_item_changes_since_token(ChangeLogItemQuery(Query=where)).execute_query().value
    assert [r["ows_Title"] for r in _rows(narrowed)[1]] == ["gamma"]

    with pytest.raises(ClientRequestException) as info:  # another list's token
        other = ctx.web.lists.add(ListCreationInformation("Other", None, ListTemplateType.GenericList)) \
            .execute_query()
        other.get_list_item_changes_since_token(ChangeLogItemQuery(ChangeToken=token)).execute_query()
    assert info.value.response.status_code == 400


def test_user_information_list(rest):
    w, ctx = rest
    ctx.web.ensure_user("auditor@contoso.com").execute_query()
    uil = ctx.web.site_user_info_list.get().execute_query()
    assert (uil.title, uil.properties["BaseTemplate"], uil.properties["Hidden"]) == ("User Information List", 112,
                                                                                     True)
    same = ctx.web.lists.get_by_title("User Information List").get().execute_query()
    assert same.id == uil.id
    people = ctx.web.site_user_info_list.items.select(["Id", "Title", "Name", "EMail"]).get().execute_query()
    users = {u.id: u for u in ctx.web.site_users.get().execute_query()}
    assert {p.id for p in people} == set(users)  # the same ids as the site's users
    auditor = next(p for p in people if p.properties["EMail"] == "auditor@contoso.com")
    assert auditor.properties["Name"] == users[auditor.id].login_name
    one = ctx.web.site_user_info_list.get_item_by_id(auditor.id).get().execute_query()
    assert one.properties["Title"] == auditor.properties["Title"]
    with pytest.raises(ClientRequestException) as info:
        ctx.web.site_user_info_list.get_item_by_id(999).get().execute_query()
    assert info.value.response.status_code == 404
    with pytest.raises(ClientRequestException) as info:  # the app may not write it
        ctx.web.site_user_info_list.add_item({"Title": "x"}).execute_query()
    assert info.value.response.status_code == 403
    token = _token(w, SP_SCOPE)
    r = requests.get(f"{w.sandbox.url}/sites/GRC/_api/web/SiteUserInfoList/items", timeout=10,
                     params={"$filter": "EMail eq 'auditor@contoso.com'", "$select": "Title"},
                     headers={"Authorization": f"Bearer {token}", "Accept": "application/json;odata=nometadata"})
    assert r.status_code == 200 and [v["Title"] for v in r.json()["value"]] == [auditor.properties["Title"]]


def test_list_by_its_id_item_text_and_recycle_bin(controls):
    """``Web/lists('<id>')`` (office365's path for a list it made) answered every list, so ``ItemCount`` read 0;
    a custom list item had no ``FieldValuesAsText``; its ``recycle()`` left nothing in the bin to restore."""
    _w, ctx, lst = controls
    first = lst.add_item({"Title": "keep"}).execute_query()
    second = lst.add_item({"Title": "bin me"}).execute_query()
    assert lst.get().select(["ItemCount"]).execute_query().item_count == 2
    text = first.field_values_as_text.get().execute_query().properties
    assert (text["Title"], text["Attachments"], text["Author"]) == ("keep", "No", "SharePoint App")
    bin_id = second.recycle().execute_query().value
    entry = ctx.web.recycle_bin.get_by_id(bin_id).get().execute_query()
    assert (entry.properties["Title"], entry.properties["ItemType"], entry.properties["LeafName"],
            entry.properties["DirName"]) == ("bin me", 3, f"{second.id}_.000", ROOT.lstrip("/"))
    assert [i.id for i in lst.items.get().execute_query()] == [first.id]
    entry.restore().execute_query()
    assert sorted(i.id for i in lst.items.get().execute_query()) == [first.id, second.id]  # back with its id
    assert [e.id for e in ctx.web.recycle_bin.get().execute_query()] == []
    folder = lst.root_folder.folders.add("Old").execute_query()
    folder.recycle().execute_query()  # a list folder goes to the bin as a folder
    assert [(e.properties["LeafName"], e.properties["ItemType"]) for e in ctx.web.recycle_bin.get().execute_query()] \
        == [("Old", 5)]


def test_custom_list_items_delta_through_msgraph(sharepoint):
    """``lists/{id}/items/delta`` on a custom list was 404 "The specified list item was not found."."""
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError
    from msgraph.generated.sites.item.lists.item.items.delta.delta_request_builder import DeltaRequestBuilder

    w = sharepoint
    lst = w.sandbox.add_custom_list(w.site_id, "Reqs", grants={f"{w.tenant_id}/{w.client_id}": "write"},
                                    columns={"Control"})
    graph = requests.Session()
    graph.headers["Authorization"] = "Bearer " + _token(w)
    items = f"{w.sandbox.graph_url}/sites/{w.site_id}/lists/{lst.id}/items"
    made = [graph.post(items, json={"fields": {"Title": f"r{n}", "Control": "AC-2"}}, timeout=10).json()["id"]
            for n in range(3)]

    async def run(client, _drive):
        builder = client.sites.by_site_id(w.site_id).lists.by_list_id(lst.id).items.delta
        top2 = RequestConfiguration(query_parameters=DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(top=2))
        first = await builder.get(request_configuration=top2)
        second = await builder.with_url(first.odata_next_link).get()
        graph.patch(f"{items}/{made[0]}/fields", json={"Control": "AC-3"}, timeout=10)
        graph.delete(f"{items}/{made[1]}", timeout=10)
        later = await builder.with_url(second.odata_delta_link).get()
        try:
            await builder.with_url(f"{items}/delta?token=c999999999").get()
        except ODataError as exc:
            refused = (exc.response_status_code, exc.error.code)
        return first, second, later, refused

    first, second, later, refused = _sdk(w, run)
    assert [i.id for i in first.value] == made[:2] and first.odata_delta_link is None
    assert [i.id for i in second.value] == made[2:] and second.odata_next_link is None
    assert [(i.id, i.deleted is not None) for i in later.value] == [(made[0], False), (made[1], True)]
    assert refused == (410, "resyncRequired")


def test_list_expand_root_folder(controls):
    """``$expand=RootFolder`` on a list was left out, so office365's ``ensure_property("RootFolder")`` (as
    ``List.get_item_by_url`` calls it) found no root folder and failed its assertion."""
    _w, ctx, lst = controls
    ctx.web.get_folder_by_server_relative_url("/sites/GRC/Evidence").upload_file("by-url.txt", b"u").execute_query()
    item = ctx.web.lists.get_by_title("Evidence").get_item_by_url("by-url.txt").execute_query()
    assert item.properties["FileLeafRef"] == "by-url.txt"
    custom = ctx.web.lists.get_by_title("Controls").get().expand(["RootFolder"]).execute_query()
    assert (custom.root_folder.server_relative_url, custom.root_folder.name) == (ROOT, "Controls")
    both = ctx.web.lists.get().expand(["RootFolder"]).execute_query()
    assert {x.title: x.root_folder.server_relative_url for x in both} == {
        "Evidence": "/sites/GRC/Evidence", "Policies": "/sites/GRC/Policies", "Controls": ROOT}
    assert lst.id == custom.id


def test_library_changes_since_token(rest):
    """``GetListItemChangesSinceToken`` on a document library: files and folders as rows, a deleted file as an
    ``<Id ChangeType="Delete">``; it was 400 there too."""
    _w, ctx = rest
    lib = ctx.web.lists.get_by_title("Evidence")
    folder = ctx.web.get_folder_by_server_relative_url("/sites/GRC/Evidence")
    folder.upload_file("one.txt", b"1").execute_query()
    ctx.web.ensure_folder_path("Evidence/audit").execute_query()
    root, rows = _rows(lib.get_list_item_changes_since_token(ChangeLogItemQuery()).execute_query().value)
    got = {r["ows_FileLeafRef"].split(";#")[1]: (r["ows_FSObjType"].split(";#")[1], r["ows_ContentType"]) for r in rows}
    assert got == {"one.txt": ("0", "Document"), "audit": ("1", "Folder")}
    assert root.find("Changes/List").get("ServerTemplate") == "101"
    token = root.find("Changes").get("LastChangeToken")
    one = next(r for r in rows if r["ows_FileLeafRef"].endswith("one.txt"))
    assert one["ows_FileRef"].endswith(";#sites/GRC/Evidence/one.txt") and one["ows_File_x0020_Size"].endswith(";#1")

    folder.upload_file("two.txt", b"22").execute_query()
    ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/one.txt").delete_object().execute_query()
    root, rows = _rows(lib.get_list_item_changes_since_token(ChangeLogItemQuery(ChangeToken=token)).execute_query()
                       .value)
    assert [r["ows_FileLeafRef"].split(";#")[1] for r in rows] == ["two.txt"]
    assert [(i.get("ChangeType"), i.text) for i in root.findall("Changes/Id")] == [("Delete", one["ows_ID"])]
    view = ChangeLogItemQuery(ViewFields="<ViewFields><FieldRef Name='Title'/></ViewFields>")
    _, rows = _rows(lib.get_list_item_changes_since_token(view).execute_query().value)
    assert "ows_FileLeafRef" not in rows[0] and "ows_FileRef" in rows[0]  # ViewFields narrows the attributes
    with pytest.raises(ClientRequestException) as info:
        lib.get_list_item_changes_since_token(ChangeLogItemQuery(ChangeToken="not a token")).execute_query()
    assert info.value.response.status_code == 400


def test_custom_list_expand_author(controls):
    """``$select=Author/Title&$expand=Author`` on a custom list's items left ``Author`` out; SharePoint expands
    the user lookup to its User Information List item."""
    _w, _ctx, lst = controls
    lst.add_item({"Title": "who"}).execute_query()
    items = lst.items.select(["Title", "Author/Title", "Editor/EMail"]).expand(["Author", "Editor"]).get() \
        .execute_query()
    props = items[0].properties
    assert props["Author"] == {"Title": "SharePoint App"}
    assert list(props["Editor"]) == ["EMail"]
    plain = lst.items.select(["Title"]).expand(["Author"]).get().execute_query()[0].properties
    assert "Author" not in plain  # expanded but not selected: left out, as SharePoint does
