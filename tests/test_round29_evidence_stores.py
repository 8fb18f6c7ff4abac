"""Round 29: a put of content already at its address, on SharePoint and Google Drive.

SharePoint downloaded the whole file already at the address on every duplicate put (a 100 MiB file read
back, held in memory, each time the same evidence came in again). It now takes the file as stored from
what Graph lists (size, quickXorHash, cTag) when those are still what it recorded when it stored the file,
and reads it back, streamed and compared chunk by chunk, only when they are not.

Google Drive deleted a copy at the address whose size or md5Checksum no longer matched and stored the
content anew: bytes that no longer match their recorded hash (tampering, or the only copy of what was
there) were destroyed, with no alert. It now keeps it, and the library flags it and holds the file
pending, as the S3 store does.
"""

from __future__ import annotations

import os
import tracemalloc

import pytest

from resources.evidence.base import ContentMismatch, content_address
from resources.evidence.gdrive import DriveStore
from resources.evidence.select import store_from_env
from resources.evidence.sharepoint_check import RECORD, quick_xor_hash
from tests.evidence.library import make_library


@pytest.fixture
def sp_store(sp_env):
    sharepoint = sp_env
    store = store_from_env()
    store.calls.backoff = 0.05
    return sharepoint.sandbox, store


def _downloads(sb) -> int:
    return sum(1 for r in sb.request_log if r["method"] == "GET" and (
        r["path"].endswith("/content") or "download.aspx" in r["path"]))


def _collision(data: bytes, at: int) -> bytes:
    """Other bytes of the same size and quickXorHash: bytes 160 apart XORed with the same value."""
    out = bytearray(data)
    out[at] ^= 0x5A
    out[at + 160] ^= 0x5A
    return bytes(out)


def test_quick_xor_hash_is_graphs():
    from sandbox.sharepoint.facets import quick_xor_hash as graphs

    for data in (b"", b"a", os.urandom(159), os.urandom(160), os.urandom(161), os.urandom(3 * 1024 * 1024 + 7)):
        assert quick_xor_hash(data) == graphs(data)
    assert quick_xor_hash(b"") == "AAAAAAAAAAAAAAAAAAAAAAAAAAA="


def test_sharepoint_duplicate_put_downloads_nothing_when_the_file_is_as_recorded(sp_store):
    sb, store = sp_store
    data = os.urandom(6 * 1024 * 1024)  # an upload session
    first = store.put(data, {"filename": "export.zip"})
    assert RECORD not in first.metadata and first.metadata["filename"] == "export.zip"
    sb.clear_request_log()
    assert store.put(data, {"filename": "export.zip"}) == first
    assert _downloads(sb) == 0
    assert not [r for r in sb.request_log if r["method"] in ("PUT", "POST", "PATCH")]  # nothing written either


def test_sharepoint_file_rewritten_with_the_same_hash_is_read_back_streamed_and_flagged(sp_store, tmp_path):
    """Someone wrote other bytes of the same size and quickXorHash over the file (its cTag changed): the
    cheap check cannot pass it, the file is read back as a stream (never held whole) and refused."""
    sb, store = sp_store
    data = os.urandom(24 * 1024 * 1024)
    obj = store.put(data)
    item = sb.store.items[obj.uri.rsplit("/", 1)[1]]
    forged = _collision(data, 20 * 1024 * 1024)
    sb.store.add(item.drive_id, item.parent_id, item.name, forged)  # a new version, its columns kept
    assert quick_xor_hash(forged) == quick_xor_hash(data)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        with pytest.raises(ContentMismatch, match="not overwritten"):
            store.put(data)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, f"{peak} bytes held while checking a 24 MiB file"
    assert item.content == forged  # kept for review

    lib = make_library(tmp_path, None, store, require_scan=False)
    out = lib.ingest(data, "export.zip", "slack", source_ref="F9")
    assert out.status == "pending" and "already holds" in out.reason
    assert [a["kind"] for a in lib.ledger.rows("alerts")] == ["security_alert"]


def test_sharepoint_other_bytes_by_hash_are_refused_without_a_download(sp_store):
    sb, store = sp_store
    data = os.urandom(300_000)
    obj = store.put(data)
    item = sb.store.items[obj.uri.rsplit("/", 1)[1]]
    sb.store.add(item.drive_id, item.parent_id, item.name, os.urandom(len(data)))
    sb.clear_request_log()
    with pytest.raises(ContentMismatch, match="quickXorHash"):
        store.put(data)
    assert _downloads(sb) == 0


def test_sharepoint_file_stored_before_the_record_is_checked_once_then_recorded(sp_store):
    """A file stored by an earlier version (no record in its columns) is read back on its first duplicate put,
    then recorded: the next one downloads nothing."""
    import json

    sb, store = sp_store
    data = os.urandom(500_000)
    obj = store.put(data, {"filename": "a.pdf"})
    item = sb.store.items[obj.uri.rsplit("/", 1)[1]]
    meta = json.loads(item.fields["EvidenceMetadata"])
    del meta[RECORD]
    item.fields["EvidenceMetadata"] = json.dumps(meta)
    sb.clear_request_log()
    assert store.put(data).sha256 == obj.sha256
    assert _downloads(sb) == 1
    assert RECORD in json.loads(item.fields["EvidenceMetadata"])
    sb.clear_request_log()
    store.put(data)
    assert _downloads(sb) == 0


def test_sharepoint_file_planted_at_the_address_before_the_first_put_is_kept(sp_store):
    """A file named by the sha256 with no columns and other bytes of the same size: not overwritten, not
    deleted, not labelled as the content."""
    sb, store = sp_store
    data = os.urandom(4096)
    sha = content_address(data)
    folder = sb.store.items[store.folder_id]
    planted = sb.store.add(folder.drive_id, folder.id, sha, _collision(data, 100))
    with pytest.raises(ContentMismatch):
        store.put(data)
    assert planted.id in sb.store.items and planted.content == _collision(data, 100)
    assert "EvidenceSha256" not in planted.fields


def _drive(gdrive) -> DriveStore:
    return DriveStore(gdrive.evidence_folder, str(gdrive.key_file), gdrive.api_endpoint)


@pytest.mark.parametrize("how", ["same size", "truncated"])
def test_drive_keeps_a_copy_that_no_longer_matches_and_flags_it(gdrive, tmp_path, how):
    store = _drive(gdrive)
    data = os.urandom(4096)
    obj = store.put(data, {"filename": "cab.pdf"})
    damaged = gdrive.sandbox.store.files[obj.uri.rsplit("/", 1)[1]]
    bad = bytes([data[0] ^ 1]) + data[1:] if how == "same size" else data[:-1]
    damaged.content = bad
    fresh = _drive(gdrive)  # another run: nothing remembered
    with pytest.raises(ContentMismatch, match="not overwritten"):
        fresh.put(data)
    with pytest.raises(ContentMismatch, match="not overwritten"):
        store.put(data)  # the one that made it, too
    assert damaged.content == bad and not damaged.trashed
    assert not [r for r in gdrive.sandbox.request_log if r["method"] == "DELETE"]

    lib = make_library(tmp_path, None, fresh, require_scan=False)
    out = lib.ingest(data, "cab.pdf", "slack", source_ref="F1")
    assert out.status == "pending" and obj.uri.rsplit("/", 1)[1] in out.reason
    alerts = [a for a in lib.ledger.rows("alerts") if a["kind"] == "security_alert"]
    assert len(alerts) == 1 and alerts[0]["sha256"] == obj.sha256
    assert lib.retry_pending()[0].status == "pending"
    fresh.service.files().delete(fileId=damaged.id, supportsAllDrives=True).execute()  # reviewed, removed
    assert [o.status for o in lib.retry_pending()] == ["stored"]
    assert fresh.get(obj.sha256) == data and len(list(fresh.list())) == 1


def test_drive_copy_without_a_checksum_is_compared_by_its_bytes(gdrive):
    store = _drive(gdrive)
    data = os.urandom(10 * 1024 * 1024 + 3)
    obj = store.put(data)
    listed = store._find(obj.sha256)
    listed.pop("md5Checksum")
    store._holds(listed, obj.sha256, data)  # the same bytes: passes
    gdrive.sandbox.store.files[listed["id"]].content = data[:-1] + b"!"
    with pytest.raises(ContentMismatch):
        store._holds(listed, obj.sha256, data)
