"""Round 27: what office365-rest-python-client's own SharePoint suite (tests/sharepoint: fields, content types,
changes, lists, items, folders) needed of the sandbox, driven by office365 3.3.0 unchanged: schema writes
(site columns and list columns), content types, change queries beyond items."""

from __future__ import annotations

import pytest
from office365.runtime.client_request_exception import ClientRequestException
from office365.sharepoint.changes.query import ChangeQuery
from office365.sharepoint.contenttypes.creation_information import ContentTypeCreationInformation
from office365.sharepoint.fields.creation_information import FieldCreationInformation
from office365.sharepoint.fields.text import FieldText
from office365.sharepoint.fields.type import FieldType
from office365.sharepoint.permissions.base_permissions import BasePermissions
from office365.sharepoint.permissions.kind import PermissionKind
from office365.sharepoint.sharing.role_type import RoleType

from tests.sandbox.sharepoint.test_rest_api import _cert_token, _ctx, _graph, rest

__all__ = ["rest"]
URL = "/sites/GRC/Evidence"


def _kinds(changes) -> list[int]:
    """The changes' ChangeType numbers (office365 parses them into its ChangeType enum)."""
    return [c.properties["ChangeType"].value for c in changes]


def test_site_column_add_rename_delete(rest):
    _w, ctx = rest
    field = ctx.site.root_web.fields.add_text_field("Evidence Owner").execute_query()
    assert isinstance(field, FieldText)
    assert (field.title, field.internal_name, field.max_length) == ("Evidence Owner", "Evidence_x0020_Owner", 255)
    again = ctx.web.fields.get_by_internal_name_or_title("Evidence_x0020_Owner").get().execute_query()
    assert again.id == field.id and again.properties["CanBeDeleted"] is True
    with pytest.raises(ClientRequestException) as info:  # the same title again: a duplicate internal name
        ctx.web.fields.add_text_field("Evidence Owner").execute_query()
    assert info.value.response.status_code == 400 and "duplicate" in info.value.message.lower()
    field.set_property("Title", "Control Owner").update().execute_query()
    renamed = ctx.web.fields.get_by_title("Control Owner").get().execute_query()
    assert (renamed.id, renamed.internal_name) == (field.id, "Evidence_x0020_Owner")  # the internal name stays
    renamed.delete_object().execute_query()
    with pytest.raises(ClientRequestException) as info:
        ctx.web.fields.get_by_title("Control Owner").get().execute_query()
    assert info.value.response.status_code == 404
    with pytest.raises(ClientRequestException) as info:  # a built-in field is not deleted
        ctx.web.fields.get_by_internal_name_or_title("Title").delete_object().execute_query()
    assert info.value.response.status_code == 400


def test_library_column_is_a_column_of_items_and_graph(rest):
    w, ctx = rest
    lib = ctx.web.lists.get_by_title("Evidence")
    num = lib.fields.add_number("Risk Score").execute_query()
    assert (num.internal_name, num.properties["TypeAsString"], num.properties["FieldTypeKind"].value) == (
        "Risk_x0020_Score", "Number", 9)
    d = w.sandbox.store.drives[w.library_id]
    assert "Risk_x0020_Score" in d.columns and d.column_defs["Risk_x0020_Score"]["type"] == "number"
    graph, _ = _graph(w)  # Graph shows the column with the field's id, as SharePoint does
    cols = graph.get(f"{w.sandbox.graph_url}/sites/{w.site_id}/lists/Evidence/columns", timeout=10).json()["value"]
    col = next(c for c in cols if c["name"] == "Risk_x0020_Score")
    assert (col["id"], col["displayName"], "number" in col) == (num.id, "Risk Score", True)
    f = ctx.web.get_folder_by_server_relative_url(URL).upload_file("r.txt", b"r").execute_query()
    item = f.listItemAllFields
    item.set_property("Risk_x0020_Score", "7").update().execute_query()
    got = f.listItemAllFields.get().execute_query()
    assert got.properties["Risk_x0020_Score"] == "7"
    listed = [x.internal_name for x in lib.fields.get().execute_query()]
    assert "Risk_x0020_Score" in listed and listed.count("Risk_x0020_Score") == 1
    # a choice field made by its schema XML keeps its choices
    xml = '<Field Type="Choice" DisplayName="Status" Name="EvStatus"><CHOICES><CHOICE>Open</CHOICE>' \
          "<CHOICE>Closed</CHOICE></CHOICES></Field>"
    choice = lib.fields.create_field_as_xml(xml).execute_query()
    assert (choice.internal_name, list(choice.properties["Choices"])) == ("EvStatus", ["Open", "Closed"])


def test_read_only_app_cannot_add_columns(rest):
    w, ctx = rest
    with pytest.raises(ClientRequestException) as info:
        ctx.web.lists.get_by_title("Policies").fields.add_text_field("Nope").execute_query()
    assert info.value.response.status_code == 403
    assert "Nope" not in w.sandbox.store.drives[w.readonly_library_id].columns


def test_custom_list_fields_take_item_values(rest):
    _w, ctx = rest
    tasks = ctx.web.lists.add_tasks("Controls27").execute_query()
    tasks.fields.add_field(FieldCreationInformation("Due On", FieldType.DateTime)).execute_query()
    made = tasks.fields.get_by_internal_name_or_title("Due On").get().execute_query()
    assert (made.internal_name, made.properties["TypeAsString"]) == ("Due_x0020_On", "DateTime")
    item = tasks.add_item({"Title": "c1", "Due_x0020_On": "2026-01-02T00:00:00Z"}).execute_query()
    assert tasks.items.get_by_id(item.id).get().execute_query().properties["Due_x0020_On"] == "2026-01-02T00:00:00Z"


def test_content_type_made_changed_deleted_and_logged(rest):
    _w, ctx = rest
    start = ctx.web.get_changes(ChangeQuery(ContentType=True)).execute_query()
    assert len(start) == 0
    ct = ctx.site.root_web.content_types.add(ContentTypeCreationInformation("Evidence Record")).execute_query()
    assert ct.name == "Evidence Record" and ct.string_id.startswith("0x0100") and len(ct.string_id) == 38
    assert ctx.web.content_types.get_by_id(ct.string_id).get().execute_query().name == "Evidence Record"
    ct.description = "An audit record"
    ct.update(True).execute_query()
    assert ctx.web.content_types.get_by_id(ct.string_id).get().execute_query().description == "An audit record"
    ct.delete_object().execute_query()
    names = [c.name for c in ctx.web.content_types.get().execute_query()]
    assert "Evidence Record" not in names and "Document" in names
    changes = ctx.web.get_changes(ChangeQuery(ContentType=True)).execute_query()
    assert _kinds(changes) == [1, 2, 3]  # Add, Update, DeleteObject
    assert {c.properties["ContentTypeId"]["StringValue"] for c in changes} == {ct.string_id}
    with pytest.raises(ClientRequestException) as info:  # a built-in type stays
        ctx.web.content_types.get_by_id("0x0101").delete_object().execute_query()
    assert info.value.response.status_code == 400


def test_list_field_and_folder_changes(rest):
    w, ctx = rest
    tasks = ctx.web.lists.add_tasks("Changes27").execute_query()
    assert _kinds(tasks.get_changes().execute_query()) == [1]  # the list's add
    tasks.set_property("Title", "Changes27 renamed").update().execute_query()
    assert _kinds(tasks.get_changes().execute_query()) == [1, 2]
    lib = ctx.web.lists.get_by_title("Evidence")
    lib.fields.add_text_field("Reviewer").execute_query()
    fields = lib.get_changes(ChangeQuery(Field=True)).execute_query()
    assert _kinds(fields) == [1]
    assert fields[0].properties["FieldId"] == lib.fields.get_by_title("Reviewer").get().execute_query().id
    root = ctx.web.get_folder_by_server_relative_url(URL)
    a = root.folders.add("a27").execute_query()
    root.folders.add("b27").execute_query()
    a.upload_file("in-a.txt", b"x").execute_query()
    root.upload_file("in-root.txt", b"y").execute_query()
    in_a = a.get_changes(ChangeQuery(Item=True)).execute_query()
    assert sorted(c.properties["ServerRelativeUrl"] for c in in_a) == [f"{URL}/a27", f"{URL}/a27/in-a.txt"]
    f = ctx.web.get_file_by_server_relative_url(f"{URL}/in-root.txt")
    own = f.listItemAllFields.get_changes(ChangeQuery(Item=True)).execute_query()
    assert [c.properties["ServerRelativeUrl"] for c in own] == [f"{URL}/in-root.txt"]
    ctx2 = _ctx(w, _cert_token(w))
    web = ctx2.web.get_changes(ChangeQuery(List=True, Field=True)).execute_query()
    # the web's log has its lists' changes too; office365 picks the class by the keys present (a field's change,
    # with FieldId and WebId, parses as its ChangeWeb), so look at the keys
    assert any("ListId" in c.properties for c in web) and any("FieldId" in c.properties for c in web)


def test_break_inheritance_needs_full_control(rest):
    w, ctx = rest
    lib = ctx.web.default_document_library()
    with pytest.raises(ClientRequestException) as info:  # a "write" app is SharePoint's Edit: no ManagePermissions
        lib.break_role_inheritance(False).execute_query()
    assert info.value.response.status_code == 403
    assert lib.select(["HasUniqueRoleAssignments"]).get().execute_query().has_unique_role_assignments is False
    w.sandbox.store.full_control.setdefault(w.site_id, set()).add(f"{w.tenant_id}/{w.client_id}")
    me = ctx.web.current_user
    with pytest.raises(ClientRequestException) as info:  # while the list inherits
        lib.add_role_assignment(me, ctx.web.role_definitions.get_by_type(RoleType.Contributor)).execute_query()
    assert info.value.response.status_code == 400 and "inherits" in info.value.message
    lib.break_role_inheritance(False).execute_query()
    assert lib.select(["HasUniqueRoleAssignments"]).get().execute_query().has_unique_role_assignments is True
    only = lib.role_assignments.get().execute_query()  # not copied: only the caller's, Full Control
    assert [a.principal_id for a in only] == [1073741823]
    lib.add_role_assignment(me, ctx.web.role_definitions.get_by_type(RoleType.Contributor)).execute_query()
    got = lib.get_role_assignment(me).expand(["RoleDefinitionBindings"]).get().execute_query()
    assert [r.name for r in got.role_definition_bindings] == ["Full Control", "Contribute"]
    lib.remove_role_assignment(me, ctx.web.role_definitions.get_by_type(RoleType.Contributor)).execute_query()
    got = lib.get_role_assignment(me).expand(["RoleDefinitionBindings"]).get().execute_query()
    assert [r.name for r in got.role_definition_bindings] == ["Full Control"]
    with pytest.raises(ClientRequestException) as info:  # a principal the site does not have
        lib.role_assignments.add_role_assignment(999, 1073741827).execute_query()
    assert info.value.response.status_code == 404
    lib.role_assignments.add_role_assignment(4, 1073741827).execute_query()  # the Visitors group
    assert sorted(a.principal_id for a in lib.role_assignments.get().execute_query()) == [4, 1073741823]
    lib.reset_role_inheritance().execute_query()
    assert lib.select(["HasUniqueRoleAssignments"]).get().execute_query().has_unique_role_assignments is False
    assert sorted(a.principal_id for a in lib.role_assignments.get().execute_query()) == [3, 4, 5]  # the web's
    tasks = ctx.web.lists.add_tasks("Perms27").execute_query()
    tasks.break_role_inheritance(True).execute_query()  # a copy of the web's groups
    assert sorted(a.principal_id for a in tasks.role_assignments.get().execute_query()) == [3, 4, 5]
    with pytest.raises(ClientRequestException) as info:  # the read-only library
        ctx.web.lists.get_by_title("Policies").break_role_inheritance(False).execute_query()
    assert info.value.response.status_code == 403


def test_custom_list_item_versions_and_system_update(rest):
    w, ctx = rest
    tasks = ctx.web.lists.add_tasks("Versions27").execute_query()
    item = tasks.add_item({"Title": "v1"}).execute_query()
    item.set_property("Title", "v2").update().execute_query()
    versions = item.versions.get().execute_query()
    assert [(v.properties["VersionLabel"], v.properties["IsCurrentVersion"], v.properties["Title"])
            for v in versions] == [("2.0", True, "v2"), ("1.0", False, "v1")]
    first = item.versions.get_by_id(512).get().execute_query()
    assert (first.properties["VersionLabel"], first.properties["Title"]) == ("1.0", "v1")
    with pytest.raises(ClientRequestException) as info:
        item.versions.get_by_id(512 * 3).get().execute_query()
    assert info.value.response.status_code == 404
    row = w.sandbox.store.custom_lists[tasks.id].rows[item.id]
    modified, version = row.modified, row.version
    loaded = tasks.items.get_by_id(item.id).get().execute_query()
    before = loaded.properties["Modified"]
    loaded.set_property("Title", "v3").system_update()
    ctx.load(loaded)
    ctx.execute_query()
    assert (row.modified, row.version, loaded.properties["Modified"]) == (modified, version, before)
    assert row.fields["Title"] == "v2"  # the REST call carried no values to save


def test_list_user_permissions_version_delete_and_get_by_path(rest):
    _w, ctx = rest
    me = ctx.web.current_user
    perms = ctx.web.lists.get_by_title("Evidence").get_user_effective_permissions(me).execute_query().value
    assert perms.has(PermissionKind.EditListItems)
    ro = ctx.web.lists.get_by_title("Policies").get_user_effective_permissions(me).execute_query().value
    assert ro.has(PermissionKind.ViewListItems) and not ro.has(PermissionKind.EditListItems)
    root = ctx.web.get_folder_by_server_relative_url(URL)
    f = root.upload_file("v.txt", b"one").execute_query()
    f.save_binary_stream(b"two").execute_query()
    f.save_binary_stream(b"three").execute_query()
    versions = f.versions.get().execute_query()
    assert [v.properties["VersionLabel"] for v in versions] == ["1.0", "2.0"]
    versions[0].delete_object().execute_query()  # the oldest ("one") goes
    left = f.versions.get().execute_query()
    assert len(left) == 1
    assert f.versions.get_by_id(left[0].properties["ID"]).open_binary_stream().execute_query().value == b"two"
    root.folders.add("byPath27").execute_query()
    got = root.folders.get_by_path("byPath27").get().execute_query()
    assert got.server_relative_url == f"{URL}/byPath27"
    with pytest.raises(ClientRequestException) as info:
        root.folders.get_by_path("missing27").get().execute_query()
    assert info.value.response.status_code == 404


def test_item_permissions_inherit_from_their_list(rest):
    w, ctx = rest
    f = ctx.web.get_folder_by_server_relative_url(URL).upload_file("secret.txt", b"s").execute_query()
    item = f.listItemAllFields
    with pytest.raises(ClientRequestException) as info:  # Edit role: no ManagePermissions
        item.break_role_inheritance(True).execute_query()
    assert info.value.response.status_code == 403
    w.sandbox.store.full_control.setdefault(w.site_id, set()).add(f"{w.tenant_id}/{w.client_id}")
    lib = ctx.web.lists.get_by_title("Evidence")
    item.break_role_inheritance(False).execute_query()  # the item alone: only the app
    assert item.select(["HasUniqueRoleAssignments"]).get().execute_query().has_unique_role_assignments is True
    assert [a.principal_id for a in item.role_assignments.get().execute_query()] == [1073741823]
    assert sorted(a.principal_id for a in lib.role_assignments.get().execute_query()) == [3, 4, 5]  # list: the web's
    lib.break_role_inheritance(False, True).execute_query()  # clearSubscopes: the item inherits from the list again
    assert item.select(["HasUniqueRoleAssignments"]).get().execute_query().has_unique_role_assignments is False
    lib.role_assignments.add_role_assignment(4, 1073741826).execute_query()  # Visitors: Read, on the list
    assert sorted(a.principal_id for a in item.role_assignments.get().execute_query()) == [4, 1073741823]
    item.break_role_inheritance(True).execute_query()  # a copy of the list's
    item.role_assignments.remove_role_assignment(4, 1073741826).execute_query()
    assert [a.principal_id for a in item.role_assignments.get().execute_query()] == [1073741823]
    lib.break_role_inheritance(True, True).execute_query()  # already unique: nothing changes, the item keeps its own
    assert [a.principal_id for a in item.role_assignments.get().execute_query()] == [1073741823]
    assert sorted(a.principal_id for a in lib.role_assignments.get().execute_query()) == [4, 1073741823]
    lib.reset_role_inheritance().execute_query()
    item.reset_role_inheritance().execute_query()
    assert sorted(a.principal_id for a in item.role_assignments.get().execute_query()) == [3, 4, 5]


def test_role_definitions_and_web_assignments(rest):
    w, ctx = rest
    perms = BasePermissions()
    perms.set(PermissionKind.ViewListItems)
    perms.set(PermissionKind.OpenItems)
    with pytest.raises(ClientRequestException) as info:  # Edit role: no ManagePermissions
        ctx.web.role_definitions.add(perms, "Evidence Reader").execute_query()
    assert info.value.response.status_code == 403
    w.sandbox.store.full_control.setdefault(w.site_id, set()).add(f"{w.tenant_id}/{w.client_id}")
    made = ctx.web.role_definitions.add(perms, "Evidence Reader").execute_query()
    got = ctx.web.role_definitions.get_by_name("Evidence Reader").get().execute_query()
    assert got.id == made.id and got.base_permissions.has(PermissionKind.OpenItems)
    assert not got.base_permissions.has(PermissionKind.EditListItems)
    with pytest.raises(ClientRequestException) as info:
        ctx.web.role_definitions.add(perms, "evidence reader").execute_query()
    assert info.value.response.status_code == 400
    me = ctx.web.current_user
    ctx.web.add_role_assignment(me, made).execute_query()
    assert sorted(a.principal_id for a in ctx.web.role_assignments.get().execute_query()) == [3, 4, 5, 1073741823]
    tasks = ctx.web.lists.add_tasks("Roles27").execute_query()  # a list inherits the web's, as changed
    assert sorted(a.principal_id for a in tasks.role_assignments.get().execute_query()) == [3, 4, 5, 1073741823]
    made.delete_object().execute_query()  # its bindings go with it
    assert [r.name for r in ctx.web.role_definitions.get().execute_query()][-1] == "Limited Access"
    # the app's assignment had only that role: it is gone [unc: SharePoint may keep an empty assignment]
    assert sorted(a.principal_id for a in ctx.web.role_assignments.get().execute_query()) == [3, 4, 5]
    with pytest.raises(ClientRequestException) as info:  # SharePoint's own levels stay
        ctx.web.role_definitions.get_by_name("Read").delete_object().execute_query()
    assert info.value.response.status_code == 400


def test_library_takes_a_web_content_type(rest):
    _w, ctx = rest
    ct = ctx.web.content_types.add(ContentTypeCreationInformation("Audit Evidence")).execute_query()
    lib = ctx.web.lists.get_by_title("Evidence")
    added = lib.content_types.add_available_content_type(ct.string_id).execute_query()
    assert added.name == "Audit Evidence" and added.string_id.startswith(ct.string_id + "00")
    assert [c.name for c in lib.content_types.get().execute_query()] == ["Document", "Folder", "Audit Evidence"]
    assert lib.content_types.get_by_id(added.string_id).get().execute_query().name == "Audit Evidence"
    with pytest.raises(ClientRequestException) as info:  # already there
        lib.content_types.add_available_content_type(ct.string_id).execute_query()
    assert info.value.response.status_code == 400
    with pytest.raises(ClientRequestException) as info:  # the web has no such type
        lib.content_types.add_available_content_type("0x0100" + "AB" * 16).execute_query()
    assert info.value.response.status_code == 404
    with pytest.raises(ClientRequestException) as info:  # the read-only library
        ctx.web.lists.get_by_title("Policies").content_types.add_available_content_type(ct.string_id).execute_query()
    assert info.value.response.status_code == 403
