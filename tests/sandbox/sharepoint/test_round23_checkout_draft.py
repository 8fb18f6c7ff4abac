"""Probe round 23: writes to a checked-out file, through office365-rest-python-client and msgraph-sdk unchanged.

- every write while a file was checked out made a new major version (upload, ``save_binary``, Graph PUT),
  and the check-in one more: 1.0 → checkout, two saves, check-in → 4.0 with 1.0, 2.0, 3.0 in the history.
  SharePoint keeps the writes in the check-out's draft: the check-in makes 2.0 and the history holds 1.0.
- ``undocheckout`` only cleared the flag: the draft's bytes stayed; SharePoint drops them.
- Graph's ``POST …/discardCheckout`` (msgraph-sdk's ``discard_checkout``) was 400 "POST is not supported"."""

from __future__ import annotations

import asyncio

import pytest
from office365.sharepoint.files.checkin_type import CheckinType
from office365.sharepoint.files.file import File

from tests.sandbox.sharepoint.test_client_probe import _client, graph
from tests.sandbox.sharepoint.test_rest_api import rest

__all__ = ["graph", "rest"]
URL = "/sites/GRC/Evidence"


def _state(f) -> tuple[str, int, list[str]]:
    p = f.get().select(["UIVersionLabel", "CheckOutType"]).execute_query().properties
    labels = [v.properties["VersionLabel"] for v in f.versions.get().execute_query()]
    return p["UIVersionLabel"], p["CheckOutType"], labels


def test_writes_while_checked_out_make_one_version_at_check_in(rest):
    _, ctx = rest
    folder = ctx.web.get_folder_by_server_relative_url(URL)
    folder.upload_file("draft.txt", b"v1").execute_query()
    f = ctx.web.get_file_by_server_relative_url(f"{URL}/draft.txt")
    f.checkout().execute_query()
    folder.upload_file("draft.txt", b"v2").execute_query()
    File.save_binary(ctx, f"{URL}/draft.txt", b"v3")
    assert _state(f)[1:] == (0, ["1.0"])  # one draft, the checked-in 1.0 kept
    f.checkin("both edits", CheckinType.MajorCheckIn).execute_query()
    assert _state(f) == ("2.0", 2, ["1.0"])
    assert f.get_content().execute_query().value == b"v3"
    assert f.versions.get().execute_query()[0].open_binary_stream().execute_query().value == b"v1"
    assert f.get().execute_query().properties["CheckInComment"] == "both edits"
    # a check-in with no write still makes a version, as before
    f.checkout().execute_query()
    f.checkin("no change", CheckinType.MajorCheckIn).execute_query()
    assert _state(f) == ("3.0", 2, ["1.0", "2.0"])


def test_overwrite_check_in_and_undo_checkout(rest):
    _, ctx = rest
    folder = ctx.web.get_folder_by_server_relative_url(URL)
    folder.upload_file("ow.txt", b"one").execute_query()
    f = ctx.web.get_file_by_server_relative_url(f"{URL}/ow.txt")
    f.checkout().execute_query()
    File.save_binary(ctx, f"{URL}/ow.txt", b"draft")
    f.checkin("overwrite", CheckinType.OverwriteCheckIn).execute_query()
    assert _state(f) == ("1.0", 2, []) and f.get_content().execute_query().value == b"draft"
    f.checkout().execute_query()
    File.save_binary(ctx, f"{URL}/ow.txt", b"dropped")
    File.save_binary(ctx, f"{URL}/ow.txt", b"dropped too")
    f.undocheckout().execute_query()
    assert _state(f) == ("1.0", 2, []) and f.get_content().execute_query().value == b"draft"


def test_graph_put_while_checked_out_and_discard_checkout_through_msgraph(graph):
    from msgraph.generated.drives.item.items.item.checkin.checkin_post_request_body import CheckinPostRequestBody
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    w, s, base = graph
    item = s.put(f"{base}/root:/g/draft.txt:/content", data=b"first").json()

    async def run():
        client, _, credential = _client(w, w.client_secret)
        with credential:
            ref = client.drives.by_drive_id(w.library_id).items.by_drive_item_id(item["id"])
            await ref.checkout.post()
            await ref.content.put(b"second")
            await ref.content.put(b"third")
            await ref.discard_checkout.post()
            after_discard = await ref.content.get()
            await ref.checkout.post()
            await ref.content.put(b"fourth")
            await ref.content.put(b"fifth")
            await ref.checkin.post(CheckinPostRequestBody(comment="two puts"))
            versions = await ref.versions.get()
            with pytest.raises(ODataError) as info:
                await ref.discard_checkout.post()  # not checked out
            return after_discard, [v.id for v in versions.value], info.value

    after_discard, versions, error = asyncio.run(run())
    assert after_discard == b"first"
    assert versions == ["2.0", "1.0"]
    assert s.get(f"{base}/items/{item['id']}/content").content == b"fifth"
    assert s.get(f"{base}/items/{item['id']}/versions/1.0/content").content == b"first"
    assert error.response_status_code == 400 and error.error.code == "invalidRequest"
