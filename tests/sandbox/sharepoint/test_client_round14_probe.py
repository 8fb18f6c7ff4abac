"""Probe round 14 through office365-rest-python-client's ``ClientContext`` and msgraph-sdk, unchanged: calls
no earlier round covered that were 400 "The expression … is not valid." (``File.open_binary_stream``,
``Web.fields`` / ``available_fields`` / ``content_types`` / ``regional_settings``) or 404 "Requested site
could not be found" (Graph's ``sites/{id}/sites`` and ``sites/{id}/permissions``)."""

from __future__ import annotations

import pytest
from office365.runtime.client_request_exception import ClientRequestException

from tests.sandbox.sharepoint.test_client_probe import graph
from tests.sandbox.sharepoint.test_client_probe_more import _sdk
from tests.sandbox.sharepoint.test_rest_api import rest

__all__ = ["graph", "rest"]
EVIDENCE = "/sites/GRC/Evidence"


def test_open_binary_stream(rest):
    _, ctx = rest
    ctx.web.get_folder_by_server_relative_url(EVIDENCE).upload_file("policy.txt", b"v1 text").execute_query()
    f = ctx.web.get_file_by_server_relative_url(f"{EVIDENCE}/policy.txt")
    assert f.open_binary_stream().execute_query().value == b"v1 text"
    assert f.open_binary_stream_with_options(0).execute_query().value == b"v1 text"


def test_web_fields_and_available_fields(rest):
    _, ctx = rest
    fields = ctx.web.fields.get().execute_query()
    names = {f.internal_name for f in fields}
    assert {"Title", "FileLeafRef", "Created", "Modified", "Author", "Editor"} <= names
    assert "EvidenceSha256" not in names  # a library's own column is not the web's
    title = ctx.web.fields.get_by_internal_name_or_title("Title").get().execute_query()
    assert (title.internal_name, title.type_as_string) == ("Title", "Text")
    assert {f.internal_name for f in ctx.web.available_fields.get().execute_query()} == names
    with pytest.raises(ClientRequestException) as info:
        ctx.web.fields.get_by_internal_name_or_title("NoSuchColumn").get().execute_query()
    assert info.value.response.status_code == 404


def test_web_content_types(rest):
    _, ctx = rest
    types = ctx.web.content_types.get().execute_query()
    assert {t.name: t.string_id for t in types} == {"Item": "0x01", "Document": "0x0101", "Folder": "0x0120"}
    assert ctx.web.content_types.get_by_id("0x0101").get().execute_query().name == "Document"
    assert len(ctx.web.available_content_types.get().execute_query()) == 3


def test_web_regional_settings_and_time_zone(rest):
    _, ctx = rest
    settings = ctx.web.regional_settings.get().execute_query()
    assert settings.properties["LocaleId"] == 1033
    zone = ctx.web.regional_settings.time_zone.get().execute_query()
    assert zone.properties["Description"] == "(UTC) Coordinated Universal Time"
    assert zone.properties["Information"].Bias == 0


def test_graph_subsites_and_site_permissions(graph):
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    w, s, _ = graph

    async def run(client, _drive):
        subsites = await client.sites.by_site_id(w.site_id).sites.get()
        try:
            await client.sites.by_site_id(w.site_id).permissions.get()
        except ODataError as exc:
            return subsites, exc
        return subsites, None

    subsites, refused = _sdk(w, run)
    assert subsites.value == []
    assert refused is not None and refused.response_status_code == 403 and refused.error.code == "accessDenied"
    by_path = s.get(f"{w.sandbox.graph_url}/sites/contoso.sharepoint.com:/sites/GRC:/sites")
    assert by_path.status_code == 200 and by_path.json()["value"] == []
    missing = s.get(f"{w.sandbox.graph_url}/sites/contoso.sharepoint.com:/sites/Nowhere:/sites")
    assert missing.status_code == 404


def test_list_item_by_unique_id_by_url_and_parent_web(rest):
    """GetItemByUniqueId, Web/GetListItem(UsingPath) and List/ParentWeb were 400 "The expression … is not valid."."""
    _, ctx = rest
    folder = ctx.web.get_folder_by_server_relative_url(EVIDENCE)
    folder.upload_file("soc2.pdf", b"%PDF").execute_query()
    made = ctx.web.get_file_by_server_relative_url(f"{EVIDENCE}/soc2.pdf").get().execute_query()
    lib = ctx.web.lists.get_by_title("Evidence")
    by_guid = lib.get_item_by_unique_id(made.unique_id).get().execute_query()
    assert by_guid.properties["FileLeafRef"] == "soc2.pdf"
    by_url = ctx.web.get_list_item(f"{EVIDENCE}/soc2.pdf").get().execute_query()
    by_path = ctx.web.get_list_item_using_path(f"{EVIDENCE}/soc2.pdf").get().execute_query()
    assert by_url.id == by_path.id == by_guid.id
    ctx.web.get_list_item(f"{EVIDENCE}/soc2.pdf").set_property("EvidenceSha256", "abc").update().execute_query()
    assert lib.get_item_by_id(by_guid.id).get().execute_query().properties["EvidenceSha256"] == "abc"
    assert lib.parent_web.get().execute_query().title == "GRC"
    for call in (lambda: lib.get_item_by_unique_id("00000000-0000-0000-0000-000000000001"),
                 lambda: ctx.web.get_list_item(f"{EVIDENCE}/missing.pdf")):
        with pytest.raises(ClientRequestException) as info:
            call().get().execute_query()
        assert info.value.response.status_code == 404


def test_graph_list_items_delta(graph):
    """lists/{id}/items/delta was 404 "The list item was not found."; now listItem delta, as the drive's."""
    w, s, base = graph
    a = s.put(f"{base}/root:/Delta/a.txt:/content", data=b"a").json()

    async def run(client, drive):
        lst = await drive.list_.get()
        items = client.sites.by_site_id(w.site_id).lists.by_list_id(lst.id).items
        first = await items.delta.get()
        return lst.id, first

    lid, first = _sdk(w, run)
    assert sorted(i.content_type.name for i in first.value) == ["Document", "Folder"]
    assert first.odata_delta_link and "/items/delta?token=" in first.odata_delta_link
    s.put(f"{base}/root:/Delta/b.txt:/content", data=b"b")
    s.delete(f"{base}/items/{a['id']}")
    later = s.get(first.odata_delta_link).json()
    assert [(x["contentType"]["name"], "deleted" in x) for x in later["value"]] == [("Document", False),
                                                                                  ("Document", True)]
    assert later["value"][0]["id"] != later["value"][1]["id"]
    sites = f"{w.sandbox.graph_url}/sites/{w.site_id}/lists/{lid}/items"
    latest = s.get(f"{sites}/delta?token=latest").json()
    assert latest["value"] == [] and latest["@odata.deltaLink"]
    paged = s.get(f"{sites}/delta()?$top=1&$expand=fields").json()
    assert len(paged["value"]) == 1 and "fields" in paged["value"][0] and "$expand=fields" in paged["@odata.nextLink"]
    assert s.get(f"{sites}/delta?token=nonsense").status_code == 410


def test_render_list_data_and_a_web_update(rest):
    """List.render_list_data (RenderListData) and an update of the web were 400 "The expression … is not
    valid."; the web update needs ManageWeb, which a Sites.Selected write app does not hold: 403."""
    import json

    _, ctx = rest
    folder = ctx.web.get_folder_by_server_relative_url(EVIDENCE)
    for name in ("r1.txt", "r2.txt", "r3.txt"):
        folder.upload_file(name, b"r").execute_query()
    lib = ctx.web.lists.get_by_title("Evidence")
    data = json.loads(lib.render_list_data("<View><RowLimit>2</RowLimit></View>").execute_query().value)
    assert [r["FileLeafRef"] for r in data["Row"]] == ["r1.txt", "r2.txt"] and data["NextHref"]
    with pytest.raises(ClientRequestException) as info:
        ctx.web.set_property("Description", "GRC evidence").update().execute_query()
    assert info.value.response.status_code == 403
    assert ctx.web.get().execute_query().title == "GRC"


def test_parent_folder_of_a_library_root_is_the_web_folder(rest):
    """A library root folder's ParentFolder was 400 "The expression … is not valid."."""
    _, ctx = rest
    ctx.web.get_folder_by_server_relative_url(EVIDENCE).folders.add("Q1").execute_query()
    up = ctx.web.get_folder_by_server_relative_url(f"{EVIDENCE}/Q1").parent_folder.get().execute_query()
    assert up.server_relative_url == EVIDENCE
    web_folder = ctx.web.get_folder_by_server_relative_url(EVIDENCE).parent_folder.get().execute_query()
    assert web_folder.server_relative_url == "/sites/GRC"
