"""Round 30: the SharePoint store's cheap duplicate check no longer trusts its own record alone.

A put of content already at its address takes the file as stored without reading it when what Graph lists
for it (size, quickXorHash, cTag) is what the store recorded in the file's ``EvidenceMetadata`` column. That
column is writable by anyone who may edit the library: other bytes of the same size and quickXorHash (the
hash is linear, so they are easy to make) with their new cTag copied into the record passed as the
evidence. The check now also asks that the last write to the file (Graph's ``lastModifiedBy``, which
Graph sets, not the caller) was the store's own app; anything else is read back and compared.
"""

from __future__ import annotations

import json
import os

import pytest
import requests

from resources.evidence.base import ContentMismatch
from resources.evidence.select import store_from_env
from resources.evidence.sharepoint_check import RECORD, quick_xor_hash, record
from tests.evidence.library import make_library
from tests.sandbox.sharepoint.test_client_probe import _token


@pytest.fixture
def sp_store(sp_env):
    store = store_from_env()
    store.calls.backoff = 0.05
    return sp_env.sandbox, store


def _downloads(sb) -> int:
    return sum(1 for r in sb.request_log if r["method"] == "GET" and "download.aspx" in r["path"])


def _collision(data: bytes, at: int) -> bytes:
    out = bytearray(data)
    out[at] ^= 0x33
    out[at + 160] ^= 0x33
    return bytes(out)


def test_forged_bytes_with_a_forged_record_are_read_back_and_flagged(sp_store, tmp_path):
    sb, store = sp_store
    data = os.urandom(700_000)
    obj = store.put(data, {"filename": "ledger.xlsx"})
    item = sb.store.items[obj.uri.rsplit("/", 1)[1]]
    forged = _collision(data, 500_000)
    assert quick_xor_hash(forged) == quick_xor_hash(data) and len(forged) == len(data)
    sb.store.add(item.drive_id, item.parent_id, item.name, forged)  # a person, in the browser
    shown = store._item(obj.sha256)
    meta = json.loads(item.fields["EvidenceMetadata"])
    meta[RECORD] = record(shown)  # the record rewritten to the new cTag: all it lists matches again
    item.fields["EvidenceMetadata"] = json.dumps(meta)
    sb.store.touch(item)
    sb.clear_request_log()
    with pytest.raises(ContentMismatch, match="differs from byte 500000"):
        store.put(data)
    assert _downloads(sb) == 1 and item.content == forged  # read back, and kept for review
    lib = make_library(tmp_path, None, store, require_scan=False)
    out = lib.ingest(data, "ledger.xlsx", "slack", source_ref="F2")
    assert out.status == "pending" and [a["kind"] for a in lib.ledger.rows("alerts")] == ["security_alert"]


def test_a_person_editing_a_column_costs_one_read_back_then_the_record_is_renewed(sp_store):
    sb, store = sp_store
    data = os.urandom(300_000)
    obj = store.put(data, {"filename": "policy.pdf"})
    item = sb.store.items[obj.uri.rsplit("/", 1)[1]]
    item.fields["Title"] = "Q3 policy"  # a person's edit: the file is no longer this app's last write
    sb.store.touch(item)
    sb.clear_request_log()
    assert store.put(data).metadata == obj.metadata
    assert _downloads(sb) == 1
    sb.clear_request_log()
    assert store.put(data).metadata == obj.metadata
    assert _downloads(sb) == 0 and item.content == data and item.fields["Title"] == "Q3 policy"


def test_graph_shows_the_writing_app_as_last_modifier(sp_env):
    """``createdBy``/``lastModifiedBy`` name the app for its writes (simple upload, upload session, columns),
    and not for a person's; they were one fixed placeholder for every item."""
    w = sp_env
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + _token(w)
    base = f"{w.sandbox.graph_url}/drives/{w.library_id}"
    small = s.put(f"{base}/root:/R30/small.txt:/content", data=b"x" * 10).json()
    assert small["createdBy"]["application"]["id"] == w.client_id
    assert small["lastModifiedBy"]["application"]["id"] == w.client_id
    session = s.post(f"{base}/root:/R30/big.bin:/createUploadSession", json={}).json()
    done = requests.put(session["uploadUrl"], data=b"y" * 100, headers={"Content-Range": "bytes 0-99/100"},
                        timeout=10, verify=w.sandbox.ca_bundle)
    assert done.status_code == 201 and done.json()["lastModifiedBy"]["application"]["id"] == w.client_id
    item = w.sandbox.store.items[small["id"]]
    w.sandbox.store.add(item.drive_id, item.parent_id, item.name, b"z" * 10)  # a person
    after = s.get(f"{base}/items/{small['id']}").json()
    assert after["lastModifiedBy"]["application"]["id"] != w.client_id
    assert after["createdBy"]["application"]["id"] == w.client_id
    s.close()


@pytest.mark.parametrize(("data", "expected"), [
    (b"a", "YQAAAAAAAAAAAAAAAQAAAAAAAAA="),
    (b"hello world", "aCgDG9jwBhDc4Q1yawMZAAAAAAA="),
    (bytes(range(256)), "QkGEfSisZcA7k+FCh71r2dbCayY="),
    (bytes(range(256)) * 1000 + b"x", "eAAAAAAAAAAAAAAAAegDAAAAAAA="),
])
def test_quick_xor_hash_vectors(data, expected):
    """Values from the ``quickxorhash`` package (PyPI 1.0.5, a C port of Microsoft's reference), checked once
    by hand for round 30: the store's hash and the emulator's are Graph's."""
    from sandbox.sharepoint.facets import quick_xor_hash as graphs

    assert quick_xor_hash(data) == graphs(data) == expected
