"""SharePoint REST v1 (``<site>/_api/…``) on the Graph sandbox, driven by office365-rest-python-client's
``ClientContext`` unchanged, over the same items Graph serves."""

from __future__ import annotations

import io

import pytest
import requests
from office365.runtime.auth.token_response import TokenResponse
from office365.runtime.client_request_exception import ClientRequestException
from office365.sharepoint.client_context import ClientContext

from tests.sandbox.sharepoint.test_client_probe import SCOPE as GRAPH_SCOPE
from tests.sandbox.sharepoint.test_client_probe import _token

SP_SCOPE = "https://contoso.sharepoint.com/.default"


def _graph(w) -> tuple[requests.Session, str]:
    """A Graph session on the app's secret and the base URL of the library's drive."""
    graph = requests.Session()
    graph.headers["Authorization"] = "Bearer " + _token(w, GRAPH_SCOPE)
    return graph, f"{w.sandbox.graph_url}/drives/{w.library_id}"


def _cert_token(w) -> str:
    """The app's certificate credential (as azure-identity gets it) for SharePoint's audience."""
    from azure.identity import CertificateCredential

    cred = CertificateCredential(w.tenant_id, w.client_id, certificate_path=str(w.cert_path),
                                 password=w.cert_password, authority=w.sandbox.url, disable_instance_discovery=True)
    with cred:
        return cred.get_token(SP_SCOPE).token


def _ctx(w, token: str) -> ClientContext:
    return ClientContext(f"{w.sandbox.url}/sites/GRC").with_access_token(
        lambda: TokenResponse(access_token=token, token_type="Bearer"))


@pytest.fixture
def rest(sharepoint):
    return sharepoint, _ctx(sharepoint, _cert_token(sharepoint))


def test_web_lists_and_context_info(rest):
    w, ctx = rest
    web = ctx.web.get().execute_query()
    assert (web.title, web.server_relative_url, web.url) == ("GRC", "/sites/GRC", f"{w.sandbox.url}/sites/GRC")
    assert web.id == w.site_id.split(",")[1]
    assert sorted(lst.title for lst in ctx.web.lists.get().execute_query()) == ["Evidence", "Policies"]
    root = ctx.web.lists.get_by_title("Evidence").root_folder.get().execute_query()
    assert root.server_relative_url == "/sites/GRC/Evidence"
    token = _token(w, SP_SCOPE)
    info = requests.post(f"{w.sandbox.url}/sites/GRC/_api/contextinfo", timeout=10,
                         headers={"Authorization": f"Bearer {token}", "Accept": "application/json;odata=nometadata"})
    assert info.status_code == 200 and info.json()["FormDigestValue"].startswith("0x")


def test_graph_upload_is_visible_through_rest(rest):
    w, ctx = rest
    graph, base = _graph(w)
    assert graph.put(f"{base}/root:/audit/q1.csv:/content", data=b"a,b\n1,2\n", timeout=10).status_code == 201
    folder = ctx.web.get_folder_by_server_relative_url("/sites/GRC/Evidence/audit")
    assert [f.name for f in folder.files.get().execute_query()] == ["q1.csv"]
    assert [f.name for f in ctx.web.get_folder_by_server_relative_url("Evidence").folders.get().execute_query()] \
        == ["audit"]
    buf = io.BytesIO()
    ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/audit/q1.csv").download(buf).execute_query()
    assert buf.getvalue() == b"a,b\n1,2\n"
    f = ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/audit/q1.csv").get().execute_query()
    assert (f.name, f.length, f.read()) == ("q1.csv", 8, b"a,b\n1,2\n")
    fields = f.list_item_all_fields.get().execute_query()
    assert fields.properties["FileRef"] == "/sites/GRC/Evidence/audit/q1.csv"
    items = ctx.web.lists.get_by_title("Documents").items.filter("FSObjType eq 0").select(["FileLeafRef"]) \
        .get().execute_query()
    assert [i.properties["FileLeafRef"] for i in items] == ["q1.csv"]


def test_rest_writes_are_visible_through_graph(rest):
    w, ctx = rest
    graph, base = _graph(w)
    root = ctx.web.get_folder_by_server_relative_url("/sites/GRC/Evidence")
    root.add("reports").execute_query()
    folder = ctx.web.get_folder_by_server_relative_url("/sites/GRC/Evidence/reports")
    up = folder.upload_file("r.txt", b"report one").execute_query()
    assert up.server_relative_url == "/sites/GRC/Evidence/reports/r.txt"
    got = graph.get(f"{base}/root:/reports/r.txt", timeout=10).json()
    assert got["size"] == 10 and got["name"] == "r.txt"
    folder.upload_file("r.txt", b"report two").execute_query()  # overwrite=true: a new version
    assert graph.get(f"{base}/root:/reports/r.txt:/content", timeout=10).content == b"report two"
    ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/reports/r.txt").recycle().execute_query()
    assert graph.get(f"{base}/root:/reports/r.txt", timeout=10).status_code == 404
    folder.upload_file("s.txt", b"x").execute_query()
    ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/reports/s.txt").delete_object().execute_query()
    assert graph.get(f"{base}/root:/reports:/children", timeout=10).json()["value"] == []


def test_missing_file_error_shapes(rest):
    w, ctx = rest
    with pytest.raises(ClientRequestException) as info:
        ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/nope.txt").get().execute_query()
    assert info.value.code == "-2147024894, System.IO.FileNotFoundException"
    token = _token(w, SP_SCOPE)
    url = f"{w.sandbox.url}/sites/GRC/_api/web/GetFileByServerRelativeUrl('/sites/GRC/Evidence/nope.txt')"
    error = {"code": "-2147024894, System.IO.FileNotFoundException",
             "message": {"lang": "en-US", "value": "File Not Found."}}
    verbose = requests.get(url, headers={"Authorization": f"Bearer {token}",
                                         "Accept": "application/json;odata=verbose"}, timeout=10)
    assert (verbose.status_code, verbose.json()) == (404, {"error": error})
    plain = requests.get(url, headers={"Authorization": f"Bearer {token}",
                                       "Accept": "application/json;odata=nometadata"}, timeout=10)
    assert (plain.status_code, plain.json()) == (404, {"odata.error": error})


def test_refused_tokens_and_read_only_library(sharepoint):
    w = sharepoint
    url = f"{w.sandbox.url}/sites/GRC/_api/web"
    missing = requests.get(url, timeout=10)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer realm=")
    graph_token = _token(w, GRAPH_SCOPE)  # a Graph token is not for SharePoint's audience
    wrong = requests.get(url, headers={"Authorization": f"Bearer {graph_token}"}, timeout=10)
    assert wrong.status_code == 401 and "audience" in wrong.json()["error_description"]
    with pytest.raises(ClientRequestException) as info:
        _ctx(w, "not-a-token").web.get().execute_query()
    assert info.value.response.status_code == 401
    w.sandbox.directory.add_secret(w.tenant_id, "other-app", "other~secret")  # granted nothing on the site
    other = requests.post(f"{w.sandbox.url}/{w.tenant_id}/oauth2/v2.0/token", timeout=10,
                          data={"grant_type": "client_credentials", "client_id": "other-app",
                                "client_secret": "other~secret", "scope": SP_SCOPE}).json()["access_token"]
    with pytest.raises(ClientRequestException) as ungranted:
        _ctx(w, other).web.get().execute_query()
    assert ungranted.value.response.status_code == 403
    # ClientContext's own credential helpers ask for {the site URL's origin}/.default: the sandbox's origin
    assert _ctx(w, _token(w, f"{w.sandbox.url}/.default")).web.get().execute_query().title == "GRC"
    ctx = _ctx(w, _token(w, SP_SCOPE))
    policies = ctx.web.get_folder_by_server_relative_url("/sites/GRC/Policies")
    assert policies.files.get().execute_query() is not None  # read is granted
    with pytest.raises(ClientRequestException) as denied:
        policies.upload_file("x.txt", b"x").execute_query()
    assert denied.value.response.status_code == 403
    assert denied.value.code == "-2147024891, System.UnauthorizedAccessException"


def test_chunked_upload_web_folders_and_items(rest):
    """upload_file above chunk_size goes Files/add, then StartUpload/ContinueUpload/FinishUpload by file id."""
    w, ctx = rest
    content = bytes(range(256)) * 3
    folder = ctx.web.get_folder_by_server_relative_url("/sites/GRC/Evidence")
    done = folder.upload_file("big.bin", content, chunk_size=200).execute_query()
    assert done.length == len(content)
    assert ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/big.bin").get().execute_query().read() \
        == content
    token = _token(w, SP_SCOPE)
    s = requests.Session()
    s.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json;odata=nometadata"})
    api = f"{w.sandbox.url}/sites/GRC/_api/web"
    made = s.post(f"{api}/folders", json={"ServerRelativeUrl": "/sites/GRC/Evidence/2026/q1"}, timeout=10)
    assert made.status_code == 201 and made.json()["ServerRelativeUrl"] == "/sites/GRC/Evidence/2026/q1"
    file_id = done.properties["UniqueId"]
    bad = s.post(f"{api}/GetFileById('{file_id}')/ContinueUpload(uploadId=guid'{file_id}',fileOffset=5)",
                 data=b"x", timeout=10)
    assert bad.status_code == 404 and "SPFileSessionNotFoundException" in bad.json()["odata.error"]["code"]
    items = s.get(f"{api}/lists/GetByTitle('Evidence')/items", params={"$top": "2", "$select": "Id,FileLeafRef"},
                  timeout=10).json()["value"]
    assert [i["FileLeafRef"] for i in items] == ["big.bin", "2026"] and set(items[0]) == {"Id", "FileLeafRef"}
    one = s.get(f"{api}/lists/GetByTitle('Evidence')/items/GetById({items[0]['Id']})/File", timeout=10)
    assert one.json()["Name"] == "big.bin" and one.json()["Length"] == str(len(content))
    gone = s.get(f"{api}/lists/GetByTitle('Evidence')/items/GetById(999)", timeout=10)
    assert gone.status_code == 404 and gone.json()["odata.error"]["message"]["lang"] == "en-US"


def test_nested_paths_web_root_and_item_paging(rest):
    """upload_file('a/b/c') walks Folders('a')/Folders/Add('b'); ensure_folder_path starts at web/RootFolder;
    items.get_all follows __next ($skiptoken=Paged=TRUE&p_ID=n)."""
    _, ctx = rest
    docs = ctx.web.get_folder_by_server_relative_url("Shared Documents")  # the site's first library
    up = docs.upload_file("x/y/z.txt", b"zz").execute_query()
    assert up.server_relative_url == "/sites/GRC/Evidence/x/y/z.txt"
    assert docs.files.get_by_url("x/y/z.txt").get().execute_query().length == 2
    made = ctx.web.ensure_folder_path("Evidence/p/q").execute_query()
    assert made.server_relative_url == "/sites/GRC/Evidence/p/q"
    assert ctx.web.default_document_library().root_folder.get().execute_query().server_relative_url \
        == "/sites/GRC/Evidence"
    assert [f.name for f in docs.get_files(True).execute_query()] == ["z.txt"]
    for n in range(3):
        docs.upload_file(f"f{n}.txt", b"n").execute_query()
    items = ctx.web.lists.get_by_title("Evidence").items.get_all(page_size=2).execute_query()
    names = sorted(i.properties["FileLeafRef"] for i in items)
    assert names == sorted(["x", "y", "z.txt", "p", "q", "f0.txt", "f1.txt", "f2.txt"])
    ids = [i.properties["Id"] for i in items]
    assert ids == sorted(ids) and len(set(ids)) == 8


def test_list_item_fields_both_ways(rest):
    """ListItemAllFields set_property().update() (POST, X-HTTP-Method: MERGE) sets the library's custom columns,
    seen by Graph's listItem fields; a column Graph set is seen through REST; an unknown column is 400."""
    w, ctx = rest
    graph, base = _graph(w)
    folder = ctx.web.get_folder_by_server_relative_url("/sites/GRC/Evidence")
    f = folder.upload_file("e.pdf", b"%PDF").execute_query()
    f.listItemAllFields.set_property("EvidenceSha256", "abc123").update().execute_query()
    fields = graph.get(f"{base}/root:/e.pdf:/listItem/fields", timeout=10).json()
    assert fields["EvidenceSha256"] == "abc123"
    patched = graph.patch(f"{base}/root:/e.pdf:/listItem/fields", json={"EvidenceMetadata": "{\"k\":1}"}, timeout=10)
    assert patched.status_code == 200
    item = ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/e.pdf").listItemAllFields.get() \
        .execute_query()
    assert (item.properties["EvidenceSha256"], item.properties["EvidenceMetadata"]) == ("abc123", "{\"k\":1}")
    with pytest.raises(ClientRequestException) as info:
        ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/e.pdf").listItemAllFields \
            .set_property("Nope", "x").update().execute_query()
    assert info.value.response.status_code == 400 and "'Nope' does not exist" in str(info.value)
    picked = ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/e.pdf").get().select(["Name", "Length"]) \
        .execute_query()
    assert picked.properties == {"Name": "e.pdf", "Length": 4}


def test_injected_faults_answer_in_sharepoint_shape(sharepoint):
    """fail_next on a REST path answered Graph's error body; now SharePoint's, keeping Retry-After."""
    w = sharepoint
    s = requests.Session()
    s.headers.update({"Authorization": "Bearer " + _token(w, SP_SCOPE),
                      "Accept": "application/json;odata=verbose"})
    url = f"{w.sandbox.url}/sites/GRC/_api/web"
    w.sandbox.fail_next(429, 1, "GET", r"/_api/web$", retry_after=7)
    throttled = s.get(url, timeout=10)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
    assert set(throttled.json()["error"]) == {"code", "message"} and throttled.json()["error"]["message"]["lang"]
    w.sandbox.fail_next(401, 1, "GET", r"/_api/web$")
    expired = s.get(url, timeout=10)
    assert expired.status_code == 401 and "error_description" in expired.json()
    assert expired.headers["WWW-Authenticate"].startswith("Bearer realm=")
    assert s.get(url, timeout=10).json()["d"]["Title"] == "GRC"
    bad = s.post(f"{url}/folders", data=b"{not json", timeout=10)
    assert bad.status_code == 400 and bad.json()["error"]["code"].startswith("-1, ")


def test_names_with_percent_hash_and_quote(rest):
    """Names with %, # and ' round-trip (the path was percent-decoded twice: '100%25' became '100%');
    the site's own folder answers GetFolderByServerRelativeUrl('/sites/GRC')."""
    w, ctx = rest
    folder = ctx.web.get_folder_by_server_relative_url("Evidence")
    assert folder.upload_file("100%25 done #1.txt", b"p").execute_query().name == "100%25 done #1.txt"
    folder.upload_file("it's.txt", b"q").execute_query()
    assert ctx.web.get_file_by_server_relative_path("/sites/GRC/Evidence/100%25 done #1.txt").get() \
        .execute_query().length == 1
    assert ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/it's.txt").get().execute_query().length == 1
    names = {i.name for i in w.sandbox.store.items.values() if i.drive_id == w.library_id}
    assert {"100%25 done #1.txt", "it's.txt"} <= names
    roots = ctx.web.get_folder_by_server_relative_url("/sites/GRC").folders.get().execute_query()
    assert sorted(f.name for f in roots) == ["Evidence", "Policies"]


def test_checkout_move_and_copy(rest):
    """CheckOut/CheckIn, MoveTo within the library (the same drive item for Graph), CopyTo; a copy into the
    library the app may only read is 403."""
    from office365.sharepoint.files.checkin_type import CheckinType

    w, ctx = rest
    graph, base = _graph(w)
    folder = ctx.web.get_folder_by_server_relative_url("/sites/GRC/Evidence")
    f = folder.upload_file("m.txt", b"move me").execute_query()
    before = graph.get(f"{base}/root:/m.txt", timeout=10).json()["id"]
    f.checkout().execute_query()
    assert [i.checked_out for i in w.sandbox.store.items.values() if i.id == before] == [True]
    f.checkin("done", CheckinType.MajorCheckIn).execute_query()
    with pytest.raises(ClientRequestException) as info:
        again = ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/m.txt")
        again.checkin("again", CheckinType.MajorCheckIn).execute_query()
    assert "SPFileCheckOutException" in info.value.code
    folder.add("moved").execute_query()
    ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/m.txt").moveto("Evidence/moved", 1).execute_query()
    assert graph.get(f"{base}/root:/moved/m.txt", timeout=10).json()["id"] == before
    assert graph.get(f"{base}/root:/m.txt", timeout=10).status_code == 404
    src = ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/moved/m.txt")
    src.copyto("Evidence", True, "copy.txt").execute_query()
    assert graph.get(f"{base}/root:/copy.txt:/content", timeout=10).content == b"move me"
    with pytest.raises(ClientRequestException) as denied:
        ctx.web.get_file_by_server_relative_url("/sites/GRC/Evidence/moved/m.txt").copyto("Policies", True) \
            .execute_query()
    assert denied.value.response.status_code == 403
