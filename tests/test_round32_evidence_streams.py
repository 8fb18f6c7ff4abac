"""Round 32: compressed streams clamd does not read, found with the real clamd the tests run.

clamd decompresses only the first stream of a bzip2 file (``pbzip2`` writes several, and ``bz2`` reads them
all), and stops at zero padding between gzip members (``gzip`` skips the padding and reads on). The library
took both as read: a bzip2 or gzip file with EICAR in its second stream was stored "clean". Now such a file,
at the top or inside an archive, is quarantined with a reason naming the fix; xz (clamd reads every stream)
and adjacent gzip members (clamd reads them) are scanned as before."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import struct
import tarfile
import zipfile
import zlib

import pytest

from resources.evidence.containers import problem
from tests.evidence.clamav import EICAR
from tests.evidence.library import make_library

BUDGET = 1 << 30
NOTES = b"access review notes\n" * 50


def zipped(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def tarred(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


BZIP2_TWO = bz2.compress(NOTES) + bz2.compress(EICAR)
GZIP_PADDED = gzip.compress(NOTES) + b"\0" * 4 + gzip.compress(EICAR)

HIDDEN = {
    "bzip2-second-stream": (BZIP2_TWO, "more than one bzip2 stream"),
    "bzip2-after-padding": (bz2.compress(NOTES) + b"\0" * 8 + bz2.compress(EICAR), "more than one bzip2 stream"),
    "pbzip2-big-first-stream": (bz2.compress(bytes(range(256)) * 4000) + bz2.compress(EICAR),
                                "more than one bzip2 stream"),
    "gzip-member-after-padding": (GZIP_PADDED, "gzip member after zero padding"),
    "gzip-one-zero-byte": (gzip.compress(NOTES) + b"\0" + gzip.compress(EICAR), "gzip member after zero padding"),
    "bzip2-in-zip": (zipped({"logs/app.log.bz2": BZIP2_TWO}), "'logs/app.log.bz2' in the file holds more than"),
    "gzip-in-zip": (zipped({"export.csv.gz": GZIP_PADDED}), "'export.csv.gz' in the file holds a gzip member"),
    "bzip2-in-gzip": (gzip.compress(BZIP2_TWO), "more than one bzip2 stream"),
    "gzip-in-tar": (tarred({"a/b.gz": GZIP_PADDED}), "gzip member after zero padding"),
    "tar-bz2-second-stream": (bz2.compress(tarred({"ok.txt": NOTES})) + bz2.compress(tarred({"e.txt": EICAR})),
                              "more than one bzip2 stream"),
}


@pytest.mark.parametrize("name", list(HIDDEN))
def test_streams_clamd_skips_are_quarantined_not_stored_clean(tmp_path, clamd, name):
    content, said = HIDDEN[name]
    assert clamd.scan(content).clean  # the scanner's blind spot, for real (EICAR is in there)
    lib = make_library(tmp_path, clamd)
    out = lib.ingest(content, "backup.bin", "email")
    assert out.status == "quarantined", (out.status, out.reason)
    assert said in out.reason and ("compress it again" in out.reason and "send the files as a zip" in out.reason)
    assert list(lib.store.list()) == []
    assert (tmp_path / "evidence-quarantine" / out.sha256).read_bytes() == content  # kept, never lost


@pytest.mark.parametrize("content", [
    gzip.compress(NOTES) + gzip.compress(EICAR),  # adjacent members: clamd reads on
    gzip.compress(NOTES) + gzip.compress(NOTES) + gzip.compress(EICAR),
    gzip.compress(NOTES) + gzip.compress(EICAR) + b"\0" * 64,
    lzma.compress(NOTES) + lzma.compress(EICAR),  # xz: every stream, padded or not
    lzma.compress(NOTES) + b"\0" * 4 + lzma.compress(EICAR),
    bz2.compress(EICAR) + b"\0" * 8,
], ids=["gzip-2", "gzip-3", "gzip-padded-end", "xz-2", "xz-padded", "bzip2-one-padded"])
def test_streams_clamd_reads_are_still_its_verdict(tmp_path, clamd, content):
    lib = make_library(tmp_path, clamd)
    out = lib.ingest(content, "backup.bin", "email")
    assert out.status == "quarantined" and out.reason.startswith("ClamAV found"), out.reason


@pytest.mark.parametrize("content", [
    gzip.compress(NOTES), gzip.compress(NOTES) + gzip.compress(NOTES), gzip.compress(NOTES) + b"\0" * 512,
    gzip.compress(b""), bz2.compress(NOTES), bz2.compress(NOTES) + b"\0" * 16, gzip.compress(tarred({"a": NOTES})),
    lzma.compress(NOTES) + lzma.compress(NOTES),
], ids=["gz", "gz-2", "gz-padded", "gz-empty", "bz2", "bz2-padded", "tgz", "xz-2"])
def test_ordinary_compressed_files_are_stored(tmp_path, clamd, content):
    out = make_library(tmp_path, clamd).ingest(content, "notes.gz", "email")
    assert out.status == "stored", out.reason


def test_gzip_damage_is_still_refused_as_not_opening():
    whole = gzip.compress(bytes(range(256)) * 100)
    bad_crc = whole[:-8] + b"\0\0\0\0" + whole[-4:]
    for content, said in [(whole[:-10], "ends before its end marker"), (bad_crc, "incorrect data check"),
                          (whole + b"junk", "not another stream"), (whole[:10] + b"\xff" * 40, "does not open")]:
        found = problem(content, BUDGET)
        assert found is not None and not found.pending and said in found.reason, found
        assert "does not open" in found.reason and "send it again whole" in found.reason


def _bzip2_member(stream: bytes, declared: bytes) -> bytes:
    """A zip of one bzip2-compressed (method 12) member whose compressed data is ``stream``, declaring the size
    and CRC of ``declared``."""
    name, crc = b"notes.txt", zlib.crc32(declared)
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 46, 0, 12, 0, 0, crc, len(stream), len(declared), len(name), 0)
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 46, 46, 0, 12, 0, 0, crc, len(stream), len(declared),
                          len(name), 0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local) + len(name) + len(stream), 0)
    return local + name + stream + central + end


def test_a_bzip2_zip_member_with_a_second_stream_is_refused(tmp_path, clamd):
    """``zipfile`` and clamd read a bzip2 member's first stream only: a second one, inside the member's compressed
    size, was read by neither (its CRC and size declared for the first), and the zip was stored clean."""
    notes = b"notes " * 10
    hidden = _bzip2_member(bz2.compress(notes) + bz2.compress(EICAR), notes)
    assert zipfile.ZipFile(io.BytesIO(hidden)).read("notes.txt") == notes and clamd.scan(hidden).clean
    lib = make_library(tmp_path, clamd)
    out = lib.ingest(hidden, "notes.zip", "email")
    assert out.status == "quarantined" and "holds more than the 60 bytes its zip declares" in out.reason
    assert lib.ingest(_bzip2_member(bz2.compress(notes) + b"\0" * 8, notes), "padded.zip", "email").status == "stored"
    assert lib.ingest(zipped({"a.txt": notes}), "plain.zip", "email").status == "stored"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_BZIP2) as zf:
        zf.writestr("big.csv", bytes(range(256)) * 20_000)
    assert lib.ingest(buf.getvalue(), "big.zip", "email").status == "stored"
