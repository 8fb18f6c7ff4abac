"""Probe round 6 of SharePoint REST through ``ClientContext``, continued: the ways real scripts reach lists, files
and their people (each was 400 before)."""

from __future__ import annotations

import pytest
import requests
from office365.runtime.client_request_exception import ClientRequestException

from tests.sandbox.sharepoint.test_client_probe import _token
from tests.sandbox.sharepoint.test_rest_api import SP_SCOPE, _graph, rest

__all__ = ["rest"]


def test_lists_by_id_and_url_files_by_url_and_expanded_items(rest):
    """web.get_list(url), lists.get_by_id(guid), web.get_file_by_url(absolute url), web.folders, items with
    $expand=File and $select=File/Name, a list item's UniqueId being its file's, the file's Author/ModifiedBy;
    adding a bare item to a document library is SharePoint's ArgumentException."""
    w, ctx = rest
    folder = ctx.web.get_folder_by_server_relative_url("Evidence")
    up = folder.upload_file("a.txt", b"alpha").execute_query()
    folder.add("d").execute_query()
    lst = ctx.web.lists.get_by_title("Evidence")
    lid = lst.get().execute_query().id
    assert ctx.web.get_list("/sites/GRC/Evidence").get().execute_query().id == lid
    assert ctx.web.lists.get_by_id(lid).get().execute_query().title == "Evidence"
    got = ctx.web.get_file_by_url(f"{w.sandbox.url}/sites/GRC/Evidence/a.txt").get().execute_query()
    assert got.unique_id == up.unique_id
    assert sorted(f.name for f in ctx.web.folders.get().execute_query()) == ["Evidence", "Policies"]
    rows = lst.items.select(["FileLeafRef", "UniqueId", "File/Name", "File/Length"]).expand(["File"]).get() \
        .execute_query()
    by_name = {r.properties["FileLeafRef"]: r.properties for r in rows}
    assert by_name["a.txt"]["File"].properties == {"Name": "a.txt", "Length": 5}
    assert "File" not in by_name["d"]  # a folder has no File
    assert by_name["a.txt"]["UniqueId"] == up.unique_id
    author = ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/a.txt").author.get().execute_query()
    assert author.title == "SharePoint App" and w.client_id in author.login_name
    with pytest.raises(ClientRequestException) as info:
        lst.add_item({"Title": "loose"}).execute_query()
    assert info.value.response.status_code == 400 and "SPFileCollection.Add()" in str(info.value)


def test_batch_retries_only_the_throttled_sub_request(rest):
    """A sub-request throttled inside _api/$batch answers 429 with Retry-After in its own part, SharePoint-shaped;
    execute_batch resends only that one."""
    w, ctx = rest
    w.sandbox.fail_next(429, 1, "GET", r"/_api/Web$", retry_after=1)
    web, lists = ctx.web.get(), ctx.web.lists.get()
    ctx.execute_batch()
    assert web.title == "GRC" and sorted(x.title for x in lists) == ["Evidence", "Policies"]
    assert len([e for e in w.sandbox.request_log if e["path"].endswith("/$batch")]) == 2


def test_recycle_bin_lists_restores_and_purges(rest):
    """recycle() answered a GUID nothing could use and the bin was 400: now the bin lists the recycled file and
    folder, restore() puts a folder back with its files and its drive item id (Graph sees it again), and
    delete_all() purges."""
    w, ctx = rest
    graph, base = _graph(w)
    folder = ctx.web.get_folder_by_server_relative_url("Evidence")
    folder.upload_file("sub/a.txt", b"alpha").execute_query()
    folder.upload_file("b.txt", b"beta").execute_query()
    sub_id = graph.get(f"{base}/root:/sub", timeout=10).json()["id"]
    file_bin = ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/b.txt").recycle().execute_query().value
    sub_bin = ctx.web.get_folder_by_server_relative_url("/sites/GRC/Evidence/sub").recycle().execute_query().value
    assert graph.get(f"{base}/root:/sub/a.txt", timeout=10).status_code == 404
    listed = [(i.properties["LeafName"], i.properties["DirName"], i.properties["ItemType"])
              for i in ctx.web.recycle_bin.get().execute_query()]
    assert listed == [("sub", "sites/GRC/Evidence", 5), ("b.txt", "sites/GRC/Evidence", 1)]
    assert ctx.web.recycle_bin.get_by_id(file_bin).get().execute_query().properties["Size"] == 4
    ctx.web.recycle_bin.get_by_id(sub_bin).restore().execute_query()
    assert graph.get(f"{base}/root:/sub", timeout=10).json()["id"] == sub_id
    assert graph.get(f"{base}/root:/sub/a.txt:/content", timeout=10).content == b"alpha"
    ctx.web.recycle_bin.delete_all().execute_query()
    assert len(ctx.web.recycle_bin.get().execute_query()) == 0
    with pytest.raises(ClientRequestException) as info:
        ctx.web.recycle_bin.get_by_id(file_bin).restore().execute_query()
    assert info.value.response.status_code == 404


def test_title_is_a_column_both_ways_and_items_recycle(rest):
    """A list item's Title was taken and dropped through REST (and 400 'not recognized' through Graph's fields):
    every library has a Title column. ListItem.recycle() was 400."""
    w, ctx = rest
    graph, base = _graph(w)
    ctx.web.get_folder_by_server_relative_url("Evidence").upload_file("t.txt", b"t").execute_query()
    item = ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/t.txt").listItemAllFields
    item.set_property("Title", "Quarterly access review").update().execute_query()
    assert graph.get(f"{base}/root:/t.txt:/listItem/fields", timeout=10).json()["Title"] == "Quarterly access review"
    assert graph.patch(f"{base}/root:/t.txt:/listItem/fields", json={"Title": "Renamed"}, timeout=10).status_code == 200
    assert item.get().execute_query().properties["Title"] == "Renamed"
    item.recycle().execute_query()
    assert [i.properties["LeafName"] for i in ctx.web.recycle_bin.get().execute_query()] == ["t.txt"]


def test_rename_file_and_folder_through_list_item(rest):
    """File.rename and Folder.rename MERGE FileLeafRef on the list item: 400 'does not exist on type' before.
    The drive item keeps its id; a taken name is SPFileExistsException."""
    w, ctx = rest
    graph, base = _graph(w)
    folder = ctx.web.get_folder_by_server_relative_url("Evidence")
    folder.upload_file("old/a.txt", b"a").execute_query()
    folder.upload_file("old/b.txt", b"b").execute_query()
    file_id = graph.get(f"{base}/root:/old/a.txt", timeout=10).json()["id"]
    ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/old/a.txt").rename("c.txt").execute_query()
    ctx.web.get_folder_by_server_relative_url("/sites/GRC/Evidence/old").rename("new").execute_query()
    assert graph.get(f"{base}/root:/new/c.txt", timeout=10).json()["id"] == file_id
    with pytest.raises(ClientRequestException) as info:
        ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/new/c.txt").rename("B.txt").execute_query()
    assert "SPFileExistsException" in info.value.code


def test_item_default_fields_and_select_star(rest):
    """List items lacked FileSystemObjectType (what ListItem.file_system_object_type reads), ContentTypeId and
    AuthorId/EditorId; $select=*,FileDirRef,EncodedAbsUrl gave only the named ones; $filter on FileDirRef was
    400."""
    w, ctx = rest
    ctx.web.get_folder_by_server_relative_url("Evidence").upload_file("d/a b.txt", b"x").execute_query()
    lst = ctx.web.lists.get_by_title("Evidence")
    assert sorted(i.file_system_object_type for i in lst.items.get().execute_query()) == [0, 1]
    rows = lst.items.select(["*", "FileDirRef", "EncodedAbsUrl"]).filter("FileDirRef eq '/sites/GRC/Evidence/d'") \
        .get().execute_query()
    [row] = [r.properties for r in rows]
    assert row["EncodedAbsUrl"] == f"{w.sandbox.url}/sites/GRC/Evidence/d/a%20b.txt"
    assert (row["FileLeafRef"], row["ContentTypeId"], row["FileDirRef"]) \
        == ("a b.txt", "0x0101", "/sites/GRC/Evidence/d")


def test_list_current_change_token_starts_a_change_query(rest):
    """The list had no CurrentChangeToken (nor LastItemModifiedDate) for a sync to start get_changes from."""
    from office365.sharepoint.changes.query import ChangeQuery

    _, ctx = rest
    folder = ctx.web.get_folder_by_server_relative_url("Evidence")
    folder.upload_file("a.txt", b"a").execute_query()
    lst = ctx.web.lists.get_by_title("Evidence").get().select(["CurrentChangeToken", "LastItemModifiedDate"]) \
        .execute_query()
    token = lst.properties["CurrentChangeToken"]
    assert token.StringValue.startswith("1;3;") and lst.properties["LastItemModifiedDate"].year >= 2024
    folder.upload_file("b.txt", b"b").execute_query()
    since = ctx.web.lists.get_by_title("Evidence").get_changes(ChangeQuery(Item=True, ChangeTokenStart=token)) \
        .execute_query()
    assert [(c.change_type.value, c.properties["ItemId"]) for c in since] == [(1, 2)]


def test_add_using_path_for_folders_and_files(rest):
    """folders.add_using_path and Files/AddUsingPath (the *UsingPath forms clients use for names with # and %)
    were 400."""
    w, ctx = rest
    graph, base = _graph(w)
    folder = ctx.web.get_folder_by_server_relative_url("Evidence")
    assert folder.folders.add_using_path("Q1 #1", overwrite=True).execute_query().name == "Q1 #1"
    s = requests.Session()
    s.headers.update({"Authorization": "Bearer " + _token(w, SP_SCOPE), "Accept": "application/json;odata=nometadata"})
    url = f"{w.sandbox.url}/sites/GRC/_api/web/GetFolderByServerRelativePath(decodedurl='/sites/GRC/Evidence/Q1 %231')"
    made = s.post(f"{url}/Files/AddUsingPath(DecodedUrl='50%25 done.txt',Overwrite=true)", data=b"half", timeout=10)
    assert made.status_code == 200 and made.json()["ServerRelativeUrl"] == "/sites/GRC/Evidence/Q1 #1/50% done.txt"
    assert graph.get(f"{base}/root:/Q1 %231/50%25 done.txt:/content", timeout=10).content == b"half"


def test_file_from_absolute_url(rest):
    """File.from_url(<absolute url>) asks the root site's _api/contextinfo and SP.Web.GetWebUrlFromPageUrl for the
    web the file is in (both were 404 'Resource not found'), then reads the file there."""
    from office365.runtime.auth.token_response import TokenResponse
    from office365.sharepoint.files.file import File

    w, ctx = rest
    ctx.web.get_folder_by_server_relative_url("Evidence").upload_file("a b.txt", b"alpha").execute_query()
    token = _token(w, SP_SCOPE)
    f = File.from_url(f"{w.sandbox.url}/sites/GRC/Evidence/a b.txt")
    f.context.with_access_token(lambda: TokenResponse(access_token=token, token_type="Bearer"))
    assert f.get().execute_query().length == 5
    s = requests.Session()
    s.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json;odata=nometadata"})
    missing = s.post(f"{w.sandbox.url}/_api/SP.Web.GetWebUrlFromPageUrl", json={"pageFullUrl": "/sites/Nope/x"},
                     timeout=10)
    assert missing.status_code == 404


def test_folder_storage_metrics_and_checked_out_files(rest):
    """Folder.storage_metrics and List.get_checked_out_files were 400."""
    _, ctx = rest
    folder = ctx.web.get_folder_by_server_relative_url("Evidence")
    for path, body in (("a.txt", b"aaaa"), ("d/b.txt", b"bb"), ("d/b.txt", b"bbb")):
        folder.upload_file(path, body).execute_query()
    metrics = folder.storage_metrics.get().execute_query()
    assert (metrics.total_file_count, metrics.total_file_stream_size, metrics.total_size) == (2, 7, 9)
    assert len(ctx.web.lists.get_by_title("Evidence").get_checked_out_files().execute_query()) == 0
