"""Probe round 8 of SharePoint REST through office365-rest-python-client's ``ClientContext``, unchanged: a
library's content types, views and view fields, the web's role assignments and role definitions, and list
item attachments (a document library takes none; a custom list's items do, which the sandbox did not have),
each of which answered 400 "The expression … is not valid." before; and Graph's special folders and item
preview."""

from __future__ import annotations

import pytest
import requests
from office365.runtime.client_request_exception import ClientRequestException

from tests.sandbox.sharepoint.test_client_probe import _token, graph
from tests.sandbox.sharepoint.test_client_probe_more import _sdk
from tests.sandbox.sharepoint.test_client_probe_round7 import _library as _evidence_library
from tests.sandbox.sharepoint.test_rest_api import SP_SCOPE, rest

__all__ = ["graph", "rest"]


def _library(ctx):
    return _evidence_library(ctx, "soc2.pdf")


def test_library_content_types_and_views(rest):
    _w, ctx = rest
    lib, _item = _library(ctx)
    types = lib.content_types.get().execute_query()
    assert [t.name for t in types] == ["Document", "Folder"]
    assert types[0].id.StringValue.startswith("0x010100") and types[1].string_id.startswith("0x012000")
    views = lib.views.get().execute_query()
    assert [(v.title, v.default_view) for v in views] == [("All Documents", True)]
    default = lib.default_view.get().execute_query()
    assert default.id == views[0].id and default.server_relative_url == "/sites/GRC/Evidence/Forms/AllItems.aspx"
    fields = lib.views.get_by_title("All Documents").view_fields.get().execute_query()
    assert list(fields) == ["DocIcon", "LinkFilename", "Modified", "Editor"]
    assert list(lib.default_view.view_fields.get().execute_query()) == list(fields)
    with pytest.raises(ClientRequestException) as info:
        lib.views.get_by_title("All Items").get().execute_query()  # a custom list's view, not a library's
    assert info.value.response.status_code == 404
    props = lib.get().execute_query().properties
    assert (props["EnableAttachments"], props["DefaultViewUrl"]) == (False, default.server_relative_url)


def test_role_assignments_of_the_web_and_a_list(rest):
    _w, ctx = rest
    lib, _item = _library(ctx)
    assignments = ctx.web.role_assignments.get().expand(["Member", "RoleDefinitionBindings"]).execute_query()
    seen = {a.principal_id: (a.member.title, [r.name for r in a.role_definition_bindings]) for a in assignments}
    assert seen == {3: ("GRC Owners", ["Full Control"]), 4: ("GRC Visitors", ["Read"]),
                    5: ("GRC Members", ["Edit"])}
    member = ctx.web.role_assignments.get_by_principal_id(5).member.get().execute_query()
    assert (member.id, member.principal_type.value, member.title) == (5, 8, "GRC Members")
    bindings = ctx.web.role_assignments.get_by_principal_id(4).role_definition_bindings.get().execute_query()
    assert [(r.name, r.role_type_kind) for r in bindings] == [("Read", 2)]
    inherited = lib.role_assignments.get().execute_query()
    assert sorted(a.principal_id for a in inherited) == [3, 4, 5]
    names = [r.name for r in ctx.web.role_definitions.get().execute_query()]
    assert names[:2] == ["Full Control", "Design"] and "Read" in names


def test_a_library_item_has_no_attachments(rest):
    w, ctx = rest
    _lib, item = _library(ctx)
    assert list(item.attachment_files.get().execute_query()) == []
    for call in (lambda: item.attachment_files.add({"filename": "a.txt", "content": b"hello"}),
                 lambda: item.attachment_files.add_using_path("a.txt", b"hello")):
        with pytest.raises(ClientRequestException) as info:
            call().execute_query()
        assert info.value.response.status_code == 400 and "document libraries" in str(info.value)
    with pytest.raises(ClientRequestException) as info:
        item.attachment_files.get_by_filename("a.txt").get().execute_query()
    assert info.value.response.status_code == 404
    s = requests.Session()
    s.headers.update({"Authorization": "Bearer " + _token(w, SP_SCOPE), "Accept": "application/json;odata=nometadata"})
    base = f"{w.site_url}/_api/web/lists/getbytitle('Evidence')/items(1)/AttachmentFiles"
    assert s.get(base, timeout=10).json() == {"value": []}
    assert s.get(f"{base}('a.txt')/$value", timeout=10).status_code == 404


def test_graph_special_folders_refuse_an_app(graph):
    """Graph documents drive special folders for delegated callers only; every token here is an app's."""
    w, s, base = graph
    for name in ("documents", "approot"):
        r = s.get(f"{base}/special/{name}", timeout=10)
        assert r.status_code == 403 and r.json()["error"]["code"] == "accessDenied"
    assert s.get(f"{base}/special/desktop", timeout=10).status_code == 404

    async def run(client, drive):
        return await drive.special.by_drive_item_id("approot").get()

    from kiota_abstractions.api_error import APIError
    with pytest.raises(APIError) as info:
        _sdk(w, run)
    assert info.value.response_status_code == 403


def test_graph_item_preview(graph):
    from msgraph.generated.drives.item.items.item.preview.preview_post_request_body import PreviewPostRequestBody

    w, s, base = graph
    item = s.put(f"{base}/root:/soc2.pdf:/content", data=b"%PDF-1.7", timeout=10).json()

    async def run(client, drive):
        return await drive.items.by_drive_item_id(item["id"]).preview.post(PreviewPostRequestBody(page="2", zoom=1.5))

    info = _sdk(w, run)
    assert info.get_url.startswith(f"{w.sandbox.url}/_layouts/15/embed.aspx?") and "page=2" in info.get_url
    assert info.post_url == f"{w.sandbox.url}/_layouts/15/embed.aspx" and "zoom=1.5" in info.post_parameters
    page = requests.get(info.get_url, timeout=10, verify=w.sandbox.ca_bundle)
    assert page.status_code == 200 and "soc2.pdf" in page.text
    posted = requests.post(info.post_url, data=info.post_parameters, timeout=10, verify=w.sandbox.ca_bundle,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert posted.status_code == 200
    by_path = s.post(f"{base}/root:/soc2.pdf:/preview", json={}, timeout=10)
    assert by_path.status_code == 200 and set(by_path.json()) == {"getUrl", "postUrl", "postParameters"}
    folder = s.post(f"{base}/root/children", json={"name": "F", "folder": {}}, timeout=10).json()
    assert s.post(f"{base}/items/{folder['id']}/preview", json={}, timeout=10).status_code == 400
    assert s.post(f"{base}/items/NOPE/preview", json={}, timeout=10).status_code == 404
    readonly = f"{w.sandbox.graph_url}/drives/{w.readonly_library_id}"
    assert s.post(f"{readonly}/root/preview", json={}, timeout=10).status_code == 400  # a read: allowed, a folder


def _requests_list(w, ctx, grant: str = "write"):
    app = next(iter(w.sandbox.store.drives[w.library_id].grants))
    w.sandbox.add_custom_list(w.site_id, "Evidence Requests", grants={app: grant}, columns={"Control"})
    lst = ctx.web.lists.get_by_title("Evidence Requests")
    return lst


def test_custom_list_items_and_their_attachments(rest, tmp_path):
    w, ctx = rest
    lst = _requests_list(w, ctx)
    props = lst.get().execute_query().properties
    assert (props["BaseTemplate"], props["EnableAttachments"]) == (100, True)
    item = lst.add_item({"Title": "SOC 2 CC6.1", "Control": "CC6.1"}).execute_query()
    assert (item.id, item.properties["Title"], item.properties["Attachments"]) == (1, "SOC 2 CC6.1", False)
    files = lst.get_item_by_id(1).attachment_files
    added = files.add({"filename": "a.txt", "content": b"hello"}).execute_query()
    assert added.server_relative_url == "/sites/GRC/Lists/EvidenceRequests/Attachments/1/a.txt"
    source = tmp_path / "b.csv"
    source.write_bytes(b"x,y\n1,2\n")
    with open(source, "rb") as fh:
        files.upload(fh).execute_query()  # AddUsingPath
    assert [a.file_name for a in files.get().execute_query()] == ["a.txt", "b.csv"]
    assert lst.get_item_by_id(1).get().execute_query().properties["Attachments"] is True
    assert files.get_by_filename("a.txt").get_content().execute_query().value == b"hello"
    out = tmp_path / "out.csv"
    with open(out, "wb") as fh:
        files.get_by_filename("b.csv").download(fh).execute_query()  # through GetFileByServerRelativePath
    assert out.read_bytes() == b"x,y\n1,2\n"
    with pytest.raises(ClientRequestException) as info:
        files.add({"filename": "A.TXT", "content": b"again"}).execute_query()
    assert info.value.response.status_code == 400 and "SPFileExistsException" in str(info.value)
    files.get_by_filename("a.txt").delete_object().execute_query()
    files.get_by_filename("b.csv").recycle_object().execute_query()
    assert list(files.get().execute_query()) == []
    assert lst.get_item_by_id(1).get().execute_query().properties["Attachments"] is False
    assert "Evidence Requests" in [x.title for x in ctx.web.lists.get().execute_query()]
    s = requests.Session()
    s.headers.update({"Authorization": "Bearer " + _token(w, SP_SCOPE), "Accept": "application/json;odata=nometadata"})
    base = f"{w.site_url}/_api/web/lists/getbytitle('Evidence Requests')/items(1)/AttachmentFiles"
    assert s.post(f"{base}/add(FileName='raw.bin')", data=b"\x00\x01", timeout=10).status_code == 200
    assert s.get(f"{base}('raw.bin')/$value", timeout=10).content == b"\x00\x01"
    assert s.delete(f"{base}('raw.bin')", timeout=10).status_code == 200
    assert s.get(f"{base}('raw.bin')/$value", timeout=10).status_code == 404


def test_custom_list_views_and_a_read_only_grant(rest):
    w, ctx = rest
    lst = _requests_list(w, ctx, grant="read")
    assert [(v.title, v.default_view) for v in lst.views.get().execute_query()] == [("All Items", True)]
    assert list(lst.views.get_by_title("All Items").view_fields.get().execute_query()) == ["LinkTitle"]
    assert [t.name for t in lst.content_types.get().execute_query()] == ["Item", "Folder"]
    with pytest.raises(ClientRequestException) as info:
        lst.add_item({"Title": "x"}).execute_query()
    assert info.value.response.status_code == 403
