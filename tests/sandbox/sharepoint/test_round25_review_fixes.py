"""Round 25 review fixes of the SharePoint emulator: Note columns without ``MaxLength``, ``web/lists`` filtering
on every property before ``$select``, custom list renames (own title in another case, atomic with the check,
a later list of the old title on its own URL, the property bag kept by list id), and ``GetRecycleBinItems``
refusing a parameter of the wrong type as SharePoint does."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from office365.runtime.client_request_exception import ClientRequestException

from sandbox.sharepoint.rest_filter import query_rows
from tests.sandbox.sharepoint.test_rest_api import SP_SCOPE, _token, rest

__all__ = ["rest"]


def _http(w):
    """A REST session with the app's token, answers without metadata, and the site's ``_api`` URL."""
    s = requests.Session()
    s.headers.update({"Authorization": f"Bearer {_token(w, SP_SCOPE)}", "Accept": "application/json;odata=nometadata",
                      "Content-Type": "application/json"})
    return s, f"{w.sandbox.url}/sites/GRC/_api"


def _rename(s, api: str, lid: str, title: str) -> requests.Response:
    return s.post(f"{api}/web/lists(guid'{lid}')", json={"Title": title},
                  headers={"X-HTTP-Method": "MERGE", "IF-MATCH": "*"}, timeout=10)


def test_only_text_fields_carry_max_length(rest):
    w, _ctx = rest
    s, api = _http(w)
    fields = {f["InternalName"]: f for f in s.get(f"{api}/web/lists/GetByTitle('Evidence')/fields",
                                                   timeout=10).json()["value"]}
    assert fields["EvidenceMetadata"]["TypeAsString"] == "Note" and "MaxLength" not in fields["EvidenceMetadata"]
    assert fields["Title"]["MaxLength"] == 255
    assert all(("MaxLength" in f) == (f["FieldTypeKind"] == 2) for f in fields.values())
    # MaxLength is not the first field's (ID) property, yet a filter on it is read
    texts = s.get(f"{api}/web/lists/GetByTitle('Evidence')/fields", params={"$filter": "MaxLength eq 255"},
                  timeout=10).json()["value"]
    assert sorted(f["InternalName"] for f in texts) == ["Title", "_UIVersionString"]


def test_query_rows_knows_every_rows_properties():
    rows = [{"Title": "a"}, {"Title": "b", "Extra": 3}]
    assert query_rows(rows, {"$filter": "Extra eq 3"}) == [{"Title": "b", "Extra": 3}]


def test_web_lists_filter_before_select(rest):
    w, ctx = rest
    ctx.web.lists.add_tasks("Filtered25").execute_query()
    s, api = _http(w)
    got = s.get(f"{api}/web/lists", params={"$select": "Title", "$filter": "BaseTemplate eq 100"}, timeout=10)
    assert (got.status_code, got.json()["value"]) == (200, [{"Title": "Filtered25"}])
    libs = s.get(f"{api}/web/lists", params={"$select": "Id", "$filter": "BaseTemplate eq 101", "$top": "1"},
                 timeout=10).json()["value"]
    assert len(libs) == 1 and list(libs[0]) == ["Id"]
    found = ctx.web.lists.select(["Title"]).filter("BaseTemplate eq 100").get().execute_query()
    assert [x.title for x in found] == ["Filtered25"]


def test_rename_to_own_title_in_another_case(rest):
    w, ctx = rest
    tasks = ctx.web.lists.add_tasks("Case25").execute_query()
    other = ctx.web.lists.add_tasks("Other25").execute_query()
    s, api = _http(w)
    assert _rename(s, api, tasks.id, "CASE25").status_code == 204
    assert ctx.web.lists.get_by_id(tasks.id).get().execute_query().title == "CASE25"
    for taken in ("other25", "EVIDENCE"):  # another list's or a library's title, in any case
        refused = _rename(s, api, tasks.id, taken)
        assert refused.status_code == 409 and "already exists" in refused.json()["odata.error"]["message"]["value"]
    assert ctx.web.lists.get_by_id(other.id).get().execute_query().title == "Other25"


def test_concurrent_renames_to_one_title(rest, monkeypatch):
    w, ctx = rest
    ids = [ctx.web.lists.add_tasks(t).execute_query().id for t in ("Race25a", "Race25b")]
    real = w.sandbox.list_titles_taken

    def slow(lst):  # widen the window between the check and the rename
        taken = real(lst)
        time.sleep(0.3)
        return taken

    monkeypatch.setattr(w.sandbox, "list_titles_taken", slow)
    s, api = _http(w)
    codes: list[int] = []
    threads = [threading.Thread(target=lambda i=i: codes.append(_rename(s, api, i, "Race25").status_code))
               for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [204, 409]
    assert sorted(c.title for c in w.sandbox.store.custom_lists.values() if c.id in ids).count("Race25") == 1


def test_new_list_of_a_renamed_lists_title_gets_its_own_url(rest):
    w, ctx = rest
    s, api = _http(w)
    old = ctx.web.lists.add_tasks("Alpha25").execute_query()
    old.add_item({"Title": "old one"}).execute_query()
    assert _rename(s, api, old.id, "Beta25").status_code == 204
    new = ctx.web.lists.add_tasks("Alpha25").execute_query()
    new.add_item({"Title": "new one"}).execute_query()
    lists = {x["Id"]: x for x in s.get(f"{api}/web/lists", params={"$filter": "BaseTemplate eq 100"},
                                       timeout=10).json()["value"]}
    assert lists[old.id]["DefaultViewUrl"] == "/sites/GRC/Lists/Alpha25/AllItems.aspx"
    assert lists[new.id]["DefaultViewUrl"] == "/sites/GRC/Lists/Alpha251/AllItems.aspx"  # [unc] the numbering
    assert lists[new.id]["ListItemEntityTypeFullName"] == "SP.Data.Alpha251ListItem"
    for lid, body in ((old.id, b"old"), (new.id, b"new")):
        added = s.post(f"{api}/web/lists(guid'{lid}')/items(1)/AttachmentFiles/add(FileName='a.txt')", data=body,
                       timeout=10)
        assert added.status_code == 200
    for url, body in (("Alpha25", b"old"), ("Alpha251", b"new")):  # each URL reaches its own list
        got = s.get(f"{api}/web/GetFileByServerRelativeUrl('/sites/GRC/Lists/{url}/Attachments/1/a.txt')/$value",
                    timeout=10)
        assert (got.status_code, got.content) == (200, body)
    graph = requests.Session()
    graph.headers["Authorization"] = "Bearer " + _token(w, "https://graph.microsoft.com/.default")
    base = f"{w.sandbox.graph_url}/sites/{w.site_id}/lists"
    assert graph.get(f"{base}/Alpha251", timeout=10).json()["id"] == new.id  # by URL name
    assert graph.get(f"{base}/Alpha25", timeout=10).json()["id"] == new.id  # a title before another's URL name
    assert graph.get(f"{base}/Beta25", timeout=10).json()["name"] == "Alpha25"


def test_property_bag_follows_the_list_not_its_title(rest):
    w, ctx = rest
    s, api = _http(w)
    first = ctx.web.lists.add_tasks("Bag25").execute_query()
    w.sandbox.property_bag(f"{w.site_id}/{first.id}")["owner"] = "grc-team"
    assert _rename(s, api, first.id, "Bag25 renamed").status_code == 204
    props = s.get(f"{api}/web/lists(guid'{first.id}')/RootFolder/Properties", timeout=10).json()
    assert props["owner"] == "grc-team"
    later = ctx.web.lists.add_tasks("Bag25").execute_query()
    props = s.get(f"{api}/web/lists(guid'{later.id}')/RootFolder/Properties", timeout=10).json()
    assert "owner" not in props and props["vti_x005f_listtitle"] == "Bag25"


@pytest.mark.parametrize(("body", "kind"), [({"itemState": "abc"}, "Edm.Int32"), ({"itemState": [1]}, "Edm.Int32"),
                                            ({"itemState": {"a": 1}}, "Edm.Int32"), ({"rowLimit": "x"}, "Edm.Int32"),
                                            ({"isAscending": "yes"}, "Edm.Boolean")])
def test_recycle_bin_items_bad_parameter_value(rest, body, kind):
    w, _ctx = rest
    s, api = _http(w)
    for scope in ("web", "site"):
        got = s.post(f"{api}/{scope}/GetRecycleBinItems", json=body, timeout=10)
        assert got.status_code == 400
        err = got.json()["odata.error"]
        assert err["message"]["value"] == (f"Cannot convert a primitive value to the expected type '{kind}'. "
                                           "See the inner exception for more details.")
    assert s.post(f"{api}/web/GetRecycleBinItems", json={"itemState": 1, "rowLimit": 5}, timeout=10).status_code == 200


def test_deleted_list_takes_its_bag(rest):
    w, ctx = rest
    lst = ctx.web.lists.add_tasks("Gone25").execute_query()
    w.sandbox.property_bag(f"{w.site_id}/{lst.id}")["k"] = "v"
    ctx.web.lists.get_by_id(lst.id).delete_object().execute_query()
    assert f"{w.site_id}/{lst.id}" not in w.sandbox.__dict__.get("_property_bags", {})
    with pytest.raises(ClientRequestException):
        ctx.web.lists.get_by_id(lst.id).get().execute_query()


@pytest.mark.parametrize("value", ["--5", "\u00b2", "1\u00b2", "\u0661", "2147483648", "-2147483649", 2**31])
def test_recycle_bin_items_non_ascii_or_out_of_range_int(rest, value):
    """Unicode digits, a doubled minus and values beyond Int32 were read by ``isdigit()`` and then broke ``int()``
    (500); they are the bad-value 400 now."""
    w, _ctx = rest
    s, api = _http(w)
    for key in ("itemState", "rowLimit"):
        got = s.post(f"{api}/web/GetRecycleBinItems", json={key: value}, timeout=10)
        assert got.status_code == 400, (key, value, got.status_code)
        assert "Edm.Int32" in got.json()["odata.error"]["message"]["value"]
    for fine in (" 2 ", "-1", 2**31 - 1):
        assert s.post(f"{api}/web/GetRecycleBinItems", json={"rowLimit": fine}, timeout=10).status_code == 200


@pytest.mark.parametrize("value", ["\u00b2", "1\u00b2", "--5", "-1", "2147483648"])
def test_query_rows_bad_skip_or_top_is_400(value):
    from sandbox.sharepoint.rest_errors import RestError

    for key in ("$skip", "$top"):
        with pytest.raises(RestError) as err:
            query_rows([{"Title": "a"}], {key: value})
        assert err.value.status == 400
    assert query_rows([{"Title": "a"}, {"Title": "b"}], {"$skip": "1", "$top": "1"}) == [{"Title": "b"}]


def test_web_lists_unicode_top_is_400(rest):
    w, _ctx = rest
    s, api = _http(w)
    got = s.get(f"{api}/web/lists", params={"$top": "\u00b2"}, timeout=10)
    assert got.status_code == 400 and "InvalidClientQueryException" in got.json()["odata.error"]["code"]
