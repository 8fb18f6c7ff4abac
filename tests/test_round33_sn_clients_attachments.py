"""Round 33: the Attachment API as ansible-collections/servicenow.itsm's AttachmentClient drives it with plain
requests: it lists a record's attachments with `GET /api/now/attachment?table_name=<t>&table_sys_id=<id>`
(name=value filters, as the Table API takes them, not sysparm_query), pages with X-Total-Count, and deletes
each one it gets back when the record's attachments are to go.

Found: the sandbox ignored those filters and listed every attachment of the instance, so the client's
"delete this record's attachments" deleted the other records' attachments too.
"""

from __future__ import annotations

import hashlib

from tests.sandbox.servicenow.helpers import client_fixtures

sb, _trust_the_sandbox, s = client_fixtures()


def _upload(sb, s, table: str, sys_id: str, name: str, data: bytes) -> dict:
    """AttachmentClient.upload_record: file_name, content_type and hash in the query, the bytes as the body."""
    r = s.post(f"{sb.url}/api/now/attachment/file", data=data, headers={"Content-type": "text/plain"},
               params={"table_name": table, "table_sys_id": sys_id, "file_name": name, "content_type": "text/plain",
                       "hash": hashlib.sha256(data).hexdigest()})
    assert r.status_code == 201, r.text
    return r.json()["result"]


def _list(sb, s, **filters) -> list[dict]:
    """AttachmentClient.list_records: name=value filters, pages of batch_size until X-Total-Count."""
    batch, offset, total, out = 2, 0, 1, []
    while offset < total and offset < 200:  # bounded
        r = s.get(f"{sb.url}/api/now/attachment", params={**filters, "sysparm_limit": batch, "sysparm_offset": offset})
        assert r.status_code == 200, r.text
        out += r.json()["result"]
        total, offset = int(r.headers["x-total-count"]), offset + batch
    return out


def test_name_value_filters_list_one_records_attachments(sb, s):
    mine, other = sb.records("incident")[:2]
    made = [_upload(sb, s, "incident", mine["sys_id"], f"r33-{n}.txt", f"mine {n}".encode()) for n in range(3)]
    _upload(sb, s, "incident", other["sys_id"], "r33-other.txt", b"other")
    got = _list(sb, s, table_name="incident", table_sys_id=mine["sys_id"])
    assert sorted(x["sys_id"] for x in got) == sorted(x["sys_id"] for x in made)
    one = _list(sb, s, table_name="incident", table_sys_id=mine["sys_id"], file_name="r33-1.txt")
    assert [x["file_name"] for x in one] == ["r33-1.txt"]
    assert _list(sb, s, table_name="incident", table_sys_id="0" * 32) == []
    both = s.get(f"{sb.url}/api/now/attachment", params={"table_sys_id": mine["sys_id"],
                                                         "sysparm_query": "file_nameSTARTSWITHr33-2"})
    assert [x["file_name"] for x in both.json()["result"]] == ["r33-2.txt"]  # ANDed with sysparm_query


def test_deleting_a_records_attachments_leaves_the_others(sb, s):
    """AttachmentClient.delete_attached_records: list with the filters, DELETE each (204)."""
    mine, other = sb.records("incident")[2:4]
    _upload(sb, s, "incident", mine["sys_id"], "r33-del.txt", b"go")
    kept = _upload(sb, s, "incident", other["sys_id"], "r33-keep.txt", b"stay")
    everyone_else = {x["sys_id"] for x in sb.records("sys_attachment") if x["table_sys_id"] != mine["sys_id"]}
    for record in _list(sb, s, table_name="incident", table_sys_id=mine["sys_id"]):
        assert s.delete(f"{sb.url}/api/now/attachment/{record['sys_id']}").status_code == 204
    left = {x["sys_id"] for x in sb.records("sys_attachment")}
    assert kept["sys_id"] in left and everyone_else <= left
    assert not [x for x in sb.records("sys_attachment") if x["table_sys_id"] == mine["sys_id"]]


def test_the_stored_hash_is_the_contents_sha256_the_client_compares(sb, s):
    """update_records re-uploads a file whose stored `hash` differs from the local SHA-256."""
    rec = sb.records("incident")[4]
    data = b"same bytes\n"
    made = _upload(sb, s, "incident", rec["sys_id"], "r33-hash.txt", data)
    listed = _list(sb, s, table_name="incident", table_sys_id=rec["sys_id"], file_name="r33-hash.txt")
    assert made["hash"] == listed[0]["hash"] == hashlib.sha256(data).hexdigest()
