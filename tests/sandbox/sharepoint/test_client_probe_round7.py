"""Probe round 7 of SharePoint REST (``<site>/_api``) through office365-rest-python-client's ``ClientContext``,
unchanged: list item field strings, ValidateUpdateListItem / SystemUpdate / UpdateOverwriteVersion, site users
and EnsureUser, GetListUsingPath (a parameter alias) and File/CheckedOutByUser, each of which answered 400
"The expression … is not valid." or 404 before."""

from __future__ import annotations

import pytest
import requests
from office365.runtime.client_request_exception import ClientRequestException
from office365.sharepoint.files.checkin_type import CheckinType

from tests.sandbox.sharepoint.test_client_probe import _token, graph
from tests.sandbox.sharepoint.test_rest_api import SP_SCOPE, _graph, rest

__all__ = ["graph", "rest"]


def _library(ctx, name: str = "soc2 & report.pdf"):
    """The Evidence library with one PDF uploaded (item 1)."""
    lib = ctx.web.lists.get_by_title("Evidence")
    ctx.web.get_folder_by_server_relative_url("Evidence").upload_file(name, b"%PDF-1.7").execute_query()
    return lib, lib.get_item_by_id(1)


def test_field_values_as_text_and_html(rest):
    _w, ctx = rest
    _lib, item = _library(ctx)
    text = item.field_values_as_text.get().execute_query().properties
    assert text["FileLeafRef"] == "soc2 & report.pdf" and text["ID"] == "1" and text["Title"] == ""
    assert text["FSObjType"] == "0" and text["Author"] == "SharePoint App" and text["Modified"].endswith("M")
    assert all(isinstance(v, str) for v in text.values())
    html = item.field_values_as_html.get().execute_query().properties
    assert html["FileLeafRef"] == "soc2 &amp; report.pdf"


def test_validate_update_list_item_and_system_update(rest):
    """ValidateUpdateListItem sets fields and reports each (a column the list lacks as HasException, not as a
    failed call); ListItem.system_update (SiteUsers/GetById then ValidateUpdateListItem with Modified and
    Editor) and update_overwrite_version succeed; ``Modified`` can be set (as sync tools keep a document's
    date); the values are seen through Graph."""
    w, ctx = rest
    lib, item = _library(ctx)
    result = item.validate_update_list_item({"EvidenceSha256": "ab12", "Title": "SOC 2"}).execute_query().value
    assert [(v.FieldName, v.HasException, v.ErrorCode) for v in result] == [("EvidenceSha256", False, 0),
                                                                            ("Title", False, 0)]
    bad = item.validate_update_list_item({"NoSuchColumn": "x"}, new_document_update=True).execute_query().value
    assert bad[0].HasException and "NoSuchColumn" in bad[0].ErrorMessage
    lib.get_item_by_id(1).system_update().execute_query()  # sends Editor (a user value) and Modified back
    kept = item.validate_update_list_item({"Modified": "2019-03-01T10:00:00Z", "EvidenceMetadata": '{"k": 1}'},
                                          new_document_update=True, dates_in_utc=True).execute_query().value
    assert not any(v.HasException for v in kept)
    lib.get_item_by_id(1).update_overwrite_version().execute_query()  # a POST with no body: nothing to change
    graph, base = _graph(w)
    fields = graph.get(f"{base}/root:/soc2 & report.pdf:/listItem/fields", timeout=10).json()
    assert (fields["EvidenceSha256"], fields["EvidenceMetadata"], fields["Title"]) == ("ab12", '{"k": 1}', "SOC 2")
    assert lib.get_item_by_id(1).get().execute_query().properties["Modified"] == "2019-03-01T10:00:00Z"
    s = requests.Session()
    s.headers.update({"Authorization": "Bearer " + _token(w, SP_SCOPE), "Accept": "application/json;odata=verbose"})
    r = s.post(f"{w.site_url}/_api/web/lists/GetByTitle('Evidence')/items(1)/ValidateUpdateListItem", timeout=10,
               json={"formValues": [{"FieldName": "Title", "FieldValue": "v"}], "bNewDocumentUpdate": True})
    assert r.status_code == 200
    assert r.json()["d"]["ValidateUpdateListItem"]["results"][0]["FieldValue"] == "v"


def test_site_users_and_ensure_user(rest):
    _w, ctx = rest
    me = ctx.web.current_user.get().execute_query()
    assert ctx.web.site_users.get_by_id(me.id).get().execute_query().login_name == me.login_name
    assert ctx.web.get_user_by_id(me.id).get().execute_query().title == "SharePoint App"
    alice = ctx.web.ensure_user("i:0#.f|membership|alice.smith@contoso.com").execute_query()
    again = ctx.web.ensure_user("alice.smith@contoso.com").execute_query()
    assert alice.id == again.id and alice.login_name == "i:0#.f|membership|alice.smith@contoso.com"
    assert alice.email == "alice.smith@contoso.com"
    assert {u.id for u in ctx.web.site_users.get().execute_query()} == {me.id, alice.id}
    assert ctx.web.site_users.get_by_email("alice.smith@contoso.com").get().execute_query().id == alice.id
    with pytest.raises(ClientRequestException) as err:
        ctx.web.get_user_by_id(4242).get().execute_query()
    assert err.value.response.status_code == 404 and "User cannot be found" in str(err.value)


def test_list_using_path_and_checked_out_by_user(rest):
    """Web.get_list_using_path sends ``GetListUsingPath(@v)?@v={"DecodedUrl": …}`` (an OData parameter
    alias): it was 404. File.checked_out_by_user is the app while the file is checked out."""
    w, ctx = rest
    _library(ctx)
    assert ctx.web.get_list_using_path("/sites/GRC/Evidence").get().execute_query().title == "Evidence"
    f = ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/soc2 & report.pdf")
    f.checkout().execute_query()
    assert f.checked_out_by_user.get().execute_query().title == "SharePoint App"
    f.checkin("reviewed", CheckinType.MajorCheckIn).execute_query()
    s = requests.Session()
    s.headers.update({"Authorization": "Bearer " + _token(w, SP_SCOPE), "Accept": "application/json;odata=nometadata"})
    r = s.get(f"{w.site_url}/_api/web/GetFolderByServerRelativePath(decodedurl=@a1)/Files",
              params={"@a1": "'/sites/GRC/Evidence'"}, timeout=10)
    assert r.status_code == 200 and [f["Name"] for f in r.json()["value"]] == ["soc2 & report.pdf"]


# -- Graph ----------------------------------------------------------------------------------------------
def test_graph_if_none_match_is_not_modified(graph):
    """GET item and GET content with If-None-Match naming the current eTag (or cTag) were answered in full;
    Graph answers 304 Not Modified (and the item again once it changed)."""
    _, s, base = graph
    made = s.put(f"{base}/root:/cache/policy.txt:/content", data=b"v1", timeout=10).json()
    for tag in (made["eTag"], made["cTag"]):
        r = s.get(f"{base}/items/{made['id']}", headers={"If-None-Match": tag}, timeout=10)
        assert (r.status_code, r.content) == (304, b"")
    r = s.get(f"{base}/items/{made['id']}/content", headers={"If-None-Match": made["cTag"]}, timeout=10,
              allow_redirects=False)
    assert r.status_code == 304
    s.put(f"{base}/items/{made['id']}/content", data=b"v2", timeout=10)
    r = s.get(f"{base}/items/{made['id']}", headers={"If-None-Match": made["eTag"]}, timeout=10)
    assert r.status_code == 200 and r.json()["eTag"] != made["eTag"]


def test_graph_drive_web_url_and_me_with_an_app_token(sharepoint, graph):
    """A drive's (and its list's) webUrl was https://<sandbox>/sites/<library>, not the library under its site
    as every item's webUrl; /me with an app-only token was 'Resource not found for the segment', not Graph's
    400 '/me request is only valid with delegated authentication flow.'"""
    from tests.sandbox.sharepoint.test_client_probe_more import _sdk

    async def run(client, drive):
        lib, root = await drive.get(), await drive.root.get()
        return lib, root, await client.sites.by_site_id(sharepoint.site_id).lists.get()

    lib, root, lists = _sdk(sharepoint, run)
    assert lib.web_url == root.web_url == "https://contoso.sharepoint.com/sites/GRC/Evidence"
    assert "https://contoso.sharepoint.com/sites/GRC/Evidence" in {x.web_url for x in lists.value}
    _, s, _ = graph
    for path in ("/me", "/me/drive/root/children"):
        r = s.get(sharepoint.sandbox.graph_url + path, timeout=10)
        assert r.status_code == 400 and r.json()["error"]["code"] == "BadRequest"
        assert r.json()["error"]["message"] == "/me request is only valid with delegated authentication flow."


def test_check_in_makes_a_version_with_its_comment(rest):
    """Checking a file in left it at 1.0 with no versions and no CheckInComment; in a versioned library a
    (major) check-in makes a new version even when the bytes did not change, an overwrite check-in does not,
    and Graph's checkin does the same."""
    from office365.sharepoint.files.checkin_type import CheckinType

    w, ctx = rest
    _library(ctx)
    f = ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/soc2 & report.pdf")
    f.checkout().execute_query()
    f.checkin("reviewed by audit", CheckinType.MajorCheckIn).execute_query()
    f.get().select(["UIVersionLabel", "CheckInComment", "CheckOutType"]).execute_query()
    assert (f.ui_version_label, f.checkin_comment, f.properties["CheckOutType"]) == ("2.0", "reviewed by audit", 2)
    assert [v.version_label for v in f.versions.get().execute_query()] == ["1.0"]
    f.checkout().execute_query()
    f.checkin("typo", CheckinType.OverwriteCheckIn).execute_query()
    assert f.get().execute_query().ui_version_label == "2.0"
    graph, base = _graph(w)
    item = graph.get(f"{base}/root:/soc2 & report.pdf", timeout=10).json()
    assert graph.post(f"{base}/items/{item['id']}/checkout", timeout=10).status_code == 204
    assert graph.post(f"{base}/items/{item['id']}/checkin", json={"comment": "final"}, timeout=10).status_code == 204
    versions = graph.get(f"{base}/items/{item['id']}/versions", timeout=10).json()["value"]
    assert [v["id"] for v in versions] == ["3.0", "2.0", "1.0"]
    assert graph.get(f"{base}/items/{item['id']}/content", timeout=10).content == b"%PDF-1.7"
