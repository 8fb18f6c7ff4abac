"""Probe round 18 through office365-rest-python-client's ``ClientContext`` unchanged: a custom list's
``get_items(CamlQuery)`` (paged or not) and an item's ``recycle()`` were 400 "The expression … is not valid."
(only libraries took ``GetItems`` and ``Recycle``). The Graph calls the round probed (path CRUD, ``/content``
302, upload sessions with 320 KiB fragments and conflict behaviours, ``$top`` paging, ``$select``/``$expand``,
search, delta, copy's monitor, move, fields, sharing, versions, ``If-Match``, non-indexed ``Prefer``, error
shape, ``$batch`` limits) already answered as Graph documents them."""

from __future__ import annotations

import pytest
from office365.runtime.client_request_exception import ClientRequestException
from office365.sharepoint.listitems.caml.query import CamlQuery

from tests.sandbox.sharepoint.test_client_probe_round8 import _requests_list
from tests.sandbox.sharepoint.test_rest_api import rest

__all__ = ["rest"]


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
