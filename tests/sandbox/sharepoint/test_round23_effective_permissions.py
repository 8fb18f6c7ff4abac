"""Probe round 23: ``EffectiveBasePermissions`` through office365-rest-python-client unchanged. ``GET
web/EffectiveBasePermissions`` (and a list's, and a list item's) was 400 "The expression … is not valid.", and
``$select=EffectiveBasePermissions`` left the property out, so ``effective_base_permissions.has(…)`` was False
for every permission, even on a library the app may write."""

from __future__ import annotations

import requests
from office365.sharepoint.permissions.kind import PermissionKind

from tests.sandbox.sharepoint.test_rest_api import SP_SCOPE, _cert_token, _ctx, _token, rest

__all__ = ["rest"]
EDIT, READ = {"High": "432", "Low": "1011030767"}, {"High": "176", "Low": "138612833"}


def test_effective_permissions_of_web_lists_and_items(rest):
    w, ctx = rest
    ctx.web.get_folder_by_server_relative_url("/sites/GRC/Evidence").upload_file("p.txt", b"p").execute_query()
    web = ctx.web.get().select(["EffectiveBasePermissions", "Title"]).execute_query()
    assert web.effective_base_permissions.has(PermissionKind.AddListItems) and web.title == "GRC"
    writable = _ctx(w, _cert_token(w)).web.lists.get_by_title("Evidence").get().select(
        ["EffectiveBasePermissions"]).execute_query().effective_base_permissions
    readable = _ctx(w, _cert_token(w)).web.lists.get_by_title("Policies").get().select(
        ["EffectiveBasePermissions"]).execute_query().effective_base_permissions
    assert writable.has(PermissionKind.EditListItems) and writable.has(PermissionKind.DeleteListItems)
    assert readable.has(PermissionKind.ViewListItems) and readable.has(PermissionKind.OpenItems)
    assert not readable.has(PermissionKind.EditListItems) and not readable.has(PermissionKind.AddListItems)
    assert not writable.has(PermissionKind.ManagePermissions) and not writable.has(PermissionKind.FullMask)
    item = _ctx(w, _cert_token(w)).web.get_file_by_server_relative_url("/sites/GRC/Evidence/p.txt") \
        .listItemAllFields.get().select(["EffectiveBasePermissions", "FileLeafRef"]).execute_query()
    assert item.properties["FileLeafRef"] == "p.txt"
    assert item.properties["EffectiveBasePermissions"].has(PermissionKind.EditListItems)


def test_effective_permissions_over_http(rest):
    w, _ = rest
    s = requests.Session()
    s.headers.update({"Authorization": "Bearer " + _token(w, SP_SCOPE), "Accept": "application/json;odata=nometadata"})
    api = f"{w.site_url}/_api/web"
    assert s.get(f"{api}/EffectiveBasePermissions", timeout=10).json() == EDIT
    assert s.get(f"{api}/lists/GetByTitle('Policies')/EffectiveBasePermissions", timeout=10).json() == READ
    assert s.get(f"{api}/lists/GetByTitle('Evidence')/EffectiveBasePermissions", timeout=10).json() == EDIT
    assert "EffectiveBasePermissions" not in s.get(api, timeout=10).json()  # only when selected
    verbose = s.get(f"{api}/EffectiveBasePermissions", headers={"Accept": "application/json;odata=verbose"},
                    timeout=10).json()
    assert verbose == {"d": {"EffectiveBasePermissions": {"__metadata": {"type": "SP.BasePermissions"}, **EDIT}}}
    # an app with read grants only: the web shows Read
    for d in w.sandbox.store.drives.values():
        d.grants = {k: "read" for k in d.grants}
    assert s.get(f"{api}/EffectiveBasePermissions", timeout=10).json() == READ
