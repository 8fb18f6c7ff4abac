"""Round 30: hostile text the earlier hostile-name tests did not reach.

- S3 user metadata on an inbox object (``x-amz-meta-*``): bytes that are not UTF-8, RFC 2047 words S3 sends for
  non-ASCII values (one of them wrapping bytes that are not UTF-8), control characters, an RTL override, a NUL
  escape and 2 KB of it. boto3 reads it with the object; the ingest must not trip on it (it keeps none of it).
- A Drive file name of 10 KB (RTL override, control characters, CJK) stored by a library whose own store is Drive:
  the store cuts the name it keeps in appProperties to Drive's 124 bytes (which the sandbox now enforces), the ledger
  keeps ``MAX_NAME_CHARS``, and the warehouse row keeps the name whole."""

from __future__ import annotations

import base64
import uuid

import boto3

from resources.evidence.base import MAX_NAME_CHARS
from tests.evidence.library import make_library
from tests.test_evidence_drive_ingest import _drive, _drop, _run
from tests.test_evidence_drive_ingest import _rows as drive_rows
from tests.test_evidence_s3_ingest import _library, _rows, bucket, gets, s3env
from tests.test_evidence_s3_ingest import _run as s3_run

__all__ = ["bucket", "gets", "s3env"]


def _hostile_metadata() -> dict[str, str]:
    """Header values as http.client hands them to botocore (latin-1 decoded)."""
    not_utf8 = base64.b64encode(b"\xff\xfe evidence").decode()
    return {
        "raw-bytes": "caf\xe9 \xff\xfe",
        "rfc2047": "=?UTF-8?B?" + base64.b64encode("invoice\u202etxt.exe".encode()).decode() + "?=",
        "rfc2047-not-utf8": f"=?UTF-8?B?{not_utf8}?=",
        "control": "ctl\x01\x07\x1b[31mred\x7f\t",
        "nul-escape": "nul%00byte",
        "big": "M" * 1800,
    }


def _set_metadata(bucket_name: str, key: str, metadata: dict[str, str]) -> None:
    """What a non-SDK writer (or an S3-compatible store) left on the object: set on moto's key in place."""
    from sandbox.aws.s3_checks import _bucket

    stored = _bucket(bucket_name).keys[key]
    for name, value in metadata.items():
        stored.metadata[f"x-amz-meta-{name}"] = value


def test_s3_object_with_hostile_user_metadata_is_ingested(bucket, clamd, duckdb_warehouse, tmp_path, gets):
    wh = duckdb_warehouse
    lib = _library(tmp_path, clamd, bucket)
    s3 = boto3.client("s3")
    keys = {kind: f"inbox/meta-{kind}.txt" for kind in _hostile_metadata()}
    for kind, key in keys.items():
        s3.put_object(Bucket=bucket, Key=key, Body=f"Access review evidence ({kind})".encode())
        _set_metadata(bucket, key, {kind: _hostile_metadata()[kind]})
    assert s3.head_object(Bucket=bucket, Key=keys["raw-bytes"])["Metadata"] == {"raw-bytes": "caf\xe9 \xff\xfe"}
    s3_run(wh, lib, "inbox/")

    rows = {r[0]: r[1:] for r in _rows(wh, "select file_id, status, is_deleted, reason, name from "
                                           "evidence_stores.s3_files")}
    assert set(rows) == {f"s3://{bucket}/{k}" for k in keys.values()}
    assert {v[:3] for v in rows.values()} == {("stored", False, None)}
    assert {v[3] for v in rows.values()} == {k.rsplit("/", 1)[1] for k in keys.values()}
    assert sorted(gets) == sorted(keys.values())
    ledger = lib.ledger.rows("files")
    assert len(ledger) == len(keys) and {r["status"] for r in ledger} == {"stored"}
    # the library's own copies carry only its metadata, readable back through the store
    for obj in lib.store.list():
        assert obj.metadata["filename"].startswith("meta-") and "raw_bytes" not in obj.metadata

    gets[:] = []
    counts = s3_run(wh, lib, "inbox/")
    assert gets == [] and "s3_files" not in counts


def test_drive_file_with_a_10kb_name_is_stored_through_a_drive_library_store(gdrive, clamd, duckdb_warehouse,
                                                                            tmp_path):
    wh = duckdb_warehouse
    lib = make_library(tmp_path, clamd, store=_drive(gdrive))
    unit = "\u202ectl\x01\x1b[31m証拠"  # 12 characters
    name = (unit * 900)[:10_000 - 4] + ".txt"
    file_id = _drop(gdrive, name, f"Firewall review {uuid.uuid4().hex}".encode(), "text/plain")
    _run(wh, gdrive, lib)

    rows = drive_rows(wh, "select file_id, status, is_deleted, name, reason from evidence_stores.drive_files")
    assert [(r[0], r[1], r[2]) for r in rows] == [(file_id, "stored", False)]
    assert rows[0][3] == name  # storable text: the warehouse keeps it whole
    [entry] = lib.ledger.rows("files")
    assert entry["status"] == "stored" and len(entry["filename"]) == MAX_NAME_CHARS
    assert name.startswith(entry["filename"][:-1]) and entry["filename"].endswith("\u2026")
    # the Drive store kept the name in an appProperty within Drive's 124 bytes (key and value)
    [stored] = [f for f in gdrive.sandbox.store.files.values() if gdrive.evidence_folder in f.parents]
    for key, value in stored.app_properties.items():
        assert len(key.encode()) + len(value.encode()) <= 124
    assert stored.app_properties.get("filename", "").startswith("\u202ectl")
