"""Round 28 attacks on the Evidence Library.

An address that already holds other bytes: every store is content-addressed, so an object at
``objects/<sha>`` is taken to be the bytes hashing to ``<sha>``. A put that found one there returned it
as stored, whatever it held (a replaced or corrupt object, or one planted before the file arrived): the
ledger and the warehouse then said "stored, scanned clean" for bytes the store did not hold. Now the
put checks it (local: the bytes; S3: the size, the ETag when it is the MD5, else the bytes; SharePoint:
the bytes), never overwrites it, and the library flags it (a ``security_alert``) and keeps the file
pending until the object is reviewed and removed; the retry then stores it once, with one stored row.
"""

from __future__ import annotations

import io
import os

import boto3
import pytest
from boto3.s3.transfer import TransferConfig

from resources.evidence.base import ContentMismatch, content_address
from resources.evidence.local import LocalStore
from resources.evidence.s3 import S3Store
from resources.evidence.select import store_from_env
from tests.evidence.library import make_library

GOOD = b"CAB-1042 approved by the change board on 2026-12-01\n"


def _alerts(lib, kind):
    return [a for a in lib.ledger.rows("alerts") if a["kind"] == kind]


def _held_then_stored(lib, store, data, drop_planted):
    """The file waits as pending, flagged, and the planted object is kept; once it is removed the retry
    stores the file: one object holding the content, one stored row."""
    sha = content_address(data)
    out = lib.ingest(data, "cab-1042.txt", "slack", ["change-management"], source_ref="F1")
    assert out.status == "pending" and out.storage_uri is None, out
    assert "already holds" in out.reason and sha in out.reason
    alerts = _alerts(lib, "security_alert")
    assert len(alerts) == 1 and alerts[0]["sha256"] == sha and alerts[0]["provider"] == store.name
    assert [r["status"] for r in lib.ledger.rows("files")] == ["pending"]
    with pytest.raises(ContentMismatch):
        store.get(sha)  # still the planted bytes: not overwritten
    assert lib.retry_pending()[0].status == "pending"  # not stored while the object is there
    drop_planted()
    done = lib.retry_pending()
    assert [o.status for o in done] == ["stored"]
    assert store.get(sha) == data
    assert [r["status"] for r in lib.ledger.rows("files")].count("stored") == 1
    assert lib.retry_pending() == []


def test_local_store_never_passes_other_bytes_at_the_address_for_the_file(tmp_path):
    store = LocalStore(tmp_path / "library")
    sha = content_address(GOOD)
    path = tmp_path / "library" / "objects" / sha[:2] / sha
    path.parent.mkdir(parents=True)
    path.write_bytes(b"a forged change record\n")
    path.with_suffix(".json").write_text("{}")
    with pytest.raises(ContentMismatch, match="not overwritten"):
        store.put(GOOD)
    path.with_suffix(".json").unlink()  # with its metadata lost too: the bytes are still checked first
    with pytest.raises(ContentMismatch):
        store.put(GOOD)
    assert path.read_bytes() == b"a forged change record\n"
    lib = make_library(tmp_path, None, store, require_scan=False)
    _held_then_stored(lib, store, GOOD, path.unlink)


@pytest.mark.parametrize("planted", ["same size", "other size", "multipart"])
def test_s3_store_never_passes_other_bytes_at_the_address_for_the_file(aws, tmp_path, planted):
    store = S3Store.from_env()
    data = GOOD if planted != "multipart" else os.urandom(9 * 1024 * 1024)
    sha = content_address(data)
    key = f"objects/{sha[:2]}/{sha}"
    client = boto3.client("s3")
    forged = bytes(b ^ 1 for b in data[:16]) + data[16:]
    if planted == "other size":
        client.put_object(Bucket=aws.bucket, Key=key, Body=data + b"!")
    elif planted == "same size":
        client.put_object(Bucket=aws.bucket, Key=key, Body=forged)
    else:  # a multipart ETag is no MD5: the bytes are read back
        client.upload_fileobj(io.BytesIO(forged), aws.bucket, key,
                              Config=TransferConfig(multipart_threshold=5 * 1024 * 1024,
                                                    multipart_chunksize=5 * 1024 * 1024))
        assert "-" in client.head_object(Bucket=aws.bucket, Key=key)["ETag"]
    lib = make_library(tmp_path, None, store, require_scan=False)
    _held_then_stored(lib, store, data, lambda: client.delete_object(Bucket=aws.bucket, Key=key))
    assert store.put(data).size == len(data)  # the real one is recognised as stored (no second upload)


def test_s3_store_recognises_its_own_multipart_object_as_stored(aws):
    store = S3Store.from_env()
    data = os.urandom(9 * 1024 * 1024)
    first = store.put(data)
    assert store.put(data) == first


def test_sharepoint_store_never_passes_other_bytes_at_the_address_for_the_file(sp_env, tmp_path):
    store = store_from_env()
    store.calls.backoff = 0.05
    obj = store.put(GOOD, {"filename": "cab-1042.txt"})
    item = sp_env.sandbox.store.items[obj.uri.rsplit("/", 1)[1]]
    item.content = bytes(b ^ 1 for b in GOOD[:4]) + GOOD[4:]  # replaced in place, the columns kept
    with pytest.raises(ContentMismatch, match="not overwritten"):
        store.put(GOOD)
    assert item.content != GOOD
    lib = make_library(tmp_path, None, store, require_scan=False)

    def drop():
        store.calls.run(lambda: store.drive.items.by_drive_item_id(item.id).delete(), "delete")

    _held_then_stored(lib, store, GOOD, drop)


def test_drive_evidence_is_the_stored_bytes_size_and_sniffed_type(gdrive, duckdb_warehouse, tmp_path):
    """A Google Doc is stored as its PDF export, but its row kept the Doc's listed size (not the PDF's), and
    marts.evidence showed Drive's declared mimeType: a Google Docs type for a PDF, and "application/pdf"
    for HTML with a script uploaded as invoice.pdf. S3 and SharePoint files show the type the library
    sniffed from the bytes; Drive files now do too, with the size of the bytes stored."""
    import duckdb

    from pipelines.evidence_stores import evidence_stores_source
    from sandbox.gdrive.store import DriveFile
    from tests.dbt_helpers import dbt

    sb = gdrive.sandbox.store

    def add(name: str, mime: str, content: bytes) -> str:
        return sb.add(DriveFile(sb.new_id(), name, mime, [gdrive.inbox_folder], "auditor@example.com", content)).id

    doc = add("Access review Q3", "application/vnd.google-apps.document", b"Access review Q3 approved by the CISO")
    lure = add("invoice.pdf", "application/pdf", b"<html><body><script>location='https://x.test/'</script></html>")
    lib = make_library(tmp_path, None, require_scan=False)
    duckdb_warehouse.pipeline("evidence_stores").run(evidence_stores_source(
        ledger_path=str(lib.ledger.path), drive_folders=[gdrive.inbox_folder],
        drive_credentials_file=str(gdrive.key_file), drive_api_endpoint=gdrive.api_endpoint, library=lib))
    result = dbt(duckdb_warehouse, tmp_path / "target", "build", "--select", "+int_evidence__gdrive_files",
                 "--indirect-selection", "cautious")
    assert result.returncode == 0, result.stdout[-4000:]
    with duckdb.connect(duckdb_warehouse.duckdb_path, read_only=True) as con:
        rows = {r[0]: r[1:] for r in con.execute("select evidence_id, size_bytes, sha256, content_type from "
                                                 "intermediate.int_evidence__gdrive_files").fetchall()}
    size, sha, ctype = rows[f"gdrive-file-{doc}"]
    stored = lib.store.get(sha)
    assert stored.startswith(b"%PDF") and size == len(stored) and ctype == "application/pdf"
    size, sha, ctype = rows[f"gdrive-file-{lure}"]
    assert ctype == "text/plain" and size == len(lib.store.get(sha))


@pytest.mark.parametrize("reason, outcome", [("teamDriveFileLimitExceeded", "quota_pause"),
                                             ("numChildrenInNonRootLimitExceeded", "quota_pause"),
                                             ("dailyLimitExceeded", "error_event")])
def test_a_drive_full_by_item_count_or_out_of_daily_requests_is_no_permission_task(gdrive, tmp_path, monkeypatch,
                                                                                      reason, outcome):
    """Drive answers 403 when a shared drive (or a folder) holds as many items as it allows, or the project's
    daily request quota is spent. Every 403 but a rate limit was a permission task to "share the folder as
    editor" (no grant helps) and a full store never paused. A full one now pauses the provider like a
    storage quota; a spent daily quota leaves the file pending, tried again on the next run."""
    from resources.evidence.gdrive import DriveStore
    from sandbox.gdrive import uploads
    from sandbox.gdrive.errors import DriveError

    def refuse(self, *args, **kwargs):
        raise DriveError(403, reason, "The limit for this request has been exceeded.")

    monkeypatch.setattr(uploads.Uploads, "_store_upload", refuse)
    store = DriveStore(gdrive.evidence_folder, str(gdrive.key_file), gdrive.api_endpoint)
    lib = make_library(tmp_path, None, store, require_scan=False)
    out = lib.ingest(GOOD, "cab-1042.txt", "slack")
    assert out.status == "pending" and reason in out.reason and "share folder" not in out.reason
    kinds = [a["kind"] for a in lib.ledger.rows("alerts")]
    assert kinds == [outcome]
    assert bool(lib.ledger.paused("gdrive")) is (outcome == "quota_pause")
