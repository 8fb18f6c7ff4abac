"""Round 29 attacks on the Evidence Library: archives the scanner does not unpack, uploads whose replies
are lost mid-way, the same evidence from two workers at once, hostile names and empty files on every
remote store."""

from __future__ import annotations

import io
import os
import threading
import zipfile

import pytest

from resources.evidence.base import content_address
from resources.evidence.gdrive import DriveStore
from resources.evidence.s3 import S3Store
from resources.evidence.select import store_from_env
from tests.evidence.clamav import EICAR
from tests.evidence.library import make_library


def zipped(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


# -- archives clamd answers OK for without unpacking ----------------------------------------------------------


@pytest.mark.parametrize("content", [
    zipped({"report.txt": EICAR}, zipfile.ZIP_LZMA),
    zipped({"evidence.zip": zipped({"report.txt": EICAR}, zipfile.ZIP_LZMA)}),
    zipped({"word/document.xml": b"<w/>", "word/media/image1.bin": EICAR}, zipfile.ZIP_LZMA),
], ids=["lzma-zip", "lzma-zip-in-zip", "lzma-docx"])
def test_eicar_in_an_lzma_zip_is_not_stored_as_clean(tmp_path, clamd, content):
    """clamd unpacks stored, deflate and bzip2 zip members; an LZMA one (7-Zip's ``-tzip -mm=LZMA``) it skips,
    and answers OK: EICAR in it was stored, scanned "clean". Such zips are now quarantined with the reason."""
    assert clamd.scan(content).clean  # the scanner's blind spot, for real
    lib = make_library(tmp_path, clamd)
    out = lib.ingest(content, "q3-evidence.zip", "email")
    assert out.status == "quarantined" and "LZMA" in out.reason and "ordinary (deflate) zip" in out.reason
    assert list(lib.store.list()) == []


def test_deflate_and_bzip2_zips_are_still_scanned_and_stored(tmp_path, clamd):
    lib = make_library(tmp_path, clamd)
    for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2):
        out = lib.ingest(zipped({"a.csv": b"user,role\nann,admin\n"}, method), "access.zip", "email")
        assert out.status == "stored", out.reason
    out = lib.ingest(zipped({"a.txt": EICAR}, zipfile.ZIP_BZIP2), "a.zip", "email")
    assert out.status == "quarantined" and out.reason.startswith("ClamAV found")


# -- uploads whose replies are lost mid-way ------------------------------------------------------------------


@pytest.fixture
def sp_store(sp_env):
    sharepoint = sp_env
    store = store_from_env()
    store.calls.backoff = 0.01
    return sharepoint.sandbox, store


def test_sharepoint_upload_session_resumes_after_fragments_whose_replies_were_lost(sp_store):
    """Every fragment reaches Graph but its reply is lost (a 503 after the write): the resend of the same
    range is 416 (already received), and the last one's is 404 (the session is spent: the file is made).
    The put asked nothing and failed; it now asks the session what it still expects and goes on from there,
    and a spent session after the last fragment is the file, checked. One file, the content."""
    sb, store = sp_store
    data = os.urandom(21 * 1024 * 1024)  # three fragments
    sb.faults.set(rate_lost_reply=1.0, methods=["PUT"], paths=[r"/uploadSession/"])
    obj = store.put(data, {"filename": "export.zip"})
    sb.faults.clear()
    assert store.get(obj.sha256) == data
    folder = [i for i in sb.store.items.values() if i.parent_id == store.folder_id]
    assert [i.name for i in folder] == [obj.sha256]


def _drive(gdrive) -> DriveStore:
    store = DriveStore(gdrive.evidence_folder, str(gdrive.key_file), gdrive.api_endpoint)
    store.retry_wait = 0.01
    return store


def test_drive_resumable_upload_with_lost_replies_makes_one_file(gdrive, monkeypatch):
    import googleapiclient.http as gh

    monkeypatch.setattr(gh.time, "sleep", lambda s: None)  # the client's own backoff between chunk retries
    monkeypatch.setattr(gh.random, "random", lambda: 0.0)
    store = _drive(gdrive)
    data = os.urandom(17 * 1024 * 1024)  # three chunks
    gdrive.sandbox.faults.set(rate_lost_reply=0.5, methods=["PUT"], seed=7)
    obj = store.put(data)
    gdrive.sandbox.faults.clear()
    assert store.get(obj.sha256) == data
    assert [o.sha256 for o in store.list()] == [obj.sha256]


# -- the same evidence from two workers at once --------------------------------------------------------------


def _put_together(stores, data: bytes) -> list:
    """``data`` put by each store at the same moment (one thread each, released together); what they return.
    Neither may raise."""
    gate = threading.Barrier(len(stores))
    got, errors = [], []

    def put(store):
        gate.wait()
        try:
            got.append(store.put(data, {"filename": "bridge.pdf"}))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=put, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    return got


def test_drive_same_evidence_from_two_workers_at_once_is_one_file(gdrive):
    stores = [_drive(gdrive), _drive(gdrive)]
    data = b"SOC 2 bridge letter, signed 2026-12-01\n"
    got = _put_together(stores, data)
    listed = list(stores[0].list())
    assert len(listed) == 1, [o.uri for o in listed]
    assert {o.uri for o in got} == {listed[0].uri}


def test_sharepoint_same_evidence_from_two_workers_at_once_is_one_file(sp_store):
    _, first = sp_store
    second = store_from_env()
    data = os.urandom(100_000)
    _put_together([first, second], data)
    assert [o.sha256 for o in first.list()] == [content_address(data)]
    assert first.get(content_address(data)) == data


# -- hostile names and empty files, on every remote store ----------------------------------------------------

HOSTILE = ("../../../etc/passwd\\..\\boot.ini\r\n\t\x1b[31m\u202egpj.exe" + "é" * 200 + ".pdf")


@pytest.mark.parametrize("kind", ["s3", "gdrive", "sharepoint"])
def test_hostile_names_and_empty_files_reach_every_remote_store(kind, request, tmp_path, clamd):
    if kind == "s3":
        request.getfixturevalue("aws")
        store = S3Store.from_env()
    elif kind == "gdrive":
        store = _drive(request.getfixturevalue("gdrive"))
    else:
        store = request.getfixturevalue("sp_store")[1]
    lib = make_library(tmp_path, clamd, store)
    assert len(HOSTILE.encode()) > 255
    for content in (b"", b"access review approved\n"):
        out = lib.ingest(content, HOSTILE, "slack", [HOSTILE], source_ref=HOSTILE)
        assert out.status == "stored", out.reason
        assert out.filename == HOSTILE and store.get(out.sha256) == content
        head = store.head(out.sha256)
        assert head.size == len(content) and "/" not in out.storage_uri.rsplit("/", 1)[1]
        name = head.metadata.get("filename", "")
        assert name and HOSTILE.startswith(name), name  # kept, or cut to the store's limit, never mangled
    again = lib.ingest(b"", "other.txt", "slack")
    assert again.status == "stored" and again.storage_uri == lib.ingest(b"", "x", "email").storage_uri
