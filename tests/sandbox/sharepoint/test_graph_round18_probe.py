"""Probe round 18 of Graph and SharePoint REST, through office365-rest-python-client's ``ClientContext`` and
plain requests:

- a custom list's ``get_items(CamlQuery)`` (paged or not) and an item's ``recycle()`` were 400 "The expression …
  is not valid." (only libraries took ``GetItems`` and ``Recycle``); ``web.lists.add_list``/``add_library``
  (``POST web/lists``) too.
- Graph ``DELETE`` (or ``permanentDelete``) of a drive's root answered 204 and took the whole library.
- a ``$batch`` write without ``Content-Type`` (or without a body) ran; Graph refuses the whole batch.
- ``PATCH …/listItem/fields``, and a custom list item's PATCH and DELETE, ignored a stale ``If-Match``.

The other Graph calls the round probed (path CRUD, ``/content`` 302, upload sessions with 320 KiB fragments and
conflict behaviours, ``$top`` paging, ``$select``/``$expand``, search, delta, copy's monitor, move, sharing,
versions, ``Range`` downloads, non-indexed ``Prefer``, error shape, ``$batch`` limits) answered as documented."""

from __future__ import annotations

import pytest
from office365.runtime.client_request_exception import ClientRequestException
from office365.sharepoint.listitems.caml.query import CamlQuery

from tests.sandbox.sharepoint.test_client_probe import graph
from tests.sandbox.sharepoint.test_client_probe_round8 import _requests_list
from tests.sandbox.sharepoint.test_rest_api import rest

__all__ = ["graph", "rest"]


def _titles(items) -> list[str]:
    return [i.properties["Title"] for i in items]


def _seeded(w, ctx, count: int = 7):
    lst = _requests_list(w, ctx)
    for n in range(count):
        lst.add_item({"Title": f"req {n}", "Control": f"CC{n % 3}"}).execute_query()
    return lst


def test_custom_list_caml_where_order_and_row_limit(rest):
    w, ctx = rest
    lst = _seeded(w, ctx)
    where = CamlQuery.parse('<Where><Eq><FieldRef Name="Control"/><Value Type="Text">CC1</Value></Eq></Where>'
                            '<OrderBy><FieldRef Name="Title" Ascending="FALSE"/></OrderBy>')
    assert _titles(lst.get_items(where).execute_query()) == ["req 4", "req 1"]
    limited = CamlQuery()
    limited.ViewXml = "<View><Query><OrderBy><FieldRef Name='ID'/></OrderBy></Query><RowLimit>2</RowLimit></View>"
    page = lst.get_items(limited).execute_query()
    assert _titles(page) == ["req 0", "req 1"] and page[0].id == 1
    assert _titles(lst.get_items().execute_query()) == [f"req {n}" for n in range(7)]
    with pytest.raises(ClientRequestException) as info:
        lst.get_items(CamlQuery.parse('<Where><Eq><FieldRef Name="Nope"/><Value Type="Text">x</Value></Eq>'
                                      '</Where>')).execute_query()
    assert info.value.response.status_code == 500  # as for a library (rest_caml.py) [unc: the status]


def test_custom_list_caml_paged_by_position(rest):
    w, ctx = rest
    lst = _seeded(w, ctx)
    query = CamlQuery.parse("<OrderBy><FieldRef Name='ID'/></OrderBy>")
    query.ViewXml = query.ViewXml.replace("</View>", "<RowLimit>3</RowLimit></View>")
    assert _titles(lst.get_items(query, page_size=3).execute_query()) == [f"req {n}" for n in range(7)]


def test_custom_list_item_recycle(rest):
    w, ctx = rest
    lst = _seeded(w, ctx, 3)
    guid = lst.get_item_by_id(2).recycle().execute_query().value
    assert len(guid) == 36
    assert _titles(lst.items.get().execute_query()) == ["req 0", "req 2"]
    app = next(iter(w.sandbox.store.drives[w.library_id].grants))
    w.sandbox.add_custom_list(w.site_id, "Read Only", grants={app: "read"}).rows  # noqa: B018
    ro = ctx.web.lists.get_by_title("Read Only")
    assert _titles(ro.get_items().execute_query()) == []  # GetItems is a read
    with pytest.raises(ClientRequestException) as info:
        ro.get_item_by_id(1).recycle().execute_query()
    assert info.value.response.status_code == 403  # a read grant: no recycle


def test_web_lists_add_makes_a_custom_list_or_a_library(rest):
    """``POST web/lists`` was 400 "The expression "Web/lists" is not valid."."""
    w, ctx = rest
    tasks = ctx.web.lists.add_list("Audit Tasks").execute_query()
    assert (tasks.title, tasks.properties["BaseTemplate"]) == ("Audit Tasks", 100)
    tasks.add_item({"Title": "collect logs"}).execute_query()
    assert _titles(ctx.web.lists.get_by_title("Audit Tasks").get_items().execute_query()) == ["collect logs"]
    library = ctx.web.lists.add_library("Audit Files").execute_query()
    assert (library.title, library.properties["BaseTemplate"]) == ("Audit Files", 101)
    folder = ctx.web.lists.get_by_title("Audit Files").root_folder
    assert folder.upload_file("a.txt", b"a").execute_query().name == "a.txt"
    titles = {lst.title for lst in ctx.web.lists.get().execute_query()}
    assert {"Audit Tasks", "Audit Files", "Evidence", "Policies"} <= titles
    with pytest.raises(ClientRequestException) as info:
        ctx.web.lists.add_list("audit tasks").execute_query()
    assert info.value.response.status_code == 500 and "already exists" in str(info.value)  # [unc] the status
    # an app that may only read on the site may not make lists
    for d in w.sandbox.store.drives.values():
        d.grants = {k: "read" for k in d.grants}
    for c in w.sandbox.store.custom_lists.values():
        c.grants = {k: "read" for k in c.grants}
    with pytest.raises(ClientRequestException) as info:
        ctx.web.lists.add_list("Nope").execute_query()
    assert info.value.response.status_code == 403


# -- Graph ------------------------------------------------------------------------------------------------
def test_the_root_of_a_drive_cannot_be_deleted(graph):
    _, s, base = graph
    assert s.put(f"{base}/root:/keep/me.txt:/content", data=b"k").status_code == 201
    for r in (s.delete(f"{base}/root"), s.post(f"{base}/root/permanentDelete"),
              s.delete(f"{base}/items/{s.get(f'{base}/root').json()['id']}")):
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalidRequest"  # [unc] code and text
    assert s.get(f"{base}/root:/keep/me.txt:/content").content == b"k"
    assert s.delete(f"{base}/root:/keep:").status_code == 204  # a folder under it still can be


def test_batch_write_without_content_type_or_body_refuses_the_batch(graph):
    w, s, _ = graph
    drive = f"/drives/{w.library_id}"
    for step in ({"body": {"name": "NoType", "folder": {}}},
                 {"body": {"name": "NoType", "folder": {}}, "headers": {"Accept": "application/json"}},
                 {"headers": {"Content-Type": "application/json"}}):
        r = s.post(f"{w.sandbox.graph_url}/$batch", json={"requests": [
            {"id": "1", "method": "GET", "url": f"{drive}/root"},
            {"id": "2", "method": "POST", "url": f"{drive}/root/children", **step}]})
        assert r.status_code == 400, (step, r.text)
        assert r.json()["error"] == r.json()["error"] | {
            "code": "BadRequest", "message": "Write request id : 2 does not contain Content-Type header or body."}
        assert s.get(f"{w.sandbox.graph_url}{drive}/root:/NoType").status_code == 404
    ok = s.post(f"{w.sandbox.graph_url}/$batch", json={"requests": [
        {"id": "1", "method": "POST", "url": f"{drive}/root/children", "body": {"name": "Typed", "folder": {}},
         "headers": {"content-type": "application/json"}},
        {"id": "2", "method": "DELETE", "url": f"{drive}/root:/Typed", "dependsOn": ["1"]}]})
    assert [x["status"] for x in ok.json()["responses"]] == [201, 204]


def test_fields_patch_honours_if_match(graph):
    _, s, base = graph
    item = s.put(f"{base}/root:/f/doc.txt:/content", data=b"d").json()
    url = f"{base}/items/{item['id']}/listItem/fields"
    etag = s.get(url).json()["@odata.etag"]
    assert s.patch(url, json={"Title": "one"}, headers={"If-Match": etag}).status_code == 200
    stale = s.patch(url, json={"Title": "two"}, headers={"If-Match": etag})  # the fields changed since
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "resourceModified"
    assert s.get(url).json()["Title"] == "one"
    for current in (lambda: s.get(url).json()["@odata.etag"], lambda: s.get(f"{base}/items/{item['id']}").json()[
            "eTag"], lambda: "*"):
        assert s.patch(url, json={"EvidenceSha256": "ab"}, headers={"If-Match": current()}).status_code == 200


def test_custom_list_item_writes_honour_if_match(graph):
    """A custom list's item PATCH (fields, or the item with ``fields``) and DELETE ignored a stale ``If-Match``."""
    w, s, _ = graph
    app = next(iter(w.sandbox.store.drives[w.library_id].grants))
    w.sandbox.add_custom_list(w.site_id, "Reqs", grants={app: "write"}, columns={"Control"})
    items = f"{w.sandbox.graph_url}/sites/{w.site_id}/lists/Reqs/items"
    made = s.post(items, json={"fields": {"Title": "a", "Control": "CC1"}}).json()
    first = made["@odata.etag"]
    assert s.patch(f"{items}/{made['id']}/fields", json={"Title": "b"}, headers={"If-Match": first}).status_code == 200
    for r in (s.patch(f"{items}/{made['id']}/fields", json={"Title": "c"}, headers={"If-Match": first}),
              s.patch(f"{items}/{made['id']}", json={"fields": {"Title": "c"}}, headers={"If-Match": first}),
              s.delete(f"{items}/{made['id']}", headers={"If-Match": first})):
        assert r.status_code == 412 and r.json()["error"]["code"] == "resourceModified"
    now = s.get(f"{items}/{made['id']}/fields").json()
    assert now["Title"] == "b"
    assert s.delete(f"{items}/{made['id']}", headers={"If-Match": now["@odata.etag"]}).status_code == 204
