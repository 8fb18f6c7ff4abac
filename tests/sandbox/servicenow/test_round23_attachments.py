"""Round 23, the Attachment API as its reference describes it and as pysnc 1.2.1 uses it: an upload to a
record that does not exist answers the documented 404 (pysnc: NotFoundException), and the metadata carries
created_by_name / updated_by_name beside sys_created_by / sys_updated_by."""

from __future__ import annotations

import json

import pysnc
import pytest
from pysnc.exceptions import NotFoundException

SIZE = 20


def test_an_upload_to_a_missing_record_is_404_raw_multipart_and_pysnc(env):
    sb, client, session = env
    url = f"{sb.url}/api/now/attachment"
    raw = session.post(f"{url}/file", data=b"x", headers={"Content-Type": "text/plain"},
                       params={"table_name": "incident", "table_sys_id": "0" * 32, "file_name": "x.txt"})
    assert raw.status_code == 404 and raw.json()["status"] == "failure"
    multi = session.post(f"{url}/upload", data={"table_name": "incident", "table_sys_id": "0" * 32},
                         files={"uploadFile": ("x.txt", b"x", "text/plain")})
    assert multi.status_code == 404

    gr = client.GlideRecord("incident")
    assert gr.get(sb.records("incident")[0]["sys_id"])
    sb.delete("incident", gr.sys_id.get_value())  # gone while the caller holds it
    before = len(sb.records("sys_attachment"))
    with pytest.raises(NotFoundException):
        gr.add_attachment("late.txt", b"too late", "text/plain")
    assert len(sb.records("sys_attachment")) == before
    wrong_table = session.post(f"{url}/file", data=b"x", headers={"Content-Type": "text/plain"},
                               params={"table_name": "problem", "file_name": "x.txt",
                                       "table_sys_id": sb.records("incident")[0]["sys_id"]})
    assert wrong_table.status_code == 404  # an incident is not a problem


def test_metadata_names_who_created_and_updated_it(env):
    sb, client, session = env
    uploader = sb.add_user("r23.uploader", "Secret-12", roles=("itil",))
    sb.update("sys_user", uploader["sys_id"], {"name": "Rita Uploader"})
    theirs = pysnc.ServiceNowClient(sb.url, ("r23.uploader", "Secret-12"), verify=sb.ca_bundle)
    gr = theirs.GlideRecord("incident")
    assert gr.get(sb.records("incident")[1]["sys_id"])
    location = gr.add_attachment("names.txt", b"who", "text/plain")
    sys_id = location.rsplit("/", 1)[1]

    meta = session.get(f"{sb.url}/api/now/attachment/{sys_id}").json()["result"]
    assert (meta["sys_created_by"], meta["created_by_name"]) == ("r23.uploader", "Rita Uploader")
    assert (meta["sys_updated_by"], meta["updated_by_name"]) == ("r23.uploader", "Rita Uploader")
    assert "created_by_name" not in sb.get("sys_attachment", sys_id)  # the API's, not a column of the table

    renamed = session.patch(f"{sb.url}/api/now/attachment/{sys_id}", json={"file_name": "renamed.txt"})
    assert renamed.status_code == 204
    listed = session.get(f"{sb.url}/api/now/attachment", params={"sysparm_query": f"sys_id={sys_id}"})
    [row] = listed.json()["result"]
    assert (row["file_name"], row["created_by_name"], row["updated_by_name"]) == (
        "renamed.txt", "Rita Uploader", "Integration User")
    header = session.get(f"{sb.url}/api/now/attachment/{sys_id}/file").headers["X-Attachment-Metadata"]
    assert json.loads(header) == row

    att = client.Attachment("incident")  # pysnc reads them like any other field
    assert att.get(sys_id) and att.created_by_name == "Rita Uploader" and att.read() == b"who"
    xml = session.get(f"{sb.url}/api/now/attachment/{sys_id}", headers={"Accept": "application/xml"})
    assert "<created_by_name>Rita Uploader</created_by_name>" in xml.text
