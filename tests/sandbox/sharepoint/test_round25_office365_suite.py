"""Round 25: what office365-rest-python-client's own test suite (tests/sharepoint) needed of the sandbox, driven
by office365 3.3.0 unchanged.

- ``site/RootWeb/…`` (their ``client.site.root_web.fields`` / ``content_types`` / ``site_users`` / ``get_changes``)
  was 400 "The expression … is not valid.": the site collection's root web is the site's only web here.
- The Title field had no ``MaxLength`` (``FieldText.max_length`` None); SharePoint's text fields carry 255.
- ``web/GetRecycleBinItems`` and ``site/GetRecycleBinItems``, ``web/GetUserEffectivePermissions(@user)`` and
  ``File.save_binary_stream`` (``SaveBinaryStream``) were 400.
- A custom list could not be renamed or deleted (``List.update()`` / ``delete_object()``), nor an item saved with
  ``update_overwrite_version()``; ``web/lists`` ignored ``$filter``."""

from __future__ import annotations

import time

import pytest
from office365.runtime.client_request_exception import ClientRequestException
from office365.sharepoint.fields.text import FieldText
from office365.sharepoint.permissions.base_permissions import BasePermissions
from office365.sharepoint.permissions.kind import PermissionKind

from tests.sandbox.sharepoint.test_rest_api import _cert_token, _ctx, rest

__all__ = ["rest"]
URL = "/sites/GRC/Evidence"


def test_root_web_of_the_site_is_the_web(rest):
    _w, ctx = rest
    fields = ctx.site.root_web.fields.top(10).get().execute_query()
    assert len(fields) == 10
    title = ctx.site.root_web.fields.get_by_internal_name_or_title("Title").get().execute_query()
    assert isinstance(title, FieldText) and (title.internal_name, title.max_length) == ("Title", 255)
    assert ctx.site.root_web.fields.get_by_title("Title").get().execute_query().internal_name == "Title"
    doc = ctx.site.root_web.content_types.get_by_id("0x0101").get().execute_query()
    assert doc.name == "Document"
    users = ctx.site.root_web.site_users.get().execute_query()
    assert users.entity_type_name == "Collection(SP.User)"
    assert ctx.site.root_web.get().execute_query().server_relative_url == "/sites/GRC"


def test_recycle_bin_items_by_query(rest):
    w, ctx = rest
    folder = ctx.web.get_folder_by_server_relative_url(URL)
    for name in ("a.txt", "b.txt"):
        folder.upload_file(name, name.encode()).execute_query()
        ctx.web.get_file_by_server_relative_url(f"{URL}/{name}").recycle().execute_query()
    items = ctx.web.get_recycle_bin_items().execute_query()
    assert sorted(i.properties["LeafName"] for i in items) == ["a.txt", "b.txt"]
    first = ctx.web.recycle_bin.get().execute_query()[0]
    first.move_to_second_stage().execute_query()
    ctx = _ctx(w, _cert_token(w))
    assert len(ctx.web.get_recycle_bin_items().execute_query()) == 1  # the web's: the first stage
    assert len(ctx.site.get_recycle_bin_items().execute_query()) == 2  # the site collection's: both
    assert len(ctx.web.get_recycle_bin_items(item_state=2).execute_query()) == 0  # the web never has stage 2
    assert len(ctx.site.get_recycle_bin_items(row_limit=1).execute_query()) == 1


def test_user_effective_permissions(rest):
    _w, ctx = rest
    me = ctx.web.current_user.get().execute_query()
    perms = ctx.web.get_user_effective_permissions(me.login_name).execute_query().value
    assert isinstance(perms, BasePermissions) and perms.has(PermissionKind.EditListItems)
    assert not perms.has(PermissionKind.ManageWeb)
    with pytest.raises(ClientRequestException) as info:
        ctx.web.get_user_effective_permissions("i:0#.f|membership|nobody@contoso.com").execute_query()
    assert info.value.response.status_code == 404


def test_save_binary_stream_is_a_new_version(rest):
    _w, ctx = rest
    f = ctx.web.get_folder_by_server_relative_url(URL).upload_file("s.txt", b"one").execute_query()
    before = len(ctx.web.get_file_by_server_relative_url(f"{URL}/s.txt").versions.get().execute_query())
    f.save_binary_stream(b"two, updated").execute_query()
    assert f.get_content().execute_query().value == b"two, updated"
    after = len(ctx.web.get_file_by_server_relative_url(f"{URL}/s.txt").versions.get().execute_query())
    assert after == before + 1  # the bytes before the save are a version of their own


def test_custom_list_rename_filter_and_delete(rest):
    w, ctx = rest
    tasks = ctx.web.lists.add_tasks("Tasks25").execute_query()
    item = tasks.add_item({"Title": "first"}).execute_query()
    row = w.sandbox.store.custom_lists[tasks.id].rows[item.id]
    version, history, modified = row.version, len(row.history), row.modified
    time.sleep(0.01)
    item.update_overwrite_version().execute_query()
    assert (row.version, len(row.history)) == (version, history)  # no new version
    assert row.modified > modified  # but Modified moved on
    assert tasks.items.get_by_id(item.id).get().execute_query().properties["OData__UIVersionString"] == "1.0"
    tasks.set_property("Title", "Tasks25 renamed").update().execute_query()
    found = ctx.web.lists.filter("Title eq 'Tasks25 renamed'").get().execute_query()
    assert [x.title for x in found] == ["Tasks25 renamed"]
    assert ctx.web.lists.filter("Title eq 'Tasks25'").get().execute_query().to_json() == []
    again = ctx.web.lists.get_by_title("Tasks25 renamed").get().execute_query()
    assert again.properties["ListItemEntityTypeFullName"] == tasks.properties["ListItemEntityTypeFullName"]
    assert [i.properties["Title"] for i in again.items.get().execute_query()] == ["first"]
    ctx.web.lists.get_by_title("Tasks25 renamed").delete_object().execute_query()
    assert ctx.web.lists.filter("Title eq 'Tasks25 renamed'").get().execute_query().to_json() == []
