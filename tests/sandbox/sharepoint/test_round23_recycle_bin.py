"""Probe round 23: the recycle bin through office365-rest-python-client unchanged.

- ``recycle_bin.get_by_id(id).delete_object()`` (a POST with ``X-HTTP-Method: DELETE``) was 400 "The expression
  … is not valid.": the bin only took a real DELETE.
- ``RecycleBinItem.move_to_second_stage()`` was 400; SharePoint moves the item to the second stage, which the
  web's bin no longer lists and the site collection's bin does."""

from __future__ import annotations

import pytest
from office365.runtime.client_request_exception import ClientRequestException

from tests.sandbox.sharepoint.test_rest_api import _cert_token, _ctx, rest

__all__ = ["rest"]
URL = "/sites/GRC/Evidence"


def _recycled(ctx, names):
    folder = ctx.web.get_folder_by_server_relative_url(URL)
    ids = {}
    for name in names:
        folder.upload_file(name, name.encode()).execute_query()
        ids[name] = ctx.web.get_file_by_server_relative_url(f"{URL}/{name}").recycle().execute_query().value
    return ids


def _bin(collection):
    return sorted((i.properties["LeafName"], i.properties["ItemState"]) for i in collection.get().execute_query())


def test_delete_object_of_a_bin_item(rest):
    w, ctx = rest
    ids = _recycled(ctx, ["a.txt", "b.txt"])
    ctx.web.recycle_bin.get_by_id(ids["a.txt"]).delete_object().execute_query()
    fresh = _ctx(w, _cert_token(w))
    assert _bin(fresh.web.recycle_bin) == [("b.txt", 1)]
    with pytest.raises(ClientRequestException) as info:
        fresh.web.recycle_bin.get_by_id(ids["a.txt"]).restore().execute_query()
    assert info.value.response.status_code == 404  # gone for good
    fresh = _ctx(w, _cert_token(w))
    fresh.web.recycle_bin.get_by_id(ids["b.txt"]).delete_object(ignore_missing=True).execute_query()
    assert _bin(fresh.web.recycle_bin) == []


def test_move_to_second_stage_and_restore_from_the_site_bin(rest):
    w, ctx = rest
    ids = _recycled(ctx, ["c.txt", "d.txt"])
    ctx.web.recycle_bin.get_by_id(ids["c.txt"]).move_to_second_stage().execute_query()
    ctx = _ctx(w, _cert_token(w))
    assert _bin(ctx.web.recycle_bin) == [("d.txt", 1)]  # the web's bin: the first stage only
    assert _bin(ctx.site.recycle_bin) == [("c.txt", 2), ("d.txt", 1)]  # the site collection's: both
    ctx.site.recycle_bin.get_by_id(ids["c.txt"]).restore().execute_query()
    names = [f.name for f in ctx.web.get_folder_by_server_relative_url(URL).files.get().execute_query()]
    assert names == ["c.txt"]
    assert ctx.web.get_file_by_server_relative_url(f"{URL}/c.txt").get_content().execute_query().value == b"c.txt"
    ctx.web.recycle_bin.restore_all().execute_query()  # d.txt, first stage
    assert _bin(ctx.site.recycle_bin) == []
    # a read-only app may not move items between stages
    ro = _recycled(ctx, ["e.txt"])
    for d in w.sandbox.store.drives.values():
        d.grants = {k: "read" for k in d.grants}
    ctx = _ctx(w, _cert_token(w))
    with pytest.raises(ClientRequestException) as info:
        ctx.web.recycle_bin.get_by_id(ro["e.txt"]).move_to_second_stage().execute_query()
    assert info.value.response.status_code == 403
