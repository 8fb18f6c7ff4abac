"""Probe round 13 of SharePoint REST through office365-rest-python-client's ``ClientContext``, unchanged: the
calls a customer script makes most (list items with top/paging, add/update/delete, uploads in one go and in
chunks, downloads, versions, check-out/in, folder and file moves and copies, attachments, users, search) walk
through; ``Folder.add_sub_folder`` / ``add_sub_folder_using_path`` (AddSubFolder, AddSubFolderUsingPath) and
``Web.site_groups`` / ``associated_*_group`` were 400 "The expression … is not valid." before."""

from __future__ import annotations

import io

import pytest
from office365.runtime.client_request_exception import ClientRequestException
from office365.sharepoint.files.checkin_type import CheckinType
from office365.sharepoint.files.file import File
from office365.sharepoint.files.move_operations import MoveOperations

from tests.sandbox.sharepoint.test_client_probe_round8 import _requests_list
from tests.sandbox.sharepoint.test_rest_api import rest

__all__ = ["rest"]
EVIDENCE = "/sites/GRC/Evidence"


def _names(folder) -> list[str]:
    return sorted(f.name for f in folder.files.get().execute_query())


def test_a_customer_script_walks_through(rest, tmp_path):
    w, ctx = rest
    assert ctx.web.get().execute_query().title == "GRC"
    folder = ctx.web.get_folder_by_server_relative_url(EVIDENCE)
    for i in range(5):
        folder.upload_file(f"f{i}.txt", f"c{i}".encode()).execute_query()
    lib = ctx.web.lists.get_by_title("Evidence")
    assert len(lib.items.get().top(2).execute_query()) == 2
    assert len(lib.items.get_all(2).execute_query()) == 5
    assert len(list(lib.items.get().paged(2).execute_query())) == 5
    big = folder.files.create_upload_session(io.BytesIO(b"x" * 2500), chunk_size=1000, file_name="big.bin")
    assert big.execute_query().length == 2500
    f1 = ctx.web.get_file_by_server_relative_url(f"{EVIDENCE}/f1.txt")
    buf = io.BytesIO()
    f1.download(buf).execute_query()
    assert buf.getvalue() == b"c1" and File.open_binary(ctx, f"{EVIDENCE}/f1.txt").content == b"c1"
    f1.checkout().execute_query()
    f1.checkin("reviewed", CheckinType.MajorCheckIn).execute_query()
    assert [v.version_label for v in f1.versions.get().execute_query()] == ["1.0"]
    sub = folder.folders.add("Sub").execute_query()
    assert sub.server_relative_url == f"{EVIDENCE}/Sub"
    f1.copyto(f"{EVIDENCE}/Sub", True, "f1 copy.txt").execute_query()
    f1.moveto(sub, 1).execute_query()
    ctx.web.get_file_by_server_relative_url(f"{EVIDENCE}/f2.txt").move_to_using_path(
        f"{EVIDENCE}/Sub", MoveOperations.overwrite).execute_query()
    assert _names(sub) == ["f1 copy.txt", "f1.txt", "f2.txt"]

    requests_list = _requests_list(w, ctx)
    item = requests_list.add_item({"Title": "CC6.1", "Control": "CC6.1"}).execute_query()
    item.set_property("Title", "CC6.2").update().execute_query()
    assert requests_list.get_item_by_id(item.id).get().execute_query().properties["Title"] == "CC6.2"
    source = tmp_path / "proof.txt"
    source.write_bytes(b"proof")
    with open(source, "rb") as fh:
        item.attachment_files.upload(fh).execute_query()
    assert [a.file_name for a in item.attachment_files.get().execute_query()] == ["proof.txt"]
    item.delete_object().execute_query()
    assert len(requests_list.items.get().execute_query()) == 0
    assert ctx.web.site_users.get().execute_query()[0].login_name.startswith("i:0i.t|ms.sp.ext|")
    assert ctx.search.query("f3").execute_query().value is not None


def test_add_sub_folder_and_folder_moves(rest):
    _w, ctx = rest
    root = ctx.web.get_folder_by_server_relative_url(EVIDENCE)
    root.upload_file("a.txt", b"a").execute_query()
    root.add_sub_folder("2026").execute_query()
    root.add_sub_folder_using_path("2027").execute_query()
    got = ctx.web.get_folder_by_server_relative_url(f"{EVIDENCE}/2026").get().execute_query()
    assert (got.name, got.server_relative_url) == ("2026", f"{EVIDENCE}/2026")
    root.add_sub_folder("2026").execute_query()  # an existing folder is kept [unc]
    with pytest.raises(ClientRequestException) as info:
        root.add_sub_folder("a.txt").execute_query()
    assert info.value.response.status_code == 400 and "SPFileExistsException" in str(info.value)
    with pytest.raises(ClientRequestException) as info:
        root.add_sub_folder("bad:name").execute_query()
    assert info.value.response.status_code == 400
    ctx.web.get_folder_by_server_relative_url(f"{EVIDENCE}/2026").add_sub_folder("q1").execute_query()
    ctx.web.get_folder_by_server_relative_url(f"{EVIDENCE}/2027").move_to(f"{EVIDENCE}/2026").execute_query()
    sub = ctx.web.get_folder_by_server_relative_url(f"{EVIDENCE}/2026")
    assert sorted(f.name for f in sub.folders.get().execute_query()) == ["2027", "q1"]
    sub.copy_to(f"{EVIDENCE}/archive", True).execute_query()
    assert sorted(f.name for f in ctx.web.get_folder_by_server_relative_url(
        f"{EVIDENCE}/archive/2026").folders.get().execute_query()) == ["2027", "q1"]
    assert root.ensure_folder("x/y").execute_query().server_relative_url == f"{EVIDENCE}/x/y"


def test_site_groups(rest):
    _w, ctx = rest
    groups = ctx.web.site_groups.get().execute_query()
    assert [(g.id, g.title) for g in groups] == [(3, "GRC Owners"), (4, "GRC Visitors"), (5, "GRC Members")]
    assert ctx.web.site_groups.get_by_id(4).get().execute_query().title == "GRC Visitors"
    assert ctx.web.site_groups.get_by_name("GRC Members").get().execute_query().id == 5
    assert ctx.web.associated_owner_group.get().execute_query().title == "GRC Owners"
    assert ctx.web.associated_visitor_group.get().execute_query().id == 4
    assert list(ctx.web.site_groups.get_by_id(3).users.get().execute_query()) == []
    assert [g.title for g in ctx.web.site_groups.get().filter("Id gt 3").execute_query()] == [
        "GRC Visitors", "GRC Members"]
    with pytest.raises(ClientRequestException) as info:
        ctx.web.site_groups.get_by_id(99).get().execute_query()
    assert info.value.response.status_code == 404
    with pytest.raises(ClientRequestException) as info:
        ctx.web.site_groups.add("Auditors").execute_query()
    assert info.value.response.status_code == 403
