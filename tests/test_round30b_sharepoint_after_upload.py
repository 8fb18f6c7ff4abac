"""Round 30b: what the SharePoint store labels as the evidence after an upload is the version it wrote.

After its upload the store reads the file at the content address and writes its columns (``EvidenceSha256``,
``EvidenceMetadata`` with the record of size, quickXorHash and cTag). A library editor who replaced the file
between the upload's reply and that read with other bytes of the same size and quickXorHash (the hash is
linear: easy to make) got the store's record, and the store's own column write made this app its last
modifier, so later puts took it through the cheap check. Now a file that is not the version the put wrote
(another id or cTag; with the reply lost: not this app's write; or no quickXorHash listed) is read back
first: other bytes are kept untouched for review, the put raises ``ContentMismatch`` (the library raises a
``security_alert`` and holds the evidence pending). A damaged upload's DELETE carries ``If-Match`` (its eTag
as checked): a file replaced in place since is kept (Graph's 412). The app's id is compared case-insensitively.
"""

from __future__ import annotations

import dataclasses
import os

import pytest
import requests

from resources.evidence.base import ContentMismatch, StoreUnavailable, content_address
from resources.evidence.select import store_from_env
from resources.evidence.sharepoint_check import quick_xor_hash
from tests.evidence.library import make_library
from tests.sandbox.sharepoint.test_client_probe import _token


@pytest.fixture
def sp_store(sp_env):
    store = store_from_env()
    store.calls.backoff = 0.05
    return sp_env.sandbox, store


def _collision(data: bytes, at: int) -> bytes:
    out = bytearray(data)
    out[at] ^= 0x33
    out[at + 160] ^= 0x33
    return bytes(out)


def _downloads(sb) -> int:
    return sum(1 for r in sb.request_log if r["method"] == "GET" and "download.aspx" in r["path"])


def _file(sb, sha):
    [item] = [i for i in sb.store.items.values() if i.name == sha]
    return item


def _around(store, monkeypatch, action, before=None, after=None, answer=...):
    """Run ``before`` / ``after`` around the store's Graph call ``action``; ``answer`` replaces its result."""
    real = store.calls.run

    def run(make, act, *args, **kwargs):
        if act == action and before:
            before()
        out = real(make, act, *args, **kwargs)
        if act == action and after:
            after()
        return out if act != action or answer is ... else answer

    monkeypatch.setattr(store.calls, "run", run)


def _forge(sb, sha, data):
    def replace():
        item = _file(sb, sha)
        forged = _collision(data, 30_000)
        assert quick_xor_hash(forged) == quick_xor_hash(data)
        sb.store.add(item.drive_id, item.parent_id, item.name, forged)  # a person, in the browser
    return replace


@pytest.mark.parametrize("reply", ["given", "lost"])
def test_colliding_bytes_put_there_right_after_the_upload_are_not_labelled(sp_store, monkeypatch, tmp_path, reply):
    sb, store = sp_store
    data = os.urandom(60_000)
    sha = content_address(data)
    plain = store.calls.run
    _around(store, monkeypatch, "upload", after=_forge(sb, sha, data), answer=... if reply == "given" else None)
    with pytest.raises(ContentMismatch, match="differs from byte 30000"):
        store.put(data, {"filename": "ledger.xlsx"})
    item = _file(sb, sha)
    assert item.content != data and "EvidenceSha256" not in item.fields  # kept, and never given our record
    assert not [r for r in sb.request_log if r["method"] == "DELETE"]
    monkeypatch.setattr(store.calls, "run", plain)  # (undo() would drop the sandbox's environment too)
    lib = make_library(tmp_path, None, store, require_scan=False)
    out = lib.ingest(data, "ledger.xlsx", "slack", source_ref="F30b")
    assert out.status == "pending" and [a["kind"] for a in lib.ledger.rows("alerts")] == ["security_alert"]


def _hide_hashes(store, monkeypatch):
    real = store._item

    def item(sha):
        found = real(sha)
        if found is not None and found.file is not None:
            found.file.hashes = None  # Graph lists no quickXorHash for it (as it may for a fresh file) [unc]
        return found

    monkeypatch.setattr(store, "_item", item)


def test_with_no_hash_listed_someone_elses_bytes_are_read_back_and_kept(sp_store, monkeypatch):
    sb, store = sp_store
    data = os.urandom(40_000)
    sha = content_address(data)
    other = os.urandom(len(data))
    _hide_hashes(store, monkeypatch)
    _around(store, monkeypatch, "upload", after=lambda: sb.store.add(
        _file(sb, sha).drive_id, _file(sb, sha).parent_id, sha, other), answer=None)  # reply lost, replaced
    with pytest.raises(ContentMismatch, match="differs from byte 0"):
        store.put(data)
    assert _file(sb, sha).content == other and "EvidenceSha256" not in _file(sb, sha).fields


def test_with_no_hash_listed_our_own_damaged_upload_is_removed(sp_store, monkeypatch):
    sb, store = sp_store
    data = os.urandom(40_000)
    sha = content_address(data)

    def damage():
        _file(sb, sha).content = data[:-1] + bytes([data[-1] ^ 1])  # the same version: what Graph made of it

    _hide_hashes(store, monkeypatch)
    _around(store, monkeypatch, "upload", after=damage)
    with pytest.raises(StoreUnavailable, match="removed; "):
        store.put(data)
    assert not [i for i in sb.store.items.values() if i.name == sha]


def test_our_own_upload_is_still_labelled_without_a_download(sp_store, monkeypatch):
    sb, store = sp_store
    data = os.urandom(40_000)
    plain = store.calls.run
    _around(store, monkeypatch, "upload", answer=None)  # the reply lost: this app wrote it last, no columns
    sb.clear_request_log()
    obj = store.put(data, {"filename": "a.txt"})
    assert obj.metadata["filename"] == "a.txt" and _downloads(sb) == 0
    monkeypatch.setattr(store.calls, "run", plain)
    sb.clear_request_log()
    assert store.put(os.urandom(10)).size == 10 and _downloads(sb) == 0


def test_a_file_replaced_in_place_before_the_damaged_upload_is_deleted_is_kept(sp_store, monkeypatch):
    sb, store = sp_store
    data = os.urandom(50_000)
    sha = content_address(data)
    other = os.urandom(777)

    def damage():
        _file(sb, sha).content = data[:-1] + bytes([data[-1] ^ 1])

    def replace():
        item = _file(sb, sha)
        sb.store.add(item.drive_id, item.parent_id, item.name, other)  # a person: a new version, same item

    _around(store, monkeypatch, "upload", after=damage)
    _around(store, monkeypatch, "deleting a damaged upload", before=replace)
    with pytest.raises(StoreUnavailable) as caught:
        store.put(data)
    assert "removed" not in str(caught.value)
    assert _file(sb, sha).content == other
    [delete] = [r for r in sb.request_log if r["method"] == "DELETE"]
    assert delete["status"] == 412


def test_graph_delete_honours_if_match(sp_env):
    w = sp_env
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + _token(w)
    base = f"{w.sandbox.graph_url}/drives/{w.library_id}"
    made = s.put(f"{base}/root:/R30b/x.txt:/content", data=b"one").json()
    s.put(f"{base}/items/{made['id']}/content", data=b"two")
    stale = s.delete(f"{base}/items/{made['id']}", headers={"If-Match": made["eTag"]})
    assert stale.status_code == 412 and made["id"] in w.sandbox.store.items
    now = s.get(f"{base}/items/{made['id']}").json()
    assert s.delete(f"{base}/items/{made['id']}", headers={"If-Match": now["eTag"]}).status_code == 204
    s.close()


def test_client_id_in_upper_case_still_recognises_the_apps_own_writes(sp_store):
    sb, store = sp_store
    data = os.urandom(30_000)
    store.put(data)
    store.settings = dataclasses.replace(store.settings, client_id=store.settings.client_id.upper())
    assert store.settings.client_id != store.settings.client_id.lower()
    sb.clear_request_log()
    store.put(data)
    assert _downloads(sb) == 0  # still the cheap check: Graph's lower-case id is this app
