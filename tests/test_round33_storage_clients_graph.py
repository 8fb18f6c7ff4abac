"""Round 33: the Graph emulator through msgraph-sdk (GraphServiceClient), unchanged, where it differed from Graph.

- ``POST /drives/{id}/items/{file-id}/children`` (``children.post``) made a folder *inside a file*: 201, and the
  file then had a child that listed under it and took uploads; a file has no children, so it is 400
  invalidRequest, as an upload to a path through a file already was [unc: Graph's words].
- ``PATCH`` with ``"name": ""`` answered 200 and kept the old name (the empty name read as "no rename"); an empty
  name is 400 invalidRequest, as a name of spaces already was.
- An upload session whose folder was deleted before its last fragment answered that fragment 500
  ``generalException`` "KeyError: '…'"; it is 404 itemNotFound and the session is spent [unc: Graph's words].
"""

from __future__ import annotations

import pytest
import requests

from tests.sandbox.sharepoint.test_client_probe_more import _sdk


def test_a_file_takes_no_children(sharepoint):
    from msgraph.generated.models.drive_item import DriveItem
    from msgraph.generated.models.folder import Folder
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    async def run(client, drive):
        made = await drive.items.by_drive_item_id("root:/R33/control.pdf:").content.put(b"%PDF-1.7")
        with pytest.raises(ODataError) as refused:
            await drive.items.by_drive_item_id(made.id).children.post(DriveItem(name="Q1", folder=Folder()))
        kids = await drive.items.by_drive_item_id(made.id).children.get()
        folder = await drive.items.by_drive_item_id("root:/R33:").children.get()
        # a folder is still made where folders are
        ok = await drive.items.by_drive_item_id(made.parent_reference.id).children.post(
            DriveItem(name="Q1", folder=Folder()))
        return refused.value, kids, folder, ok

    refused, kids, folder, ok = _sdk(sharepoint, run)
    assert (refused.response_status_code, refused.error.code) == (400, "invalidRequest")
    assert "not a folder" in refused.error.message
    assert kids.value == []
    assert [i.name for i in folder.value] == ["control.pdf"]
    assert ok.name == "Q1" and ok.folder is not None


def test_an_empty_name_is_refused_not_ignored(sharepoint):
    from msgraph.generated.models.drive_item import DriveItem
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    async def run(client, drive):
        made = await drive.items.by_drive_item_id("root:/R33/policy.docx:").content.put(b"PK")
        with pytest.raises(ODataError) as refused:
            await drive.items.by_drive_item_id(made.id).patch(DriveItem(name=""))
        after = await drive.items.by_drive_item_id(made.id).get()
        renamed = await drive.items.by_drive_item_id(made.id).patch(DriveItem(name="policy-v2.docx"))
        return made, refused.value, after, renamed

    made, refused, after, renamed = _sdk(sharepoint, run)
    assert (refused.response_status_code, refused.error.code) == (400, "invalidRequest")
    assert after.name == "policy.docx" and after.e_tag == made.e_tag  # nothing was written
    assert renamed.name == "policy-v2.docx"


def test_an_upload_whose_folder_was_deleted_is_not_found(sharepoint):
    from msgraph.generated.drives.item.items.item.create_upload_session.create_upload_session_post_request_body import (
        CreateUploadSessionPostRequestBody,
    )

    async def run(client, drive):
        session = await drive.items.by_drive_item_id("root:/R33/Q4/export.zip:").create_upload_session.post(
            CreateUploadSessionPostRequestBody())
        first = requests.put(session.upload_url, data=b"PK" * 50, headers={"Content-Range": "bytes 0-99/200"},
                             verify=sharepoint.sandbox.ca_bundle, timeout=10)
        await drive.items.by_drive_item_id("root:/R33/Q4:").delete()
        last = requests.put(session.upload_url, data=b"PK" * 50, headers={"Content-Range": "bytes 100-199/200"},
                            verify=sharepoint.sandbox.ca_bundle, timeout=10)
        status = requests.get(session.upload_url, verify=sharepoint.sandbox.ca_bundle, timeout=10)
        left = await drive.items.by_drive_item_id("root:/R33:").children.get()
        return first, last, status, left

    first, last, status, left = _sdk(sharepoint, run)
    assert first.status_code == 202
    assert (last.status_code, last.json()["error"]["code"]) == (404, "itemNotFound")
    assert status.status_code == 404  # the session is spent
    assert left.value == []  # nothing was written anywhere
