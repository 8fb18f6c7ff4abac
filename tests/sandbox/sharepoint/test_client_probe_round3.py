"""Probe round 3: msgraph-sdk and office365-rest-python-client calls a checker makes against the Graph
emulator that it got wrong before, each through the vendor's client against the running sandbox."""

from __future__ import annotations

import pytest

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
