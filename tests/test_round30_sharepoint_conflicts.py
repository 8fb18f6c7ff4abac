"""Round 30: the SharePoint evidence store never replaces a file it did not write.

The store reads the content address, then writes. A file put at that address between the two (by someone
else, or another worker) was replaced: the simple upload's ``PUT …/content`` replaces by default, and the
upload session asked for ``replace``. Both now ask Graph for ``@microsoft.graph.conflictBehavior=fail``;
the 409 sends the file found there through the check a file already at the address gets: the same bytes
(this store's copy, or proven byte for byte) are taken as stored; other bytes are kept untouched for
review, the put raises ``ContentMismatch`` and the library raises a ``security_alert`` and holds the
evidence pending (it is retried once the planted file has been reviewed and removed).
"""

from __future__ import annotations

import json
import os

import pytest

from resources.evidence.base import ContentMismatch, content_address
from resources.evidence.select import store_from_env
from resources.evidence.sharepoint_check import RECORD
from tests.evidence.library import make_library


@pytest.fixture
def sp_store(sp_env):
    store = store_from_env()
    store.calls.backoff = 0.05
    return sp_env.sandbox, store


def _plant_after_first_read(sb, store, monkeypatch, data: bytes) -> list:
    """The store's first read of the address finds nothing; a file is put there right after it."""
    real, planted = store._item, []

    def item(sha):
        found = real(sha)
        if not planted:
            folder = sb.store.items[store.folder_id]
            planted.append(sb.store.add(folder.drive_id, folder.id, sha, data))
        return found

    monkeypatch.setattr(store, "_item", item)
    return planted


def _conflicts(sb) -> list[dict]:
    return [r for r in sb.request_log if r["status"] == 409]


@pytest.mark.parametrize("size", [40_000, 5 * 1024 * 1024], ids=["simple", "session"])
def test_file_planted_between_read_and_write_is_kept_and_flagged(sp_store, monkeypatch, tmp_path, size):
    sb, store = sp_store
    data = os.urandom(size)
    other = os.urandom(size)
    planted = _plant_after_first_read(sb, store, monkeypatch, other)
    with pytest.raises(ContentMismatch, match="not overwritten"):
        store.put(data, {"filename": "export.zip"})
    assert planted[0].content == other and planted[0].id in sb.store.items  # not replaced, not deleted
    assert "EvidenceSha256" not in planted[0].fields  # not labelled as the content
    [conflict] = _conflicts(sb)
    assert conflict["method"] == ("PUT" if size < 4 * 1024 * 1024 else "POST")

    monkeypatch.undo()
    lib = make_library(tmp_path, None, store, require_scan=False)
    out = lib.ingest(data, "export.zip", "slack", source_ref="F1")
    assert out.status == "pending" and "already holds" in out.reason
    assert [a["kind"] for a in lib.ledger.rows("alerts")] == ["security_alert"]
    assert planted[0].content == other


def test_file_planted_while_an_upload_session_runs_is_kept(sp_store, monkeypatch):
    """The session was made before the file appeared: the committing fragment is 409, nothing is deleted."""
    sb, store = sp_store
    data, other = os.urandom(12 * 1024 * 1024), os.urandom(1000)
    sha = content_address(data)
    real, planted = store.calls.run, []

    def run(make, action, *args, **kwargs):
        out = real(make, action, *args, **kwargs)
        if action.startswith("upload session fragment at byte 0") and not planted:
            folder = sb.store.items[store.folder_id]
            planted.append(sb.store.add(folder.drive_id, folder.id, sha, other))
        return out

    monkeypatch.setattr(store.calls, "run", run)
    with pytest.raises(ContentMismatch):
        store.put(data)
    assert planted[0].content == other and planted[0].id in sb.store.items
    assert not [r for r in sb.request_log if r["method"] == "DELETE"]
    assert [r["method"] for r in _conflicts(sb)] == ["PUT"]


def test_same_bytes_put_there_meanwhile_are_taken_as_stored(sp_store, monkeypatch):
    """Another worker stored the same evidence between the read and the write: adopted (proven byte for byte,
    once), its columns written, nothing replaced or deleted, one file at the address."""
    sb, store = sp_store
    data = os.urandom(70_000)
    planted = _plant_after_first_read(sb, store, monkeypatch, data)
    obj = store.put(data, {"filename": "a.pdf"})
    assert obj.sha256 == content_address(data) and obj.metadata["filename"] == "a.pdf"
    assert obj.uri.endswith(planted[0].id) and planted[0].history == []  # its content never rewritten
    assert RECORD in json.loads(planted[0].fields["EvidenceMetadata"])
    folder = sb.store.items[store.folder_id]
    assert [i.name for i in sb.store.children(folder.id)] == [obj.sha256]
    assert not [r for r in sb.request_log if r["method"] == "DELETE"]


def test_our_own_finished_copy_put_there_meanwhile_is_adopted_without_a_download(sp_store, monkeypatch):
    """Another worker of this store finished first (file and columns): taken as it is recorded, no download."""
    sb, store = sp_store
    data = os.urandom(90_000)
    sha = content_address(data)
    first = store.put(data, {"filename": "a.pdf"})
    real = store._item
    calls = []

    def item(s):
        calls.append(s)
        return None if len(calls) == 1 else real(s)  # the first read ran before the other worker's upload

    monkeypatch.setattr(store, "_item", item)
    sb.clear_request_log()
    assert store.put(data, {"filename": "a.pdf"}) == first
    assert [r["method"] for r in _conflicts(sb)] == ["PUT"]
    assert not [r for r in sb.request_log if r["method"] == "GET" and "download.aspx" in r["path"]]
    assert sb.store.items[first.uri.rsplit("/", 1)[1]].history == []  # its content never rewritten
    assert sha == first.sha256


def test_a_plain_put_still_stores_and_says_fail(sp_store):
    sb, store = sp_store
    small, large = os.urandom(1000), os.urandom(4 * 1024 * 1024 + 1)
    for data in (small, large):
        obj = store.put(data)
        assert store.get(obj.sha256) == data
    put = next(r for r in sb.request_log if r["method"] == "PUT" and r["path"].endswith("/content"))
    assert "conflictBehavior" in json.dumps(put.get("query"))


def _after_upload(store, monkeypatch, then) -> None:
    real = store.calls.run

    def run(make, action, *args, **kwargs):
        out = real(make, action, *args, **kwargs)
        if action == "upload":
            then()
        return out

    monkeypatch.setattr(store.calls, "run", run)


def test_an_upload_damaged_in_transit_is_removed(sp_store, monkeypatch):
    """Graph holds other bytes than were sent, in the very version the PUT made: removed, and the put fails
    (to be retried), as before."""
    from resources.evidence.base import StoreUnavailable

    sb, store = sp_store
    data = os.urandom(50_000)
    sha = content_address(data)

    def damage():
        item = next(i for i in sb.store.items.values() if i.name == sha)
        item.content = data[:-1] + bytes([data[-1] ^ 1])  # the same version: what Graph made of the PUT

    _after_upload(store, monkeypatch, damage)
    with pytest.raises(StoreUnavailable, match="removed; "):
        store.put(data)
    assert not [i for i in sb.store.items.values() if i.name == sha]


def test_a_file_replaced_right_after_the_upload_is_not_removed(sp_store, monkeypatch):
    """Someone replaced the file between the PUT and the store's read of it: not this put's version, so kept."""
    from resources.evidence.base import StoreUnavailable

    sb, store = sp_store
    data, other = os.urandom(50_000), os.urandom(123)
    sha = content_address(data)

    def replace():
        item = next(i for i in sb.store.items.values() if i.name == sha)
        sb.store.add(item.drive_id, item.parent_id, item.name, other)  # a person, in the browser

    _after_upload(store, monkeypatch, replace)
    with pytest.raises(StoreUnavailable) as caught:
        store.put(data)
    assert "removed" not in str(caught.value)
    [kept] = [i for i in sb.store.items.values() if i.name == sha]
    assert kept.content == other
    assert not [r for r in sb.request_log if r["method"] == "DELETE"]
