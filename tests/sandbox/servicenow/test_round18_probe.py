"""Round 18 probe of pysnc and the REST API: what it found differing from the platform, one test per fix."""

from __future__ import annotations

import json

from tests.sandbox.servicenow.helpers import sorted_ids

SIZE = 30


def test_goto_prefixed_condition_filters_like_the_condition(env):
    """A list's column search writes GOTO before a condition (`GOTOnumber>=INC0010020`,
    `GOTOshort_descriptionLIKEmail`); integrators copy such list URLs. The condition applies as without
    the prefix (it used to be ignored as an unknown field, answering every row)."""
    sb, client, s = env
    url = f"{sb.url}/api/now/table/incident"
    first = sb.records("incident")[0]
    for cond in (f"number={first['number']}", "number>=INC0010020", "priority=1^ORpriority=2",
                 f"short_descriptionLIKE{first['short_description'].split()[0]}"):
        assert sorted_ids(s, url, "GOTO" + cond) == sorted_ids(s, url, cond)
    assert len(sorted_ids(s, url, f"GOTOnumber={first['number']}")) == 1
    gr = client.GlideRecord("incident")
    gr.add_encoded_query(f"GOTOnumber={first['number']}")
    gr.query()
    assert len(gr) == 1 and gr.next() and gr.sys_id == first["sys_id"]


def test_file_download_metadata_header_is_the_whole_record(env):
    """GET /attachment/{sys_id}/file: the bytes with the stored type and the documented
    X-Attachment-Metadata header, which carries the metadata record as GET /attachment/{sys_id} answers
    it (it used to carry six fields, without download_link or sys_created_on) [unc: every field]; the
    Accept header pysnc sends (application/json) or */* gets the file alike."""
    sb, _, s = env
    parent = sb.records("incident")[1]["sys_id"]
    up = s.post(f"{sb.url}/api/now/attachment/file", data="héllo".encode(), headers={"Content-Type": "text/plain"},
                params={"table_name": "incident", "table_sys_id": parent, "file_name": "näme.txt"})
    assert up.status_code == 201, up.text
    meta = up.json()["result"]
    for accept in ("*/*", "application/json"):
        got = s.get(f"{sb.url}/api/now/attachment/{meta['sys_id']}/file", headers={"Accept": accept})
        assert got.status_code == 200 and got.content == "héllo".encode()
        assert got.headers["Content-Type"].startswith("text/plain")
        header = json.loads(got.headers["X-Attachment-Metadata"])
        assert header == s.get(f"{sb.url}/api/now/attachment/{meta['sys_id']}").json()["result"]
        assert header["file_name"] == "näme.txt" and header["download_link"].endswith(f"/{meta['sys_id']}/file")
        assert header["size_bytes"] == "6" and header["table_sys_id"] == parent
