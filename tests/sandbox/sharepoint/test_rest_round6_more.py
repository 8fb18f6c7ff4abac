"""Probe round 6 of SharePoint REST through ``ClientContext``, continued: the ways real scripts reach lists, files
and their people (each was 400 before)."""

from __future__ import annotations

import pytest
from office365.runtime.client_request_exception import ClientRequestException

from tests.sandbox.sharepoint.test_rest_api import rest

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
