"""Round 19 of attacks on the Evidence Library: archive data ``zipfile`` would not read but clamd does
(a zip appended to a PDF or text, a zip before another zip, a local entry the central directory does not
list, a pre-POSIX tar), member names that pushed the reason's explanation past the ledger's 500
characters, hostile member names and tar links/devices (nothing is extracted, so they are not refused),
and a local disk failing between the metadata and the bytes. Real clamd (``clamd`` fixture) where
the scan matters."""

from __future__ import annotations

import bz2
import errno
import gzip
import io
import lzma
import struct
import tarfile
import zipfile
import zlib

import pytest

import resources.evidence.local as local
from resources.evidence.containers import problem
from tests.evidence.clamav import EICAR
from tests.evidence.files import make_pdf
from tests.evidence.library import make_library
from tests.test_evidence_attacks import nested, tarred, zipped

BUDGET = 10**9
DEEP = nested(20, zipped({"eicar.txt": EICAR}))  # past clamd's MaxRecursion (17): clamd says OK


def v7_tar(members: dict[str, bytes]) -> bytes:
    """A pre-POSIX tar: no ``ustar`` magic, only a header checksum (``tarfile`` and clamd read it)."""
    raw = bytearray(tarred(members))
    raw[257:265] = b"\0" * 8
    raw[148:156] = b" " * 8
    raw[148:156] = b"%06o\0 " % sum(raw[:512])
    return bytes(raw)


def streamed_zip(members: dict[str, bytes]) -> bytes:
    """A zip written to a stream that cannot seek: each member followed by a data descriptor."""

    class Unseekable(io.BytesIO):
        def seekable(self) -> bool:
            return False

        def seek(self, *args):
            raise io.UnsupportedOperation

        def tell(self) -> int:
            return len(self.getbuffer())

    out = Unseekable()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            with zf.open(name, "w") as fh:
                fh.write(data)
    return out.getvalue()


def lying(data: bytes, declared: int, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A one-member zip declaring ``declared`` bytes (and the CRC of that much) for ``data``."""
    raw = bytearray(zipped({"notes.txt": data}, method))
    crc, cd = zlib.crc32(data[:declared]), raw.index(b"PK\x01\x02")
    struct.pack_into("<I", raw, 14, crc)
    struct.pack_into("<I", raw, 22, declared)
    struct.pack_into("<I", raw, cd + 16, crc)
    struct.pack_into("<I", raw, cd + 24, declared)
    return bytes(raw)


# -- a zip appended to something else -----------------------------------------------------------------


def test_a_zip_appended_to_a_pdf_or_text_is_checked_not_stored_as_scanned(tmp_path, clamd):
    pdf = make_pdf(["Access review Q3"])
    lib = make_library(tmp_path, clamd)
    for n, prefix in enumerate([pdf, b"evidence notes\n" * 100]):
        polyglot = prefix + DEEP
        assert clamd.scan(polyglot).clean  # clamd reads the appended zip, and stops at its recursion
        out = lib.ingest(polyglot, f"report{n}.pdf", "email")
        assert out.status == "quarantined" and "nested more than 8 deep" in out.reason
    bomb = pdf + zipped({"z.bin": b"\0" * 150_000_000 + EICAR})
    assert clamd.scan(bomb).clean  # past clamd's MaxFileSize
    out = lib.ingest(bomb, "slides.pdf", "email")
    assert out.status == "quarantined" and "zip bomb" in out.reason
    fine = lib.ingest(pdf + zipped({"notes.txt": b"reviewed by J. Doe"}), "signed.pdf", "email")
    assert fine.status == "stored"  # an appended zip that checks out is no reason to refuse the PDF
    assert [o.sha256 for o in lib.store.list()] == [fine.sha256]


def test_a_stray_end_record_signature_is_not_a_zip_but_junk_after_an_appended_zip_does_not_hide_it():
    stray = bytes(range(256)) * 200 + b"PK\x05\x06" + b"\x07" * 18 + bytes(range(256)) * 4
    assert problem(stray, BUDGET) is None and problem(zipped({"photo.bin": stray}), BUDGET) is None
    junk = problem(make_pdf(["Policy"]) + DEEP + b"%%EOF trailing junk\n", BUDGET)
    assert junk is not None and "nested more than 8 deep" in junk.reason


def test_a_file_with_a_zip_appended_inside_an_archive_is_refused():
    inner = make_pdf(["Policy"]) + zipped({"eicar.txt": EICAR})
    found = problem(zipped({"policy.pdf": inner}), BUDGET)
    assert found is not None and not found.pending
    assert "'policy.pdf' in the file is a file with a zip archive appended" in found.reason
    tail_only = problem(tarred({"a.txt": b"x" * 3_000_000 + zipped({"b.txt": b"y"})}), BUDGET)
    assert tail_only is not None and "zip archive appended" in tail_only.reason  # found past the 8 KiB head
    assert problem(zipped({"policy.pdf": make_pdf(["Policy"])}), BUDGET) is None


# -- zip data its central directory does not list -------------------------------------------------------


def test_a_zip_hiding_an_archive_before_or_between_its_listed_members_is_refused(tmp_path, clamd):
    benign = zipped({"policy.txt": b"access control policy v3"})
    hidden_entry = DEEP[:DEEP.index(b"PK\x01\x02")] + benign  # local entries, no directory for them
    lib = make_library(tmp_path, clamd)
    for n, content in enumerate([DEEP + benign, hidden_entry]):
        assert clamd.scan(content).clean
        out = lib.ingest(content, f"bundle{n}.zip", "email")
        assert out.status == "quarantined" and "its directory does not list" in out.reason, out.reason
    assert list(lib.store.list()) == []
    # a zip whose members carry data descriptors (written unseekable) has no unlisted data
    assert problem(streamed_zip({"a.txt": b"access review " * 1000, "b.txt": b"ok"}), BUDGET) is None
    assert problem(zipped({"c.txt": b"a signature PK\x03\x04 in a member is its data, not a hidden entry"},
                          zipfile.ZIP_STORED), BUDGET) is None


def test_a_member_longer_than_its_declared_size_is_refused(tmp_path, clamd):
    small = lying(b"benign notes" + EICAR, 12)
    with zipfile.ZipFile(io.BytesIO(small)) as zf:
        assert zf.read("notes.txt") == b"benign notes"  # zipfile stops at the declared size, CRC and all
    assert not clamd.scan(small).clean  # clamd reads on, past it
    bomb = lying(b"benign notes" + b"\0" * 150_000_000 + EICAR, 12)
    assert clamd.scan(bomb).clean  # ... within its own limits
    lib = make_library(tmp_path, clamd)
    out = lib.ingest(bomb, "notes.zip", "email")
    assert out.status == "quarantined" and "holds more than the 12 bytes its zip declares" in out.reason
    stored = problem(lying(b"benign notes" + EICAR, 12, zipfile.ZIP_STORED), BUDGET)
    assert stored is not None and "its zip declares" in stored.reason
    assert lib.ingest(zipped({"notes.txt": b"benign notes" * 1000}), "ok.zip", "email").status == "stored"


def test_a_pre_posix_tar_is_opened_like_any_tar(tmp_path, clamd):
    deep = v7_tar({"deep.zip": DEEP})
    with tarfile.open(fileobj=io.BytesIO(deep)) as tf:
        assert tf.getnames() == ["deep.zip"]
    assert clamd.scan(deep).clean
    lib = make_library(tmp_path, clamd)
    out = lib.ingest(deep, "backup.tar", "email")
    assert out.status == "quarantined" and "nested more than 8 deep" in out.reason
    fine = lib.ingest(v7_tar({"notes.txt": b"quarterly access review"}), "notes.tar", "email")
    assert fine.status == "stored"
    assert problem(b"not a tar header" * 64, BUDGET) is None  # 1 KiB of text is not taken for a tar


def test_data_after_a_tars_end_is_refused_its_zero_padding_is_not(tmp_path, clamd):
    tar = tarred({"notes.txt": b"quarterly access review"})  # 10 KiB: header, data, end blocks, padding
    padded = tar[:1536] + DEEP + tar[1536 + len(DEEP):]  # a zip over the end-of-archive padding
    lib = make_library(tmp_path, clamd)
    for n, content in enumerate([tar + DEEP, gzip.compress(tar + DEEP), padded]):
        assert clamd.scan(content).clean
        out = lib.ingest(content, f"backup{n}.tar", "email")
        assert out.status == "quarantined" and "data after the end of its tar archive" in out.reason, out.reason
    big = tarred({"a.bin": bytes(range(256)) * 40_000, "b.txt": b"x"})  # past tarfile's 10 KiB buffer
    assert problem(big + b"\0" * 20_000, BUDGET) is None
    assert problem(big + b"\0" * 20_000 + b"!", BUDGET) is not None
    assert lib.ingest(gzip.compress(tar), "notes.tgz", "email").status == "stored"


@pytest.mark.parametrize("compress", [bz2.compress, lzma.compress])
def test_data_after_a_bzip2_or_xz_stream_is_refused_concatenated_streams_are_not(compress):
    found = problem(compress(b"notes") + DEEP, BUDGET)  # BZ2File / LZMAFile ignore what follows
    assert found is not None and "data after the end of its compressed stream" in found.reason
    joined = problem(compress(b"a" * 100_000) + compress(b"b") + b"\0" * 8, BUDGET)
    if compress is bz2.compress:  # clamd reads a bzip2 file's first stream only (round 32)
        assert joined is not None and "more than one bzip2 stream" in joined.reason
    else:
        assert joined is None
    cut = problem(compress(bytes(range(256)) * 400)[:-8], BUDGET)
    assert cut is not None and "does not open" in cut.reason


# -- names ---------------------------------------------------------------------------------------------


def test_a_long_member_name_leaves_the_reason_its_explanation(tmp_path, clamd):
    name = "payroll-" + "a" * 1000 + ".xlsx"
    lib = make_library(tmp_path, clamd)
    out = lib.ingest(zipped({name: b"PK secret" * 10}, encrypted=True), "payroll.zip", "email")
    assert out.status == "quarantined" and out.reason.endswith("is encrypted: a virus scanner cannot read it; "
                                                               "send it unencrypted")
    assert "'payroll-aaa" in out.reason and "a.xlsx' in the file" in out.reason
    deep = DEEP
    for level in range(3):
        deep = zipped({f"{level}-" + "n" * 300 + ".zip": deep})
    found = problem(deep, BUDGET)
    assert found is not None and len(found.reason) < 500 and "send the innermost files instead" in found.reason


def test_hostile_member_names_and_tar_links_are_not_extracted_so_not_refused(tmp_path, clamd):
    """The library reads members, never writes them out: ``../``, absolute, NUL, normalisation twins,
    links and devices cannot reach the disk; the scan and the checks still see every file."""
    names = {"../../etc/cron.d/x": b"1", "/abs/path.txt": b"2", "nul\x00.txt": b"3", "caf\u00e9.txt": b"4",
             "cafe\u0301.txt": b"5", "\u202etxt.exe": b"6", "x" * 400: b"7"}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, typ in (("ln", tarfile.SYMTYPE), ("hl", tarfile.LNKTYPE), ("dev", tarfile.CHRTYPE),
                          ("fifo", tarfile.FIFOTYPE)):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = typ, "/etc/shadow"
            tf.addfile(info)
    lib = make_library(tmp_path, clamd)
    for n, content in enumerate([zipped(names), buf.getvalue()]):
        assert lib.ingest(content, f"odd{n}.zip", "email").status == "stored"
    assert not (tmp_path / "etc").exists() and not list(tmp_path.rglob("cron.d"))
    # EICAR behind a misleading extension and a traversal name is still found by clamd
    out = lib.ingest(zipped({"../../photo.png": EICAR}), "holiday.jpg", "email")
    assert out.status == "quarantined" and out.reason.startswith("ClamAV found")
    assert [a["kind"] for a in lib.ledger.rows("alerts")] == ["security_alert"]


# -- the local store failing between the metadata and the bytes ------------------------------------------


@pytest.mark.parametrize("error, kind", [(OSError(errno.EIO, "Input/output error"), "error_event"),
                                         (PermissionError(errno.EACCES, "Permission denied"), "permission_task")])
def test_a_local_disk_failing_mid_write_leaves_the_file_pending_then_stored_whole(tmp_path, monkeypatch, error,
                                                                                  kind):
    lib = make_library(tmp_path, None, require_scan=False)
    real = local.atomic_write
    fail = {"on": True}

    def flaky(path, data):
        if fail["on"] and path.suffix != ".json":  # the metadata is written, the bytes fail
            raise error
        return real(path, data)

    monkeypatch.setattr(local, "atomic_write", flaky)
    out = lib.ingest(b"access review 2026-Q3", "review.txt", "email")
    assert out.status == "pending" and "evidence folder" in out.reason
    assert lib.store.head(out.sha256) is None and list(lib.store.list()) == []  # no object without its bytes
    assert [r["status"] for r in lib.ledger.rows("files")] == ["pending"]
    assert [a["kind"] for a in lib.ledger.rows("alerts")] == [kind]
    fail["on"] = False
    [again] = lib.retry_pending()
    assert again.status == "stored"
    assert lib.store.head(out.sha256).metadata["filename"] == "review.txt"
    assert lib.store.get(out.sha256) == b"access review 2026-Q3"


def test_an_object_whose_metadata_was_lost_gets_it_on_the_next_put(tmp_path):
    store = local.LocalStore(tmp_path / "library")
    first = store.put(b"evidence", {"filename": "a.txt"})
    (tmp_path / "library" / "objects" / first.sha256[:2] / f"{first.sha256}.json").unlink()
    assert store.put(b"evidence", {"filename": "a.txt"}).metadata["filename"] == "a.txt"
