"""Round 34: a Graph upload session (made through msgraph-sdk, unchanged) whose folder is deleted while fragments
are still to come: round 33 refused only the last fragment (404 itemNotFound); an earlier one was still taken
(202 with the next range), so a client sent every byte of a large file before learning the upload could not land.
Now the first fragment after the deletion is 404 itemNotFound and spends the session [unc: Graph's answer]."""

from __future__ import annotations

import requests

from tests.sandbox.sharepoint.test_client_probe_more import _sdk


def test_a_fragment_after_the_folder_went_is_not_found(sharepoint):
    from msgraph.generated.drives.item.items.item.create_upload_session.create_upload_session_post_request_body import (
        CreateUploadSessionPostRequestBody,
    )

    put = dict(verify=sharepoint.sandbox.ca_bundle, timeout=10)

    async def run(client, drive):
        session = await drive.items.by_drive_item_id("root:/R34/Q1/big.zip:").create_upload_session.post(
            CreateUploadSessionPostRequestBody())
        first = requests.put(session.upload_url, data=b"PK" * 50, headers={"Content-Range": "bytes 0-99/300"}, **put)
        await drive.items.by_drive_item_id("root:/R34/Q1:").delete()
        second = requests.put(session.upload_url, data=b"PK" * 50, headers={"Content-Range": "bytes 100-199/300"},
                              **put)
        third = requests.put(session.upload_url, data=b"PK" * 50, headers={"Content-Range": "bytes 200-299/300"},
                             **put)
        left = await drive.items.by_drive_item_id("root:/R34:").children.get()
        return first, second, third, left

    first, second, third, left = _sdk(sharepoint, run)
    assert (first.status_code, first.json()["nextExpectedRanges"]) == (202, ["100-299"])
    # the change under test is `second` (round 33 answered it 202): what it means for the product is that an upload
    # of a large evidence file into a folder deleted meanwhile fails at the next fragment, not after every byte is
    # sent; `first` and `third` held before too
    assert (second.status_code, second.json()["error"]["code"]) == (404, "itemNotFound")
    assert third.status_code == 404  # the session is spent
    assert left.value == []
