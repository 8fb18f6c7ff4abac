"""More of what an evidence integration does through the official clients, unchanged: resumable and
cancelled upload sessions, conflictBehavior, delta with deletions, versions, sharing (createLink,
invite, permissions), copy with its monitor URL, thumbnails, lists and list items, sites by path and
search, and throttling (429/503 with Retry-After) through both clients' retry handlers."""

from __future__ import annotations

import asyncio
import time

import pytest
import requests

from tests.sandbox.sharepoint.test_client_probe import _client, _token, graph

__all__ = ["graph"]


def _o365(w, monkeypatch):
    import office365.graph_request
    from office365.graph_client import GraphClient

    w.sandbox.directory.add_secret(w.tenant_id, w.client_id, "probe~secret")
    token = _token(w)
    monkeypatch.setattr(office365.graph_request, "get_graph_authority", lambda env: w.sandbox.url)
    return GraphClient(token_callback=lambda: {"access_token": token, "token_type": "Bearer"})


def _sdk(w, run):
    w.sandbox.directory.add_secret(w.tenant_id, w.client_id, "probe~secret")

    async def go():
        client, _, credential = _client(w, "probe~secret")
        with credential:
            return await run(client, client.drives.by_drive_id(w.library_id))

    return asyncio.run(go())


# -- upload sessions ----------------------------------------------------------------------------------
def test_upload_session_resume_cancel_and_conflicts(graph):
    _, s, base = graph
    session = s.post(f"{base}/root:/Big/resume.bin:/createUploadSession",
                     json={"item": {"@microsoft.graph.conflictBehavior": "replace"}})
    assert session.status_code == 200, session.text
    url = session.json()["uploadUrl"]
    assert session.json()["expirationDateTime"].endswith("Z")
    ok = requests.put(url, data=b"a" * 100, headers={"Content-Range": "bytes 0-99/300"}, timeout=10)
    assert ok.status_code == 202 and ok.json()["nextExpectedRanges"] == ["100-299"]
    again = requests.put(url, data=b"a" * 100, headers={"Content-Range": "bytes 0-99/300"}, timeout=10)
    assert again.status_code == 416  # a fragment the server already has
    skipped = requests.put(url, data=b"c" * 100, headers={"Content-Range": "bytes 200-299/300"}, timeout=10)
    assert skipped.status_code == 416 and skipped.json()["error"]["code"] == "invalidRange"
    status = requests.get(url, timeout=10)
    assert status.status_code == 200 and status.json()["nextExpectedRanges"] == ["100-299"]
    assert requests.put(url, data=b"b" * 100, headers={"Content-Range": "bytes 100-199/300"},
                        timeout=10).status_code == 202
    done = requests.put(url, data=b"c" * 100, headers={"Content-Range": "bytes 200-299/300"}, timeout=10)
    assert done.status_code == 201 and done.json()["size"] == 300 and done.json()["name"] == "resume.bin"
    assert s.get(f"{base}/root:/Big/resume.bin:/content").content == b"a" * 100 + b"b" * 100 + b"c" * 100

    # cancel: DELETE the session, then it is gone
    url = s.post(f"{base}/root:/Big/cancel.bin:/createUploadSession", json={}).json()["uploadUrl"]
    requests.put(url, data=b"x" * 10, headers={"Content-Range": "bytes 0-9/20"}, timeout=10)
    assert requests.delete(url, timeout=10).status_code == 204
    gone = requests.put(url, data=b"x" * 10, headers={"Content-Range": "bytes 10-19/20"}, timeout=10)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "itemNotFound"
    assert s.get(f"{base}/root:/Big/cancel.bin:").status_code == 404

    # conflictBehavior on sessions: fail refuses an existing name, rename commits under a free one
    fail = s.post(f"{base}/root:/Big/resume.bin:/createUploadSession",
                  json={"item": {"@microsoft.graph.conflictBehavior": "fail"}})
    assert fail.status_code == 409 and fail.json()["error"]["code"] == "nameAlreadyExists"
    url = s.post(f"{base}/root:/Big/resume.bin:/createUploadSession",
                 json={"item": {"@microsoft.graph.conflictBehavior": "rename", "name": "resume.bin"}}).json()[
        "uploadUrl"]
    renamed = requests.put(url, data=b"new", headers={"Content-Range": "bytes 0-2/3"}, timeout=10)
    assert renamed.status_code == 201 and renamed.json()["name"] == "resume 1.bin"
    # a session made with fail on a new name, then someone else takes the name before the last fragment
    url = s.post(f"{base}/root:/Big/race.bin:/createUploadSession",
                 json={"item": {"@microsoft.graph.conflictBehavior": "fail"}}).json()["uploadUrl"]
    s.put(f"{base}/root:/Big/race.bin:/content", data=b"first")
    late = requests.put(url, data=b"late", headers={"Content-Range": "bytes 0-3/4"}, timeout=10)
    assert late.status_code == 409 and late.json()["error"]["code"] == "nameAlreadyExists"


def test_upload_session_expiry(graph):
    w, s, base = graph
    url = s.post(f"{base}/root:/expiring.bin:/createUploadSession", json={}).json()["uploadUrl"]
    for sess in w.sandbox.store.uploads.values():
        sess["expires"] = "2000-01-01T00:00:00.000Z"
    expired = requests.put(url, data=b"x", headers={"Content-Range": "bytes 0-0/1"}, timeout=10)
    assert expired.status_code == 404 and expired.json()["error"]["code"] == "itemNotFound"


def test_office365_upload_helpers(sharepoint, monkeypatch, tmp_path):
    w = sharepoint
    client = _o365(w, monkeypatch)
    root = client.drives[w.library_id].root
    big = tmp_path / "evidence.bin"
    big.write_bytes(bytes(range(256)) * 4000)  # 1,024,000 bytes
    seen: list[int] = []
    uploaded = root.resumable_upload(str(big), chunk_size=300 * 1024, chunk_uploaded=seen.append).execute_query()
    assert seen[-1] == big.stat().st_size  # (the helper leaves the item unloaded: load it by its path)
    assert uploaded.get().execute_query().name == "evidence.bin" and uploaded.size == big.stat().st_size
    assert root.get_by_path("evidence.bin").get_content().execute_query().value == big.read_bytes()
    small = root.upload("note.txt", b"hello").execute_query()
    assert small.id and small.name == "note.txt"
    text = tmp_path / "memo.txt"
    text.write_bytes(b"memo body")
    folder = root.create_folder("Uploads").execute_query()
    assert folder.folder is not None
    sent = folder.upload_file(str(text)).execute_query()
    assert sent.name == "memo.txt"
    assert root.get_by_path("Uploads/memo.txt").get_content().execute_query().value == b"memo body"


# -- conflictBehavior -----------------------------------------------------------------------------------
def test_conflict_behavior_on_create_upload_and_move(graph):
    w, s, base = graph
    assert s.put(f"{base}/root:/cb/a.txt:/content", data=b"one").status_code == 201
    fail = s.put(f"{base}/root:/cb/a.txt:/content", params={"@microsoft.graph.conflictBehavior": "fail"},
                 data=b"two")
    assert fail.status_code == 409 and fail.json()["error"]["code"] == "nameAlreadyExists"
    renamed = s.put(f"{base}/root:/cb/a.txt:/content", params={"@microsoft.graph.conflictBehavior": "rename"},
                    data=b"three")
    assert renamed.status_code == 201 and renamed.json()["name"] == "a 1.txt"
    replaced = s.put(f"{base}/root:/cb/a.txt:/content", params={"@microsoft.graph.conflictBehavior": "replace"},
                     data=b"four")
    assert replaced.status_code == 200 and s.get(f"{base}/root:/cb/a.txt:/content").content == b"four"
    bad = s.put(f"{base}/root:/cb/a.txt:/content", params={"@microsoft.graph.conflictBehavior": "merge"},
                data=b"x")
    assert bad.status_code == 400

    kids = f"{base}/root:/cb:/children"
    first = s.post(kids, json={"name": "Folder", "folder": {}})
    assert first.status_code == 201
    clash = s.post(kids, json={"name": "Folder", "folder": {}})  # default for folders: fail
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "nameAlreadyExists"
    again = s.post(kids, json={"name": "Folder", "folder": {}, "@microsoft.graph.conflictBehavior": "rename"})
    assert again.status_code == 201 and again.json()["name"] == "Folder 1"
    s.put(f"{base}/root:/cb/Folder/inside.txt:/content", data=b"i")
    fresh = s.post(kids, json={"name": "Folder", "folder": {}, "@microsoft.graph.conflictBehavior": "replace"})
    assert fresh.status_code == 201 and fresh.json()["id"] != first.json()["id"]
    assert fresh.json()["folder"]["childCount"] == 0
    assert s.post(kids, params={"@microsoft.graph.conflictBehavior": "rename"},
                  json={"name": "Folder", "folder": {}}).json()["name"] == "Folder 2"

    other = s.put(f"{base}/root:/cb/Folder/a.txt:/content", data=b"other").json()
    move = s.patch(f"{base}/items/{other['id']}", json={"parentReference": {"path": "/drive/root:/cb"}})
    assert move.status_code == 409
    moved = s.patch(f"{base}/items/{other['id']}", params={"@microsoft.graph.conflictBehavior": "rename"},
                    json={"parentReference": {"path": f"/drives/{w.library_id}/root:/cb"}})
    assert moved.status_code == 200 and moved.json()["name"] == "a 2.txt"


# -- delta -----------------------------------------------------------------------------------------------
def test_delta_reports_changes_and_deletions_through_both_clients(sharepoint, monkeypatch):
    w = sharepoint
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + _token(w)
    base = f"{w.sandbox.graph_url}/drives/{w.library_id}"
    keep = s.put(f"{base}/root:/D/keep.txt:/content", data=b"k").json()
    drop = s.put(f"{base}/root:/D/drop.txt:/content", data=b"d").json()
    first = s.get(f"{base}/root/delta").json()
    assert {"keep.txt", "drop.txt", "D"} <= {v["name"] for v in first["value"]}
    link = first["@odata.deltaLink"]
    assert "token=" in link
    s.delete(f"{base}/items/{drop['id']}")
    s.put(f"{base}/root:/D/keep.txt:/content", data=b"k2")
    changes = s.get(link).json()
    by_id = {v["id"]: v for v in changes["value"]}
    assert by_id[drop["id"]]["deleted"] == {"state": "deleted"} and "deleted" not in by_id[keep["id"]]
    token = link.split("token=")[1]

    async def run(client, drive):
        root = await drive.root.get()
        items = drive.items.by_drive_item_id(root.id)
        full = await items.delta.get()
        since = await items.delta_with_token(token).get()
        return full, since

    full, since = _sdk(w, run)
    assert full.odata_delta_link and {"keep.txt", "D"} <= {i.name for i in full.value}
    assert drop["id"] in {i.id for i in since.value}
    assert next(i for i in since.value if i.id == drop["id"]).deleted.state == "deleted"

    client = _o365(w, monkeypatch)
    changed = client.drives[w.library_id].root.delta.get().execute_query()
    assert {"keep.txt", "D"} <= {i.name for i in changed}
    stale = s.get(f"{base}/root/delta", params={"token": "garbage"})
    assert stale.status_code == 410 and stale.json()["error"]["code"] == "resyncRequired"


# -- versions --------------------------------------------------------------------------------------------
def test_versions_list_download_and_restore(graph):
    _, s, base = graph
    item = s.put(f"{base}/root:/v.txt:/content", data=b"v1").json()
    s.put(f"{base}/root:/v.txt:/content", data=b"v2")
    s.put(f"{base}/root:/v.txt:/content", data=b"v3!")
    versions = s.get(f"{base}/items/{item['id']}/versions")
    assert versions.status_code == 200, versions.text
    listed = versions.json()["value"]
    assert [v["id"] for v in listed] == ["3.0", "2.0", "1.0"] and [v["size"] for v in listed] == [3, 2, 2]
    assert all("lastModifiedDateTime" in v and "lastModifiedBy" in v for v in listed)
    one = s.get(f"{base}/items/{item['id']}/versions/1.0")
    assert one.status_code == 200 and one.json()["id"] == "1.0"
    assert s.get(f"{base}/items/{item['id']}/versions/1.0/content").content == b"v1"
    missing = s.get(f"{base}/items/{item['id']}/versions/9.0")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "itemNotFound"
    restored = s.post(f"{base}/items/{item['id']}/versions/1.0/restoreVersion")
    assert restored.status_code == 204
    assert s.get(f"{base}/items/{item['id']}/content").content == b"v1"
    assert [v["id"] for v in s.get(f"{base}/items/{item['id']}/versions").json()["value"]][:1] == ["4.0"]


def test_versions_through_msgraph_and_office365(sharepoint, monkeypatch):
    w = sharepoint
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + _token(w)
    base = f"{w.sandbox.graph_url}/drives/{w.library_id}"
    item = s.put(f"{base}/root:/ver.txt:/content", data=b"old").json()
    s.put(f"{base}/root:/ver.txt:/content", data=b"newer")

    async def run(client, drive):
        versions = drive.items.by_drive_item_id(item["id"]).versions
        listed = await versions.get()
        old = await versions.by_drive_item_version_id("1.0").content.get()
        await versions.by_drive_item_version_id("1.0").restore_version.post()
        return listed, old

    listed, old = _sdk(w, run)
    assert [v.id for v in listed.value] == ["2.0", "1.0"] and old == b"old"
    assert s.get(f"{base}/items/{item['id']}/content").content == b"old"
    client = _o365(w, monkeypatch)
    versions = client.drives[w.library_id].items[item["id"]].versions.get().execute_query()
    assert [v.id for v in versions] == ["3.0", "2.0", "1.0"]


# -- sharing -------------------------------------------------------------------------------------------
def test_sharing_links_invites_and_permissions(graph):
    _, s, base = graph
    item = s.put(f"{base}/root:/share.txt:/content", data=b"s").json()
    url = f"{base}/items/{item['id']}"
    link = s.post(f"{url}/createLink", json={"type": "view", "scope": "organization"})
    assert link.status_code == 201, link.text
    perm = link.json()
    assert perm["roles"] == ["read"] and perm["link"]["type"] == "view" and perm["link"]["scope"] == "organization"
    assert perm["link"]["webUrl"].startswith("https://") and perm["id"]
    same = s.post(f"{url}/createLink", json={"type": "view", "scope": "organization"})
    assert same.status_code == 200 and same.json()["id"] == perm["id"]  # an existing link is returned
    edit = s.post(f"{url}/createLink", json={"type": "edit", "scope": "anonymous"}).json()
    assert edit["roles"] == ["write"]
    assert s.post(f"{url}/createLink", json={"type": "nope"}).status_code == 400
    invited = s.post(f"{url}/invite", json={"recipients": [{"email": "auditor@contoso.com"}], "roles": ["read"],
                                           "requireSignIn": True, "sendInvitation": False})
    assert invited.status_code == 200, invited.text
    grant = invited.json()["value"][0]
    assert grant["roles"] == ["read"] and grant["grantedToV2"]["user"]["email"] == "auditor@contoso.com"
    assert s.post(f"{url}/invite", json={"roles": ["read"]}).status_code == 400
    listed = s.get(f"{url}/permissions").json()["value"]
    assert {perm["id"], edit["id"], grant["id"]} <= {p["id"] for p in listed}
    assert s.get(f"{url}/permissions/{grant['id']}").json()["roles"] == ["read"]
    patched = s.patch(f"{url}/permissions/{grant['id']}", json={"roles": ["write"]})
    assert patched.status_code == 200 and patched.json()["roles"] == ["write"]
    assert s.delete(f"{url}/permissions/{perm['id']}").status_code == 204
    assert s.get(f"{url}/permissions/{perm['id']}").status_code == 404
    assert perm["id"] not in {p["id"] for p in s.get(f"{url}/permissions").json()["value"]}
    assert s.get(f"{url}", params={"$expand": "permissions"}).json()["permissions"]


def test_sharing_through_msgraph_and_office365(sharepoint, monkeypatch):
    from msgraph.generated.drives.item.items.item.create_link.create_link_post_request_body import (
        CreateLinkPostRequestBody,
    )
    from msgraph.generated.drives.item.items.item.invite.invite_post_request_body import InvitePostRequestBody
    from msgraph.generated.models.drive_recipient import DriveRecipient

    w = sharepoint
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + _token(w)
    item = s.put(f"{w.sandbox.graph_url}/drives/{w.library_id}/root:/sdk.txt:/content", data=b"s").json()

    async def run(client, drive):
        target = drive.items.by_drive_item_id(item["id"])
        link = await target.create_link.post(CreateLinkPostRequestBody(type="view", scope="organization"))
        invited = await target.invite.post(InvitePostRequestBody(
            recipients=[DriveRecipient(email="a@contoso.com")], roles=["read"], require_sign_in=True,
            send_invitation=False))
        listed = await target.permissions.get()
        await target.permissions.by_permission_id(link.id).delete()
        after = await target.permissions.get()
        return link, invited, listed, after

    link, invited, listed, after = _sdk(w, run)
    assert link.link.web_url and link.roles == ["read"]
    assert invited.value[0].invitation.email == "a@contoso.com" and invited.value[0].roles == ["read"]
    assert link.id in {p.id for p in listed.value} and link.id not in {p.id for p in after.value}

    client = _o365(w, monkeypatch)
    target = client.drives[w.library_id].items[item["id"]]
    made = target.create_link("edit", "organization").execute_query()
    assert made.link.webUrl and list(made.roles) == ["write"]
    perms = target.permissions.get().execute_query()
    assert made.id in {p.id for p in perms}


# -- copy --------------------------------------------------------------------------------------------------
def test_copy_accepted_with_monitor(graph):
    w, s, base = graph
    src = s.put(f"{base}/root:/C/src.txt:/content", data=b"copy me").json()
    dest = s.post(f"{base}/root/children", json={"name": "Dest", "folder": {}}).json()
    r = s.post(f"{base}/items/{src['id']}/copy", json={"parentReference": {"driveId": w.library_id,
                                                                          "id": dest["id"]},
                                                      "name": "copied.txt"})
    assert r.status_code == 202 and r.content in (b"", b"{}") and r.headers["Location"], r.text
    monitor = requests.get(r.headers["Location"], timeout=10)  # no token: the monitor URL is pre-authorised
    assert monitor.status_code in (200, 202)
    for _ in range(10):
        if monitor.json()["status"] == "completed":
            break
        monitor = requests.get(r.headers["Location"], timeout=10)
    body = monitor.json()
    assert body["status"] == "completed" and body["resourceId"]
    copied = s.get(f"{base}/items/{body['resourceId']}").json()
    assert copied["name"] == "copied.txt" and copied["parentReference"]["id"] == dest["id"]
    assert s.get(f"{base}/items/{body['resourceId']}/content").content == b"copy me"
    # same folder, same name: the default (fail) refuses; rename picks a free name
    clash = s.post(f"{base}/items/{src['id']}/copy", json={})
    assert clash.status_code == 409 or requests.get(clash.headers["Location"], timeout=10).json()["status"] == "failed"
    renamed = s.post(f"{base}/items/{src['id']}/copy", params={"@microsoft.graph.conflictBehavior": "rename"},
                     json={})
    assert renamed.status_code == 202
    done = requests.get(renamed.headers["Location"], timeout=10).json()
    assert s.get(f"{base}/items/{done['resourceId']}").json()["name"] == "src 1.txt"
    folder = s.post(f"{base}/items/{dest['id']}/copy", json={"name": "Dest2"})
    kid = requests.get(folder.headers["Location"], timeout=10).json()["resourceId"]
    assert [c["name"] for c in s.get(f"{base}/items/{kid}/children").json()["value"]] == ["copied.txt"]
    assert s.post(f"{base}/items/{src['id']}/copy",
                  json={"parentReference": {"id": "01NOPE"}}).status_code in (400, 404)


def test_copy_through_office365_and_msgraph(sharepoint, monkeypatch):
    from msgraph.generated.drives.item.items.item.copy.copy_post_request_body import CopyPostRequestBody
    from msgraph.generated.models.item_reference import ItemReference

    w = sharepoint
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + _token(w)
    base = f"{w.sandbox.graph_url}/drives/{w.library_id}"
    src = s.put(f"{base}/root:/cp/src.txt:/content", data=b"x").json()
    dest = s.post(f"{base}/root/children", json={"name": "Out", "folder": {}}).json()
    client = _o365(w, monkeypatch)
    items = client.drives[w.library_id].items
    result = items[src["id"]].copy(name="o365.txt", parent=items[dest["id"]]).execute_query()
    copied = result.wait_for_item(interval=0.1, timeout=10)
    assert copied.name == "o365.txt"
    w.sandbox.copy_pending_polls = 2  # the monitor says inProgress (202) twice before completed
    slow = items[src["id"]].copy(name="slow.txt", parent=items[dest["id"]]).execute_query()
    assert slow.wait_for_item(interval=0.05, timeout=10).name == "slow.txt"
    monitor_polls = [r["status"] for r in w.sandbox.request_log if "/monitor/" in r["path"]]
    assert monitor_polls[-3:] == [202, 202, 200]
    import io

    sink = io.BytesIO()
    client.drives[w.library_id].root.get_by_path("Out/slow.txt").download_session(sink, chunk_size=1).execute_query()
    assert sink.getvalue() == b"x"

    async def run(client, drive):
        return await drive.items.by_drive_item_id(src["id"]).copy.post(CopyPostRequestBody(
            name="sdk.txt", parent_reference=ItemReference(drive_id=w.library_id, id=dest["id"])))

    _sdk(w, run)  # 202 without a body: the SDK answers None
    assert s.get(f"{base}/root:/Out/sdk.txt:").status_code == 200


# -- thumbnails ------------------------------------------------------------------------------------------
def test_thumbnails(graph):
    _, s, base = graph
    item = s.put(f"{base}/root:/pic.png:/content", data=b"\x89PNG\r\n\x1a\nfake").json()
    r = s.get(f"{base}/items/{item['id']}/thumbnails")
    assert r.status_code == 200, r.text
    sets = r.json()["value"]
    assert sets and sets[0]["id"] == "0" and {"small", "medium", "large"} <= set(sets[0])
    assert {"height", "width", "url"} <= set(sets[0]["medium"])
    assert requests.get(sets[0]["medium"]["url"], timeout=10).status_code == 200
    one = s.get(f"{base}/items/{item['id']}/thumbnails/0/medium")
    assert one.status_code == 200 and one.json()["url"]
    assert s.get(f"{base}/items/{item['id']}", params={"$expand": "thumbnails"}).json()["thumbnails"]


# -- lists, list items, sites --------------------------------------------------------------------------
def test_lists_and_list_items(graph):
    w, s, base = graph
    s.put(f"{base}/root:/L/one.txt:/content", data=b"1")
    two = s.put(f"{base}/root:/L/two.txt:/content", data=b"22").json()
    s.patch(f"{base}/items/{two['id']}/listItem/fields", json={"EvidenceSha256": "abc"})
    site = f"{w.sandbox.graph_url}/sites/{w.site_id}"
    lists = s.get(f"{site}/lists")
    assert lists.status_code == 200, lists.text
    evidence = next(v for v in lists.json()["value"] if v["displayName"] == "Evidence")
    assert evidence["list"]["template"] == "documentLibrary"
    assert s.get(f"{site}/lists/{evidence['id']}").json()["id"] == evidence["id"]
    assert s.get(f"{site}/lists/Evidence").json()["id"] == evidence["id"]
    assert s.get(f"{site}/lists/{evidence['id']}/drive").json()["id"] == w.library_id
    items = s.get(f"{site}/lists/{evidence['id']}/items", params={"$expand": "fields", "$top": 2})
    assert items.status_code == 200, items.text
    page = items.json()
    assert len(page["value"]) == 2 and page["@odata.nextLink"]
    rows = page["value"] + s.get(page["@odata.nextLink"]).json()["value"]
    names = {r["fields"]["FileLeafRef"]: r for r in rows}
    assert {"one.txt", "two.txt", "L"} <= set(names)
    assert names["two.txt"]["fields"]["EvidenceSha256"] == "abc"
    row = names["two.txt"]
    one = s.get(f"{site}/lists/{evidence['id']}/items/{row['id']}", params={"$expand": "fields"}).json()
    assert one["fields"]["FileLeafRef"] == "two.txt"
    assert s.get(f"{site}/lists/{evidence['id']}/items/{row['id']}/driveItem").json()["id"] == two["id"]
    bare = s.get(f"{site}/lists/{evidence['id']}/items").json()["value"][0]
    assert "fields" not in bare and bare["id"]
    patched = s.patch(f"{site}/lists/{evidence['id']}/items/{row['id']}/fields", json={"EvidenceMetadata": "m"})
    assert patched.status_code == 200 and patched.json()["EvidenceMetadata"] == "m"
    missing = s.get(f"{site}/lists/NoSuchList")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "itemNotFound"


def test_lists_through_msgraph_and_office365(sharepoint, monkeypatch):
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.sites.item.lists.item.items.items_request_builder import ItemsRequestBuilder

    w = sharepoint
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + _token(w)
    s.put(f"{w.sandbox.graph_url}/drives/{w.library_id}/root:/row.txt:/content", data=b"r")

    async def run(client, drive):
        site = client.sites.by_site_id(w.site_id)
        lists = await site.lists.get()
        lib = next(x for x in lists.value if x.display_name == "Evidence")
        rows = await site.lists.by_list_id(lib.id).items.get(RequestConfiguration(
            query_parameters=ItemsRequestBuilder.ItemsRequestBuilderGetQueryParameters(expand=["fields"])))
        by_path = await client.sites.by_site_id("contoso.sharepoint.com:/sites/GRC:").get()
        host = client.sites.by_site_id("contoso.sharepoint.com")
        via_get_by_path = await host.get_by_path_with_path("/sites/GRC").get()
        root = await host.get()
        return rows, by_path, via_get_by_path, root

    rows, by_path, via_get_by_path, root = _sdk(w, run)
    assert via_get_by_path.id == w.site_id and root.site_collection.hostname == "contoso.sharepoint.com"
    assert "row.txt" in {r.fields.additional_data.get("FileLeafRef") for r in rows.value}
    assert by_path.id == w.site_id

    client = _o365(w, monkeypatch)
    site = client.sites.get_by_url("https://contoso.sharepoint.com/sites/GRC").get().execute_query()
    assert site.id == w.site_id
    found = client.sites.get_by_url("https://contoso.sharepoint.com/sites/GRC").drive.root.get_by_path(
        "row.txt").get().execute_query()
    assert found.name == "row.txt"
    rows = client.sites.get_by_url("https://contoso.sharepoint.com/sites/GRC").lists["Evidence"].items.expand(
        ["fields"]).get().execute_query()
    assert "row.txt" in {r.fields.properties.get("FileLeafRef") for r in rows}


def test_sites_search_root_and_drive_paths(graph):
    w, s, _ = graph
    root = w.sandbox.graph_url
    found = s.get(f"{root}/sites", params={"search": "GRC"})
    assert found.status_code == 200, found.text
    assert w.site_id in {v["id"] for v in found.json()["value"]}
    assert s.get(f"{root}/sites", params={"search": "nothing-like-it"}).json()["value"] == []
    assert s.get(f"{root}/sites/root").status_code == 200
    host = s.get(f"{root}/sites/contoso.sharepoint.com").json()
    assert host["siteCollection"]["hostname"] == "contoso.sharepoint.com"
    assert s.get(f"{root}/sites/contoso.sharepoint.com/getByPath(path='/sites/GRC')").json()["id"] == w.site_id
    assert w.site_id in {v["id"] for v in s.get(f"{root}/sites/getAllSites()").json()["value"]}
    s.put(f"{root}/drives/{w.library_id}/root:/via-site.txt:/content", data=b"v")
    for prefix in (f"sites/{w.site_id}/drive", "sites/contoso.sharepoint.com:/sites/GRC:/drive",
                   f"sites/{w.site_id}/drives/{w.library_id}"):
        r = s.get(f"{root}/{prefix}/root:/via-site.txt:")
        assert r.status_code == 200 and r.json()["name"] == "via-site.txt", (prefix, r.text)
        assert s.get(f"{root}/{prefix}/root/children").status_code == 200
    assert s.get(f"{root}/sites/{w.site_id}/drives/{w.library_id}").json()["id"] == w.library_id


# -- errors and throttling ---------------------------------------------------------------------------------
def test_error_body_shape(graph):
    _, s, base = graph
    r = s.get(f"{base}/items/01NOSUCHITEM", headers={"client-request-id": "abc-123"})
    assert r.status_code == 404
    error = r.json()["error"]
    assert error["code"] == "itemNotFound" and error["message"]
    inner = error["innerError"]
    assert set(inner) >= {"date", "request-id", "client-request-id"}
    assert inner["client-request-id"] == "abc-123" and r.headers["request-id"] == inner["request-id"]
    assert r.headers["client-request-id"] == "abc-123"


def test_retry_after_honoured_by_both_clients(sharepoint, monkeypatch):
    from office365.runtime.retry import retry_after_delay

    w = sharepoint
    w.sandbox.fail_next(429, 2, method="GET", path=r"/drives/[^/]+$", retry_after=1)

    async def run(client, drive):
        return await drive.get()

    started = time.monotonic()
    assert _sdk(w, run).id == w.library_id
    assert time.monotonic() - started >= 2
    w.sandbox.fail_next(503, 1, method="GET", path=r"/drives/[^/]+$", retry_after=1)
    assert _sdk(w, run).id == w.library_id

    client = _o365(w, monkeypatch)
    w.sandbox.fail_next(429, 1, method="GET", path=r"/root$", retry_after=1)
    root = client.drives[w.library_id].root.get()
    started = time.monotonic()  # office365 waits Retry-After when told to read it (retry_after_delay)
    client.execute_query_retry(max_retry=3, timeout_secs=0, failure_callback=lambda _, ex: retry_after_delay(ex))
    assert root.id and time.monotonic() - started >= 1
    throttled = [r for r in w.sandbox.request_log if r["status"] in (429, 503)]
    assert len(throttled) == 4


def test_retry_after_on_upload_fragment(graph):
    w, s, base = graph
    url = s.post(f"{base}/root:/throttle.bin:/createUploadSession", json={}).json()["uploadUrl"]
    w.sandbox.fail_next(503, 1, method="PUT", path=r"/uploadSession/")
    r = requests.put(url, data=b"abc", headers={"Content-Range": "bytes 0-2/3"}, timeout=10)
    assert r.status_code == 503 and r.headers["Retry-After"]
    assert requests.put(url, data=b"abc", headers={"Content-Range": "bytes 0-2/3"}, timeout=10).status_code == 201


@pytest.mark.parametrize("status", [429, 503])
def test_throttled_error_body(graph, status):
    w, s, base = graph
    w.sandbox.fail_next(status, 1, retry_after=7)
    r = s.get(f"{base}/root")
    assert r.status_code == status and r.headers["Retry-After"] == "7"
    assert r.json()["error"]["code"] == ("tooManyRequests" if status == 429 else "serviceNotAvailable")


# -- the same through the clients' own builders ------------------------------------------------------------
def test_msgraph_writes_conflicts_moves_and_cancelled_session(sharepoint):
    from msgraph.generated.drives.item.items.item.create_upload_session.create_upload_session_post_request_body import (
        CreateUploadSessionPostRequestBody,
    )
    from msgraph.generated.models.drive_item import DriveItem
    from msgraph.generated.models.drive_item_uploadable_properties import DriveItemUploadableProperties
    from msgraph.generated.models.folder import Folder
    from msgraph.generated.models.item_reference import ItemReference
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    w = sharepoint

    async def run(client, drive):
        root = drive.items.by_drive_item_id("root")
        made = await root.children.post(DriveItem(name="Evidence", folder=Folder()))
        again = await root.children.post(DriveItem(name="Evidence", folder=Folder(), additional_data={
            "@microsoft.graph.conflictBehavior": "rename"}))
        with pytest.raises(ODataError) as clash:
            await root.children.post(DriveItem(name="Evidence", folder=Folder()))
        put = await drive.items.by_drive_item_id("root:/Evidence/a.txt:").content.put(b"hello")
        moved = await drive.items.by_drive_item_id(put.id).patch(DriveItem(
            name="b.txt", parent_reference=ItemReference(id=again.id)))
        session = await drive.items.by_drive_item_id("root:/Evidence/a.txt:").create_upload_session.post(
            CreateUploadSessionPostRequestBody(item=DriveItemUploadableProperties(additional_data={
                "@microsoft.graph.conflictBehavior": "rename"})))
        # (LargeFileUploadTask.cancel() itself fails in msgraph-core 1.5.2, before any request: a bare DELETE)
        assert requests.delete(session.upload_url, timeout=10).status_code == 204
        by_root = await drive.items.by_drive_item_id("root").children.get()
        return made, again, clash.value, moved, session, by_root

    made, again, clash, moved, session, by_root = _sdk(w, run)
    assert made.name == "Evidence" and again.name == "Evidence 1"
    assert clash.response_status_code == 409 and clash.error.code == "nameAlreadyExists"
    assert clash.error.inner_error.request_id and clash.error.inner_error.date
    assert moved.name == "b.txt" and moved.parent_reference.id == again.id
    assert requests.get(session.upload_url, timeout=10).status_code == 404  # cancelled
    assert {"Evidence", "Evidence 1"} <= {i.name for i in by_root.value}


def adapter_of(client):
    return client.request_adapter


def test_msgraph_lists_fields_sites_search_and_delta_pages(sharepoint):
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.models.field_value_set import FieldValueSet
    from msgraph.generated.sites.sites_request_builder import SitesRequestBuilder
    from msgraph_core.tasks.page_iterator import PageIterator

    w = sharepoint
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + _token(w)
    base = f"{w.sandbox.graph_url}/drives/{w.library_id}"
    for n in range(5):
        s.put(f"{base}/root:/P/f{n}.txt:/content", data=b"p")

    async def run(client, drive):
        found = await client.sites.get(RequestConfiguration(
            query_parameters=SitesRequestBuilder.SitesRequestBuilderGetQueryParameters(search="GRC")))
        site = client.sites.by_site_id(w.site_id)
        lib = await site.drive.get()
        lists = await site.lists.get()
        evidence = next(x for x in lists.value if x.display_name == "Evidence")
        rows = await site.lists.by_list_id(evidence.id).items.get()
        row = rows.value[0].id
        fields = await site.lists.by_list_id(evidence.id).items.by_list_item_id(row).fields.patch(
            FieldValueSet(additional_data={"EvidenceSha256": "f00"}))
        item = await site.lists.by_list_id(evidence.id).items.by_list_item_id(row).drive_item.get()
        first = await drive.items.by_drive_item_id("root").delta.get()
        names: list[str] = []
        iterator = PageIterator(first, adapter_of(client))

        def keep(i) -> bool:
            names.append(i.name)
            return True

        await iterator.iterate(keep)
        return found, lib, fields, item, names, first

    found, lib, fields, item, names, first = _sdk(w, run)
    assert w.site_id in {x.id for x in found.value}
    assert lib.id == w.library_id
    assert fields.additional_data["EvidenceSha256"] == "f00" and item.id
    assert {f"f{n}.txt" for n in range(5)} <= set(names)
    assert first.odata_delta_link or first.odata_next_link


def test_office365_versions_permissions_thumbnails_and_sites(sharepoint, monkeypatch):
    w = sharepoint
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + _token(w)
    base = f"{w.sandbox.graph_url}/drives/{w.library_id}"
    item = s.put(f"{base}/root:/o365.txt:/content", data=b"one").json()
    s.put(f"{base}/root:/o365.txt:/content", data=b"two")
    client = _o365(w, monkeypatch)
    target = client.drives[w.library_id].items[item["id"]]
    invited = target.invite(["auditor@contoso.com"], message="evidence for review", roles=["read"],
                            require_sign_in=True, send_invitation=False).execute_query()
    assert [list(p.roles) for p in invited] == [["read"]]
    perms = target.permissions.get().execute_query()
    assert len(perms) == 1
    perms[0].delete_object().execute_query()
    assert len(target.permissions.get().execute_query()) == 0
    thumbs = target.thumbnails.get().execute_query()
    assert len(thumbs) == 1
    found = client.sites.search("GRC").execute_query()
    assert w.site_id in {x.id for x in found}
    assert client.sites.root.get().execute_query().id
    versions = target.versions.get().execute_query()
    assert [v.id for v in versions] == ["2.0", "1.0"]
    rows = client.sites[w.site_id].lists["Evidence"].items.get_all(page_size=1).execute_query()
    assert len(rows) == 1 and rows[0].id


def test_list_items_filter_by_fields_and_deferred_commit(graph):
    w, s, base = graph
    for name, sha in (("x.txt", "aa"), ("y.txt", "bb"), ("z.txt", "aa")):
        made = s.put(f"{base}/root:/F/{name}:/content", data=name.encode()).json()
        s.patch(f"{base}/items/{made['id']}/listItem/fields", json={"EvidenceSha256": sha})
    items = f"{w.sandbox.graph_url}/sites/{w.site_id}/lists/Evidence/items"
    flt = {"$filter": "fields/EvidenceSha256 eq 'aa'", "$expand": "fields"}
    refused = s.get(items, params=flt)
    assert refused.status_code == 400 and "HonorNonIndexedQueriesWarningMayFailRandomly" in refused.text
    hits = s.get(items, params=flt, headers={"Prefer": "HonorNonIndexedQueriesWarningMayFailRandomly"})
    assert sorted(r["fields"]["FileLeafRef"] for r in hits.json()["value"]) == ["x.txt", "z.txt"]
    sel = s.get(items, params={"$expand": "fields($select=EvidenceSha256)"}).json()["value"]
    assert all(set(r["fields"]) <= {"@odata.etag", "id", "EvidenceSha256"} for r in sel)

    url = s.post(f"{base}/root:/deferred.bin:/createUploadSession", json={"deferCommit": True}).json()["uploadUrl"]
    last = requests.put(url, data=b"abcd", headers={"Content-Range": "bytes 0-3/4"}, timeout=10)
    assert last.status_code == 202 and last.json()["nextExpectedRanges"] == []
    assert s.get(f"{base}/root:/deferred.bin:").status_code == 404
    done = requests.post(url, data=b"", timeout=10)
    assert done.status_code == 201 and done.json()["size"] == 4


def test_hashes_etags_if_match_and_ranged_downloads(graph):
    from sandbox.sharepoint.facets import quick_xor_hash

    _, s, base = graph
    assert quick_xor_hash(b"") == "AAAAAAAAAAAAAAAAAAAAAAAAAAA="
    assert quick_xor_hash(bytes.fromhex("a9a029123eba97")) == "qQBFCiTgA11cAgAABwAAAAAAAAA="  # rclone's vectors
    assert quick_xor_hash(bytes.fromhex("fda373cc214f4bf0")) == "/RjFHJgRgicsAR4ACAAAAAAAAAA="
    item = s.put(f"{base}/root:/h.pdf:/content", data=b"%PDF-1.7 evidence").json()
    assert item["file"] == {"mimeType": "application/pdf", "hashes": {"quickXorHash": quick_xor_hash(
        b"%PDF-1.7 evidence")}}
    assert item["createdBy"]["application"]["displayName"] and item["fileSystemInfo"]["createdDateTime"]
    renamed = s.patch(f"{base}/items/{item['id']}", json={"name": "h2.pdf"}).json()
    assert renamed["eTag"] != item["eTag"] and renamed["cTag"] == item["cTag"]  # cTag: content only
    stale = s.patch(f"{base}/items/{item['id']}", json={"name": "h3.pdf"}, headers={"If-Match": item["eTag"]})
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "resourceModified"
    fresh = s.patch(f"{base}/items/{item['id']}", json={"name": "h3.pdf"}, headers={"If-Match": renamed["eTag"]})
    assert fresh.status_code == 200
    assert s.delete(f"{base}/items/{item['id']}", headers={"If-Match": item["eTag"]}).status_code == 412
    session = s.post(f"{base}/items/{item['id']}/createUploadSession", headers={"If-Match": item["eTag"]})
    assert session.status_code == 412
    unchanged = s.put(f"{base}/items/{item['id']}/content", data=b"x", headers={"If-None-Match": renamed["cTag"]})
    assert unchanged.status_code == 412
    url = s.get(f"{base}/items/{item['id']}").json()["@microsoft.graph.downloadUrl"]
    part = requests.get(url, headers={"Range": "bytes=0-3"}, timeout=10)
    assert part.status_code == 206 and part.content == b"%PDF" and part.headers["Content-Range"] == "bytes 0-3/17"
    assert requests.get(url, headers={"Range": "bytes=-8"}, timeout=10).content == b"evidence"
    assert requests.get(url, headers={"Range": "bytes=99-"}, timeout=10).status_code == 416
