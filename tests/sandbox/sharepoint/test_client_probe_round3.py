"""Probe round 3: msgraph-sdk and office365-rest-python-client calls a checker makes against the Graph
emulator that it got wrong before, each through the vendor's client against the running sandbox."""

from __future__ import annotations

import pytest
import requests

from tests.sandbox.sharepoint.test_client_probe import graph
from tests.sandbox.sharepoint.test_client_probe_more import _o365, _sdk

__all__ = ["graph"]


def test_checkout_and_checkin_through_msgraph(sharepoint):
    """POST …/checkout and …/checkin were 400 "unsupported segment"; Graph answers 204 for a file."""
    from msgraph.generated.drives.item.items.item.checkin.checkin_post_request_body import CheckinPostRequestBody
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    async def run(client, drive):
        item = await drive.items.by_drive_item_id("root:/Audit/policy.docx:").content.put(b"draft")
        folder = (await drive.items.by_drive_item_id("root:/Audit:").get()).id
        await drive.items.by_drive_item_id(item.id).checkout.post()
        await drive.items.by_drive_item_id(item.id).checkin.post(CheckinPostRequestBody(comment="reviewed"))
        errors = []
        for call in (lambda: drive.items.by_drive_item_id(item.id).checkin.post(CheckinPostRequestBody()),
                     lambda: drive.items.by_drive_item_id(folder).checkout.post()):
            with pytest.raises(ODataError) as err:
                await call()
            errors.append((err.value.response_status_code, err.value.error.code))
        return errors

    assert _sdk(sharepoint, run) == [(400, "invalidRequest")] * 2


def test_checkout_and_checkin_through_office365(sharepoint, monkeypatch):
    client = _o365(sharepoint, monkeypatch)
    item = client.drives[sharepoint.library_id].root.upload("sop.pdf", b"%PDF-1.4").execute_query()
    item.checkout().execute_query()
    item.checkin("approved").execute_query()


def test_root_carries_its_drive_in_parent_reference(sharepoint, graph):
    """The root item had no parentReference: Graph gives it the drive's id and type (all it has), which
    office365's copy(parent=drive.root) and callers reading root.parent_reference.drive_id rely on."""
    _, s, base = graph
    assert s.get(f"{base}/root").json()["parentReference"] == {"driveType": "documentLibrary",
                                                                "driveId": sharepoint.library_id}

    async def run(client, drive):
        return await drive.root.get()

    assert _sdk(sharepoint, run).parent_reference.drive_id == sharepoint.library_id


@pytest.mark.parametrize("name", ['SOC2 "final".pdf', "a|b.txt", "why?.pdf", "CON", "~$draft.docx", "x_vti_y.txt"])
def test_names_sharepoint_refuses(sharepoint, name):
    """Uploads, new folders, renames and copies took names SharePoint refuses (" * : < > ? / \\ |, reserved
    names): a product passing here would fail on the real service with 400 invalidRequest."""
    from msgraph.generated.drives.item.items.item.copy.copy_post_request_body import CopyPostRequestBody
    from msgraph.generated.models.drive_item import DriveItem
    from msgraph.generated.models.folder import Folder
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    async def run(client, drive):
        item = await drive.items.by_drive_item_id("root:/Audit/ok #1 & 50%.pdf:").content.put(b"%PDF")
        calls = [lambda: drive.items.by_drive_item_id("root").children.post(DriveItem(name=name, folder=Folder())),
                 lambda: drive.items.by_drive_item_id(item.id).patch(DriveItem(name=name)),
                 lambda: drive.items.by_drive_item_id(item.id).copy.post(CopyPostRequestBody(name=name))]
        if "?" not in name:  # a '?' in a path starts the query string
            calls.append(lambda: drive.items.by_drive_item_id(f"root:/Audit/{name}:").content.put(b"x"))
        codes = []
        for call in calls:
            with pytest.raises(ODataError) as err:
                await call()
            codes.append((err.value.response_status_code, err.value.error.code))
        return item.name, codes

    kept, codes = _sdk(sharepoint, run)
    assert kept == "ok #1 & 50%.pdf" and set(codes) == {(400, "invalidRequest")}
    names = {i.name for i in sharepoint.sandbox.store.items.values()}
    assert name not in names


def test_json_batching_through_msgraph_and_http(sharepoint, graph):
    """POST /v1.0/$batch was 400 "Resource not found for the segment '$batch'": msgraph-sdk's client.batch
    and scripts batch up to 20 calls, each answered as if sent alone (bodies as JSON objects, as Graph sends
    them; msgraph-core cannot read those back into models, against Graph too, so only statuses are read
    through it)."""
    from msgraph_core.requests.batch_request_content import BatchRequestContent
    from msgraph_core.requests.batch_request_item import BatchRequestItem

    _, s, base = graph
    item = s.put(f"{base}/root:/Audit/a.txt:/content", data=b"hello").json()

    async def run(client, drive):
        steps = [BatchRequestItem(request_information=drive.root.to_get_request_information(), id="root"),
                 BatchRequestItem(request_information=drive.items.by_drive_item_id(item["id"])
                                  .to_get_request_information(), id="a"),
                 BatchRequestItem(request_information=drive.items.by_drive_item_id("nope")
                                  .to_get_request_information(), id="nope")]
        answer = await client.batch.post(batch_request_content=BatchRequestContent({b.id: b for b in steps}))
        return answer.get_response_status_codes()

    assert _sdk(sharepoint, run) == {"root": 200, "a": 200, "nope": 404}

    drive = f"/drives/{sharepoint.library_id}"
    r = s.post(f"{sharepoint.sandbox.graph_url}/$batch", json={"requests": [
        {"id": "1", "method": "PATCH", "url": f"{drive}/items/{item['id']}", "body": {"name": "b.txt"},
         "headers": {"Content-Type": "application/json"}},
        {"id": "2", "method": "GET", "url": f"{drive}/items/{item['id']}/content", "dependsOn": ["1"]},
        {"id": "3", "method": "GET", "url": f"{drive}/root:/Audit/missing.txt:"},
        {"id": "4", "method": "GET", "url": f"{drive}/root:/Audit:/children?$select=name", "dependsOn": ["3"]}]})
    assert r.status_code == 200, r.text
    out = {x["id"]: x for x in r.json()["responses"]}
    assert out["1"]["status"] == 200 and out["1"]["body"]["name"] == "b.txt"
    assert out["2"]["status"] == 302 and "download.aspx" in out["2"]["headers"]["Location"]
    assert out["3"]["status"] == 404 and out["3"]["body"]["error"]["code"] == "itemNotFound"
    assert out["4"]["status"] == 424
    too_many = s.post(f"{sharepoint.sandbox.graph_url}/$batch", json={"requests": [
        {"id": str(n), "method": "GET", "url": f"{drive}/root"} for n in range(21)]})
    assert too_many.status_code == 400 and too_many.json()["error"]["code"] == "BadRequest"
    unauthenticated = requests.post(f"{sharepoint.sandbox.graph_url}/$batch", json={"requests": []}, timeout=10)
    assert unauthenticated.status_code == 401


def test_shares_resolve_a_sharing_link(sharepoint, graph):
    """GET /shares/{id}/driveItem was 400 (no route): a checker holding a link from createLink resolves it
    by its shareId or by the link URL encoded as u!base64url, through msgraph-sdk's client.shares."""
    import base64

    _, s, base = graph
    item = s.put(f"{base}/root:/Audit/shared.pdf:/content", data=b"%PDF shared").json()
    link = s.post(f"{base}/items/{item['id']}/createLink", json={"type": "view", "scope": "organization"}).json()
    encoded = "u!" + base64.urlsafe_b64encode(link["link"]["webUrl"].encode()).decode().rstrip("=")

    async def run(client, drive):
        by_id = await client.shares.by_shared_drive_item_id(link["shareId"]).drive_item.get()
        by_url = await client.shares.by_shared_drive_item_id(encoded).drive_item.get()
        content = await client.shares.by_shared_drive_item_id(encoded).drive_item.content.get()
        return by_id.id, by_url.id, content

    assert _sdk(sharepoint, run) == (item["id"], item["id"], b"%PDF shared")
    s.delete(f"{base}/items/{item['id']}/permissions/{link['id']}")
    gone = s.get(f"{sharepoint.sandbox.graph_url}/shares/{encoded}/driveItem")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "itemNotFound"
