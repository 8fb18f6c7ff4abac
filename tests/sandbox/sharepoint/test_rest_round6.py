"""Probe round 6 of SharePoint REST (``<site>/_api``) through office365-rest-python-client's ``ClientContext``,
unchanged: ``$batch``, CAML queries (``GetItems``, ``RenderListDataAsStream``) and search, each of which
answered 400/404 before."""

from __future__ import annotations

import io
import warnings
from urllib.parse import quote

import pytest
import requests
from office365.runtime.client_request_exception import ClientRequestException
from office365.sharepoint.listitems.caml.query import CamlQuery

from tests.sandbox.sharepoint.test_client_probe import _token
from tests.sandbox.sharepoint.test_rest_api import SP_SCOPE, _ctx, _graph, rest

__all__ = ["rest"]


def _names(items) -> list[str]:
    return [i.properties["FileLeafRef"] for i in items]


def _seed(ctx) -> None:
    folder = ctx.web.get_folder_by_server_relative_url("Evidence")
    folder.upload_file("audit report.pdf", b"quarterly controls evidence").execute_query()
    folder.upload_file("notes.txt", b"nothing to see here").execute_query()
    folder.upload_file("2026/controls.csv", b"id,control\n1,AC-1\n").execute_query()


def _session(w) -> tuple[requests.Session, str]:
    s = requests.Session()
    s.headers.update({"Authorization": "Bearer " + _token(w, SP_SCOPE), "Accept": "application/json;odata=nometadata"})
    return s, f"{w.sandbox.url}/sites/GRC/_api"


def test_execute_batch_reads_and_changesets(rest):
    """ctx.execute_batch() POSTs _api/$batch (multipart/mixed, a changeset for the writes): it was 404
    'Cannot find resource for the request $batch'. Each sub-request answers on its own (a 404 among them)."""
    w, ctx = rest
    _seed(ctx)
    web, items = ctx.web.get(), ctx.web.lists.get_by_title("Evidence").items.get()
    ctx.execute_batch()
    assert web.title == "GRC" and sorted(_names(items)) == ["2026", "audit report.pdf", "controls.csv", "notes.txt"]
    notes = ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/notes.txt")
    notes.listItemAllFields.set_property("EvidenceSha256", "f00d").update()  # MERGE inside the changeset
    ctx.web.get_folder_by_server_relative_url("Evidence").add("batched")
    ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/audit report.pdf").delete_object()
    ctx.execute_batch()
    graph, base = _graph(w)
    assert graph.get(f"{base}/root:/notes.txt:/listItem/fields", timeout=10).json()["EvidenceSha256"] == "f00d"
    assert graph.get(f"{base}/root:/batched", timeout=10).json()["folder"] == {"childCount": 0}
    assert graph.get(f"{base}/root:/audit report.pdf", timeout=10).status_code == 404
    ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/nope.txt").get()
    ctx.web.get()
    with pytest.raises(ClientRequestException) as info:
        ctx.execute_batch()
    assert info.value.code == "-2147024894, System.IO.FileNotFoundException"
    s, api = _session(w)
    bad = s.post(f"{api}/$batch", data=b"{}", headers={"Content-Type": "application/json"}, timeout=10)
    assert bad.status_code == 400 and "odata.error" in bad.json()
    unknown = s.get(f"{api}/web/Nope", timeout=10)  # SharePoint names the expression it could not read
    assert unknown.json()["odata.error"]["message"]["value"] == 'The expression "web/Nope" is not valid.'
    assert unknown.headers["request-id"] == unknown.headers["SPRequestGuid"]  # SharePoint sends both
    assert ctx.site.root_web.get().execute_query().title == "GRC" and len(ctx.web.webs.get().execute_query()) == 0


def test_caml_get_items(rest):
    """list.get_items(CamlQuery) POSTs GetItems with ViewXml: it was 400. Where (Eq/Contains/Geq/Or/IsNull),
    OrderBy, Scope, RowLimit, paging by ListItemCollectionPosition; an unknown FieldRef is SharePoint's SPException."""
    _, ctx = rest
    _seed(ctx)
    lst = ctx.web.lists.get_by_title("Evidence")
    warnings.simplefilter("ignore")  # the client warns about unpaged queries
    eq = CamlQuery.parse('<Where><Eq><FieldRef Name="FileLeafRef"/><Value Type="Text">NOTES.txt</Value></Eq></Where>')
    assert _names(lst.get_items(eq).execute_query()) == ["notes.txt"]
    assert _names(lst.get_items(CamlQuery.create_all_folders_query()).execute_query()) == ["2026"]
    assert _names(lst.get_items(CamlQuery.create_all_files_query()).execute_query()) == ["audit report.pdf",
                                                                                         "notes.txt"]
    deep = CamlQuery(ViewXml="<View Scope='RecursiveAll'><Query><Where><Or><Contains><FieldRef Name='FileLeafRef'/>"
                             "<Value Type='Text'>CONTROL</Value></Contains><Geq><FieldRef Name='File_x0020_Size'/>"
                             "<Value Type='Number'>19</Value></Geq></Or></Where><OrderBy>"
                             "<FieldRef Name='FileLeafRef' Ascending='FALSE'/></OrderBy></Query></View>")
    assert _names(lst.get_items(deep).execute_query()) == ["notes.txt", "controls.csv", "audit report.pdf"]
    files = CamlQuery(ViewXml="<View Scope='Recursive'><Query><Where><IsNull><FieldRef Name='EvidenceSha256'/>"
                              "</IsNull></Where></Query></View>")
    assert sorted(_names(lst.get_items(files).execute_query())) == ["audit report.pdf", "controls.csv", "notes.txt"]
    paged = CamlQuery(ViewXml="<View Scope='RecursiveAll'><Query><OrderBy><FieldRef Name='ID'/></OrderBy></Query>"
                              "<RowLimit Paged='TRUE'>2</RowLimit></View>")
    first = lst.get_items(paged).execute_query()
    assert _names(first) == ["audit report.pdf", "notes.txt"]
    every = lst.get_items(CamlQuery(ViewXml=paged.ViewXml), page_size=2).execute_query()  # follows the pages
    assert _names(every) == ["audit report.pdf", "notes.txt", "2026", "controls.csv"]
    bad = CamlQuery.parse('<Where><Eq><FieldRef Name="Nope"/><Value Type="Text">x</Value></Eq></Where>')
    with pytest.raises(ClientRequestException) as info:
        lst.get_items(bad).execute_query()
    assert "field types are not installed properly" in str(info.value)
    ro = ctx.web.lists.get_by_title("Policies").get_items(CamlQuery.create_all_files_query()).execute_query()
    assert _names(ro) == []  # GetItems is a read: the read-only library answers it


def test_render_list_data_as_stream_pages_by_next_href(rest):
    """RenderListDataAsStream answers the raw {"Row": [...], "NextHref"} the list views use (it was 400)."""
    w, ctx = rest
    _seed(ctx)
    ctx.web.lists.get_by_title("Evidence").render_list_data_as_stream("<View/>").execute_query()  # the client
    s, api = _session(w)
    url = f"{api}/web/lists/GetByTitle('Evidence')/RenderListDataAsStream"
    view = ("<View Scope='RecursiveAll'><Query><OrderBy><FieldRef Name='ID'/></OrderBy></Query>"
            "<RowLimit>3</RowLimit></View>")
    page = s.post(url, json={"parameters": {"ViewXml": view}}, timeout=10).json()
    assert [r["FileLeafRef"] for r in page["Row"]] == ["audit report.pdf", "notes.txt", "2026"]
    assert page["Row"][0]["FSObjType"] == "0" and page["Row"][2]["FSObjType"] == "1"
    assert (page["FirstRow"], page["LastRow"], page["RowLimit"]) == (1, 3, 3)
    rest_page = s.post(url + page["NextHref"], json={"parameters": {"ViewXml": view}}, timeout=10).json()
    assert [r["FileLeafRef"] for r in rest_page["Row"]] == ["controls.csv"] and "NextHref" not in rest_page
    assert rest_page["FirstRow"] == 4


def test_search_query_and_postquery(rest):
    """ctx.search.query / post_query and GET _api/search/query?querytext='…' (404 before): KQL over the libraries'
    files, PrimaryQueryResult.RelevantResults.Table.Rows of Cells."""
    w, ctx = rest
    _seed(ctx)
    result = ctx.search.query("controls", select_properties=["Title", "Path", "Size"], row_limit=5).execute_query()
    relevant = result.value.PrimaryQueryResult.RelevantResults
    rows = sorted((r.get("Title"), r.get("Size")) for r in relevant.Table.Rows)
    assert rows == [("audit report", 27), ("controls", 18)] and relevant.TotalRows == 2
    path = f"{w.sandbox.url}/sites/GRC/Evidence/2026/controls.csv"
    assert path in [r.get("Path") for r in relevant.Table.Rows]
    posted = ctx.search.post_query("FileExtension:pdf OR filename:notes*", select_properties=["Path"]).execute_query()
    assert sorted(r.get("Path").rsplit("/", 1)[1] for r in posted.value.rows) == ["audit report.pdf", "notes.txt"]
    assert sorted(r.get("Filename") for r in ctx.search.query("IsDocument:1 -notes").execute_query().value.rows) \
        == ["audit report.pdf", "controls.csv"]
    assert ctx.search.query("*").execute_query().value.PrimaryQueryResult.RelevantResults.TotalRows == 4
    s, api = _session(w)
    plain = s.get(f"{api}/search/query", params={"querytext": "'controls'", "selectproperties": "'Title'",
                                                 "rowlimit": "1", "sortlist": "'Size:ascending'"}, timeout=10).json()
    table = plain["PrimaryQueryResult"]["RelevantResults"]
    assert table["TotalRows"] == 2 and table["RowCount"] == 1
    cells = {c["Key"]: (c["Value"], c["ValueType"]) for c in table["Table"]["Rows"][0]["Cells"]}
    assert cells["Title"] == ("controls", "Edm.String") and cells["DocId"][1] == "Edm.Int64"
    empty = s.get(f"{api}/search/query", params={"querytext": "''"}, timeout=10)
    assert empty.status_code == 400 and "SearchServiceException" in empty.json()["odata.error"]["code"]


def test_file_and_list_item_versions(rest):
    """File.versions, versions.get_by_id/get_by_label, a version's download, restore_by_label and delete_by_id, and
    list_item.versions (all were 400), over the versions Graph lists."""
    w, ctx = rest
    folder = ctx.web.get_folder_by_server_relative_url("Evidence")
    for body in (b"one", b"two!", b"three"):
        folder.upload_file("policy.txt", body).execute_query()
    f = ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/policy.txt")
    older = [(v.version_label, v.id, v.properties["Size"], v.is_current_version)
             for v in f.versions.get().execute_query()]
    assert older == [("1.0", 512, 3, False), ("2.0", 1024, 4, False)]  # the current version is the file itself
    assert f.versions.get_by_id(1024).get().execute_query().version_label == "2.0"
    assert f.versions.get_by_label("1.0").execute_query().id == 512
    buf = io.BytesIO()
    f.versions.get_by_id(512).download(buf).execute_query()
    assert buf.getvalue() == b"one"
    with pytest.raises(ClientRequestException) as info:
        f.versions.get_by_id(51200).get().execute_query()
    assert info.value.response.status_code == 404
    f.versions.restore_by_label("1.0").execute_query()
    graph, base = _graph(w)
    assert graph.get(f"{base}/root:/policy.txt:/content", timeout=10).content == b"one"
    assert [v["id"] for v in graph.get(f"{base}/root:/policy.txt:/versions", timeout=10).json()["value"]] \
        == ["4.0", "3.0", "2.0", "1.0"]
    f.versions.delete_by_id(1024).execute_query()
    assert [v.version_label for v in f.versions.get().execute_query()] == ["1.0", "2.0"]
    item = ctx.web.lists.get_by_title("Evidence").get_item_by_id(f.listItemAllFields.get().execute_query().id)
    assert [(v.version_label, v.properties["IsCurrentVersion"]) for v in item.versions.get().execute_query()] \
        == [("3.0", True), ("2.0", False), ("1.0", False)]


def test_move_and_copy_by_path_and_folder_moves(rest):
    """File.move_to_using_path, copy_to_using_path (parameters in the body), move_by_path (SP.MoveCopyUtil) and a
    folder's move_to / move_to_using_path were 400 or 404; a folder moved within the library keeps its drive item
    and its files go with it."""
    from office365.sharepoint.files.move_operations import MoveOperations
    from office365.sharepoint.utilities.move_copy_options import MoveCopyOptions
    from office365.sharepoint.utilities.move_copy_util import MoveCopyUtil

    w, ctx = rest
    graph, base = _graph(w)
    folder = ctx.web.get_folder_by_server_relative_url("Evidence")
    folder.upload_file("a #1.txt", b"alpha").execute_query()
    before = graph.get(f"{base}/root:/a %231.txt", timeout=10).json()["id"]
    ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/a #1.txt") \
        .move_to_using_path("Evidence/in", MoveOperations.overwrite).execute_query()
    assert graph.get(f"{base}/root:/in/a %231.txt", timeout=10).json()["id"] == before
    ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/in/a #1.txt") \
        .copy_to_using_path("/sites/GRC/Evidence/copy.txt", True).execute_query()
    assert graph.get(f"{base}/root:/copy.txt:/content", timeout=10).content == b"alpha"
    ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/copy.txt").move_by_path("Evidence/out") \
        .execute_query()
    assert graph.get(f"{base}/root:/out/copy.txt", timeout=10).status_code == 200
    MoveCopyUtil.copy_file_by_path(ctx, "/sites/GRC/Evidence/out/copy.txt", "/sites/GRC/Evidence/in/a #1.txt",
                                   False, MoveCopyOptions(KeepBoth=True))
    ctx.execute_query()
    assert sorted(c["name"] for c in graph.get(f"{base}/root:/in:/children", timeout=10).json()["value"]) \
        == ["a #1 1.txt", "a #1.txt"]
    with pytest.raises(ClientRequestException) as info:
        MoveCopyUtil.copy_file_by_path(ctx, "/sites/GRC/Evidence/out/copy.txt", "/sites/GRC/Evidence/in/a #1.txt",
                                       False, MoveCopyOptions(KeepBoth=False))
        ctx.execute_query()
    assert "SPFileExistsException" in info.value.code
    in_id = graph.get(f"{base}/root:/in", timeout=10).json()["id"]
    ctx.web.get_folder_by_server_relative_url("/sites/GRC/Evidence/in").move_to("Evidence/out").execute_query()
    moved = graph.get(f"{base}/root:/out/in", timeout=10).json()
    assert moved["id"] == in_id and moved["folder"]["childCount"] == 2
    ctx.web.get_folder_by_server_relative_url("/sites/GRC/Evidence/out").move_to_using_path("Evidence/last") \
        .execute_query()
    assert graph.get(f"{base}/root:/last/out/in/a %231.txt:/content", timeout=10).content == b"alpha"


def test_change_log_site_and_current_user(rest):
    """list/web/site get_changes(ChangeQuery(Item=True)) with a ChangeTokenStart (400 before): adds, updates and
    deletions since the token; _api/site (404 before), web/CurrentUser and web/RecycleBin (400 before)."""
    from office365.sharepoint.changes.query import ChangeQuery

    w, ctx = rest
    folder = ctx.web.get_folder_by_server_relative_url("Evidence")
    folder.upload_file("a.txt", b"a").execute_query()
    folder.upload_file("b.txt", b"b").execute_query()
    lst = ctx.web.lists.get_by_title("Evidence")
    first = lst.get_changes(ChangeQuery(Item=True)).execute_query()
    assert [(c.change_type.value, c.properties["ItemId"]) for c in first] == [(1, 1), (1, 2)]
    token = first[-1].change_token
    folder.upload_file("a.txt", b"a2").execute_query()
    ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/b.txt").delete_object().execute_query()
    folder.upload_file("c.txt", b"c").execute_query()
    since = lst.get_changes(ChangeQuery(Item=True, ChangeTokenStart=token)).execute_query()
    assert [(c.change_type.value, c.properties["ItemId"]) for c in since] == [(2, 1), (3, 2), (1, 3)]
    assert since[0].properties["ServerRelativeUrl"] == "/sites/GRC/Evidence/a.txt"
    assert [c.change_type.value for c in ctx.web.get_changes(ChangeQuery(Item=True, Add=False)).execute_query()] \
        == [2, 3]
    assert len(ctx.site.get_changes(ChangeQuery(Item=True)).execute_query()) == 4
    assert len(lst.get_changes(ChangeQuery(List=True)).execute_query()) == 0  # item changes only
    with pytest.raises(ClientRequestException) as info:
        lst.get_changes(ChangeQuery(Item=True, ChangeTokenStart="1;2;nope;1;1")).execute_query()
    assert info.value.response.status_code == 400
    site = ctx.site.get().execute_query()
    assert (site.url, site.server_relative_url) == (f"{w.sandbox.url}/sites/GRC", "/sites/GRC")
    me = ctx.web.current_user.get().execute_query()
    assert me.title == "SharePoint App" and w.client_id in me.login_name
    assert len(ctx.web.recycle_bin.get().execute_query()) == 0


def test_item_filters_orderby_expand_and_fields(rest):
    """items.filter on custom columns, and/or, startswith/substringof, datetime (only Id/FSObjType before, the rest
    400), order_by with paging; a folder's files.filter/top (ignored before), expand(Files, ListItemAllFields)
    (empty before); list.fields (400 before)."""
    w, ctx = rest
    folder = ctx.web.get_folder_by_server_relative_url("Evidence")
    for n in range(5):
        f = folder.upload_file(f"f{n}.txt", b"x" * n).execute_query()
        f.listItemAllFields.set_property("EvidenceSha256", f"sha{n % 2}").update().execute_query()
    items = ctx.web.lists.get_by_title("Evidence").items
    assert _names(items.filter("EvidenceSha256 eq 'SHA1'").get().execute_query()) == ["f1.txt", "f3.txt"]
    either = "(EvidenceSha256 eq 'sha0' and Id gt 1) or FileLeafRef eq 'f1.txt'"
    assert _names(items.filter(either).get().execute_query()) == ["f1.txt", "f2.txt", "f4.txt"]
    assert _names(items.filter("startswith(FileLeafRef,'f3')").get().execute_query()) == ["f3.txt"]
    assert _names(items.filter("substringof('4',FileLeafRef)").get().execute_query()) == ["f4.txt"]
    assert len(items.filter("Modified ge datetime'2020-01-01T00:00:00Z'").get().execute_query()) == 5
    s, api = _session(w)  # the client writes $order_by, so by hand; its __next pages in that order
    url, seen = f"{api}/web/lists/GetByTitle('Evidence')/items?$orderby=File_x0020_Size desc&$top=2", []
    while url:
        page = s.get(url, timeout=10).json()
        seen, url = seen + [i["FileLeafRef"] for i in page["value"]], page.get("odata.nextLink")
    assert seen == ["f4.txt", "f3.txt", "f2.txt", "f1.txt", "f0.txt"]
    with pytest.raises(ClientRequestException) as info:
        items.filter("Nope eq 1").get().execute_query()
    assert info.value.response.status_code == 400 and "Column 'Nope' does not exist" in str(info.value)
    assert [f.name for f in folder.files.filter("Name eq 'f1.txt'").get().execute_query()] == ["f1.txt"]
    assert [f.name for f in folder.files.top(2).get().execute_query()] == ["f0.txt", "f1.txt"]
    by_name = s.get(f"{api}/web/GetFolderByServerRelativeUrl('Evidence')/Files?$orderby=Name desc&$top=2", timeout=10)
    assert [f["Name"] for f in by_name.json()["value"]] == ["f4.txt", "f3.txt"]
    expanded = ctx.web.get_folder_by_server_relative_url("Evidence").expand(["Files"]).get().execute_query()
    assert sorted(f.name for f in expanded.files) == [f"f{n}.txt" for n in range(5)]
    one = ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/f3.txt").expand(["ListItemAllFields"]).get() \
        .execute_query()
    assert one.listItemAllFields.properties["EvidenceSha256"] == "sha1"
    fields = ctx.web.lists.get_by_title("Evidence").fields
    assert {"FileLeafRef", "EvidenceSha256"} <= {f.internal_name for f in fields.filter("Hidden eq false").get()
                                                 .execute_query()}
    assert fields.get_by_internal_name_or_title("Created").get().execute_query().type_as_string == "DateTime"


def test_graph_client_path_addressed_subresources_and_web_url(sharepoint, monkeypatch):
    """office365's GraphClient writes root:/<path>://permissions (and thumbnails): 400 "unsupported segment"
    before; webUrl was https://<sandbox>/sites/evidence/<path> for every library and site, now the library's
    own URL under its site, as the REST API serves it (FileRef)."""
    from tests.sandbox.sharepoint.test_client_probe_more import _o365

    w = sharepoint
    client = _o365(w, monkeypatch)
    root = client.drives[w.library_id].root
    root.upload("Prüf 100%.txt", b"evidence").execute_query()
    item = root.get_by_path("Prüf 100%.txt")
    assert len(item.permissions.get().execute_query()) == 0
    assert len(item.thumbnails.get().execute_query()) == 1
    web_url = item.get().execute_query().web_url
    assert web_url == "https://contoso.sharepoint.com/sites/GRC/Evidence/Pr%C3%BCf%20100%25.txt"
    rest_ctx = _ctx(w, _token(w, SP_SCOPE))
    ref = rest_ctx.web.get_file_by_server_relative_path("/sites/GRC/Evidence/Prüf 100%.txt").listItemAllFields.get() \
        .execute_query().properties["FileRef"]
    assert web_url.endswith(quote(ref))
