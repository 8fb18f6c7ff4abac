"""Round 12 of Graph through msgraph-sdk: a document library's list item versions are listItemVersions with
their ``fields`` as they were (name, Title, custom columns, Modified, _UIVersionString), for the list, one
version and ``versions/{v}/fields``; restoreVersion brings back the content and the fields."""

from __future__ import annotations

from tests.sandbox.sharepoint.test_client_probe import graph
from tests.sandbox.sharepoint.test_client_probe_more import _sdk

__all__ = ["graph"]


def test_library_item_versions_carry_their_fields(graph):
    w, s, base = graph
    assert s.put(f"{base}/root:/Hist/control.txt:/content", data=b"one").status_code == 201
    item = s.get(f"{base}/root:/Hist/control.txt:/listItem").json()
    n = item["id"]
    fields_url = f"{base}/root:/Hist/control.txt:/listItem/fields"
    assert s.patch(fields_url, json={"Title": "first", "EvidenceSha256": "aa"}).status_code == 200
    assert s.put(f"{base}/root:/Hist/control.txt:/content", data=b"two").status_code == 200  # version 2.0
    assert s.patch(fields_url, json={"Title": "second", "EvidenceSha256": "bb"}).status_code == 200
    lid = s.get(f"{w.sandbox.graph_url}/drives/{w.library_id}/list").json()["id"]

    async def run(client, _drive):
        versions = client.sites.by_site_id(w.site_id).lists.by_list_id(lid).items.by_list_item_id(n).versions
        listed = await versions.get()
        old = await versions.by_list_item_version_id("1.0").get()
        old_fields = await versions.by_list_item_version_id("1.0").fields.get()
        return listed, old, old_fields

    listed, old, old_fields = _sdk(w, run)
    assert [v.id for v in listed.value] == ["2.0", "1.0"]
    now, then = (v.fields.additional_data for v in listed.value)
    assert (now["Title"], now["EvidenceSha256"], now["_UIVersionString"]) == ("second", "bb", "2.0")
    assert (then["Title"], then["EvidenceSha256"], then["_UIVersionString"]) == ("first", "aa", "1.0")
    assert then["FileLeafRef"] == "control.txt" and listed.value[1].fields.id == n
    assert old.id == "1.0" and old.fields.additional_data["Title"] == "first"
    assert old.last_modified_date_time is not None
    assert old_fields.additional_data["EvidenceSha256"] == "aa"
    url = f"{w.sandbox.graph_url}/sites/{w.site_id}/lists/{lid}/items/{n}/versions"
    assert s.get(f"{url}/7.0").status_code == 404
    raw = s.get(url).json()["value"][1]
    assert s.get(f"{url}/1.0/fields").json()["Modified"] == raw["fields"]["Modified"] == raw["lastModifiedDateTime"]

    assert s.post(f"{url}/1.0/restoreVersion").status_code == 204  # content and fields back, as a new version
    assert s.get(f"{base}/root:/Hist/control.txt:/content").content == b"one"
    assert s.get(fields_url).json()["Title"] == "first"
    assert [v["id"] for v in s.get(url).json()["value"]] == ["3.0", "2.0", "1.0"]
    assert s.get(f"{url}/2.0").json()["fields"]["Title"] == "second"  # the one it replaced, kept
    # the drive item's own versions are unchanged: driveItemVersions with size, no fields
    drive_versions = s.get(f"{base}/items/{s.get(f'{base}/root:/Hist/control.txt').json()['id']}/versions").json()
    assert [("size" in v, "fields" in v) for v in drive_versions["value"]] == [(True, False)] * 3
