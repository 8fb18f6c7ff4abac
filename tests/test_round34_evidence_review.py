"""Round 34 review of the evidence checks (``resources/evidence/``).

1. A fault of the machine was any ``OSError`` with an errno, but a seek of a spooled zip (over 8 MiB, on disk) to
   an offset the zip chose raises ``OSError(EINVAL)``: such a zip waited, pending, forever. Only disk full, quota,
   open files, memory and I/O errors are the machine's now; and a file pending for faults more than
   ``MAX_FAULTS`` times is quarantined.
2. A RunLengthDecode stream with no end marker was decoded to the end of the file, each such stream: 64 s for a
   4 MiB PDF of 200. It stops at its own extent now, and runs past ``MAX_RUNS`` in a file are refused.
3. A filter named by reference missed ``05 0 R`` and ``+5 0 R`` and references inside an array, and a decoy
   ``5 0 obj`` (after ``%%EOF``, in a comment, in a string) defined the filter: the xref's object counts now.
4. ``#hh`` escapes made ``/X#2FFilter#20#2FDCTDecode`` (one name) a ``/Filter /DCTDecode``, and a ``/Filter`` in a
   nested dictionary was taken for the stream's: only depth 1 counts, and two ``/Filter`` keys are refused.
5. A chain of filters was decoded only up to its first FlateDecode or RunLengthDecode (``[/Fl /RL]`` walked
   run-length bytes, an LZMA zip in them stored clean); any chain of the decoded filters is undone in order now,
   and one reaching LZWDecode (clamd decodes it, the library does not) is refused.
6. An RTF picture's ``\\pict1 `` fed its "1" into the hex (every byte after it shifted: an EICAR went unseen), and
   a nested group's text (``{\\sv 75}``, ``{\\blipuid 0}``) was taken for picture data too.
7. Each picture was a clamd scan of its own (10,000 round trips for a 100 KB RTF): identical ones are scanned once
   now, and an RTF of more than ``MAX_SHOWN`` distinct ones is refused (not concatenated: clamd types a buffer by
   its first bytes).
"""

from __future__ import annotations

import base64
import errno
import io
import struct
import time
import zipfile
import zlib

import pytest

from resources.evidence import containers, library
from resources.evidence.containers import problem
from tests.evidence.clamav import EICAR
from tests.evidence.library import make_library
from tests.test_round32_evidence_carriers import LZMA_ZIP, zipped
from tests.test_round34_evidence_pdf_filters import pdf, run_length


def negative_offset_zip(size: int = 9 * 1024 * 1024) -> bytes:
    """A zip (over the 8 MiB spool, so on disk) whose directory says its files start 100 bytes before byte 0."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("minutes.txt", b"m" * size)
    data = bytearray(buf.getvalue())
    end = data.rindex(b"PK\x05\x06")
    offset = struct.unpack_from("<I", data, end + 16)[0]
    struct.pack_into("<I", data, end + 16, offset + 100)  # the central directory 100 bytes "later"
    return bytes(data)


def test_a_zip_seeking_before_its_start_is_corrupt_not_a_machine_fault():
    outer = zipped({"bundle.zip": negative_offset_zip()}, method=zipfile.ZIP_STORED)
    found = problem(outer, 1 << 31)
    assert found is not None and not found.pending, found
    assert "does not open" in found.reason and "retried" not in found.reason, found.reason


def test_only_the_machines_errnos_are_its_faults():
    assert containers.machine_fault(OSError(errno.ENOSPC, "full")) and containers.machine_fault(MemoryError())
    for code in (errno.EINVAL, errno.ESPIPE, errno.EFBIG):
        assert not containers.machine_fault(OSError(code, "from the file")), code


def test_a_file_that_faults_every_time_is_quarantined_at_last(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(containers.carriers, "walk", full)
    lib = make_library(tmp_path, None, require_scan=False)
    content = b"{\\rtf1 minutes\\par}"
    assert lib.ingest(content, "minutes.rtf", "email").status == "pending"
    for _ in range(library.MAX_FAULTS - 1):
        assert [o.status for o in lib.retry_pending()] == ["pending"]
    (last,) = lib.retry_pending()
    assert last.status == "quarantined" and f"failed so {library.MAX_FAULTS} times" in last.reason, last.reason
    assert "fix the machine" in last.reason and lib.retry_pending() == []


def run_length_pdf(streams: int, runs: int) -> bytes:
    """``streams`` RunLengthDecode streams of ``runs`` one-byte literal runs each, none with an end marker."""
    out = b"%PDF-1.4\n"
    for n in range(1, streams + 1):
        out += (b"%d 0 obj\n<< /Length %d /Filter /RunLengthDecode >>\nstream\n" % (n, 2 * runs) + b"\x00A" * runs
                + b"\nendstream\nendobj\n")
    return out + b"%%EOF\n"


def test_a_run_length_stream_without_an_end_stops_at_its_own():
    content = run_length_pdf(100, 10_000)  # 2 MB: 12.8 s before, each stream decoded to the end of the file
    started = time.monotonic()
    assert problem(content, 1 << 31) is None
    assert time.monotonic() - started < 2.5
    hidden = pdf(LZMA_ZIP, filters=b"/RL", encode=lambda d: run_length(d)[:-1])  # no end marker: still found
    found = problem(hidden, 1 << 31)
    assert found is not None and "is compressed with LZMA" in found.reason, found


def test_runs_past_the_step_budget_are_refused(monkeypatch):
    monkeypatch.setattr("resources.evidence.pdf_filters.MAX_RUNS", 5_000)
    found = problem(run_length_pdf(3, 2_000), 1 << 31)
    assert found is not None and not found.pending and "more than 5000 runs" in found.reason, found


def hexed(data: bytes) -> bytes:
    return data.hex().encode() + b">"


CHAINS = {
    "flate-then-rl": (b"[/FlateDecode /RunLengthDecode]", lambda d: zlib.compress(run_length(d))),
    "rl-then-flate": (b"[/RL /Fl]", lambda d: run_length(zlib.compress(d))),
    "hex-then-rl": (b"[/AHx /RL]", lambda d: hexed(run_length(d))),
    "flate-twice": (b"[/Fl /Fl]", lambda d: zlib.compress(zlib.compress(d))),
    "a85-flate-rl": (b"[/A85 /Fl /RL]", lambda d: base64.a85encode(zlib.compress(run_length(d)), adobe=True)[2:]),
}


@pytest.mark.parametrize("name", list(CHAINS))
def test_a_chain_of_filters_is_undone_in_order(tmp_path, clamd, name):
    filters, encode = CHAINS[name]
    content = pdf(LZMA_ZIP, filters=filters, encode=encode)
    assert clamd.scan(content).clean  # the scanner's blind spot, for real
    out = make_library(tmp_path, clamd).ingest(content, "report.pdf", "email")
    assert out.status == "quarantined" and "is compressed with LZMA" in out.reason, (out.status, out.reason)
    assert problem(pdf(b"BT (Q3 minutes) Tj ET", filters=filters, encode=encode), 1 << 31) is None


def test_a_chain_reaching_lzw_is_refused():
    for filters in (b"/LZWDecode", b"[/Fl /LZW]", b"[/AHx /LZWDecode]"):
        found = problem(pdf(b"BT (Q3) Tj ET", filters=filters, encode=lambda d: d), 1 << 31)
        assert found is not None and not found.pending and "LZWDecode" in found.reason, (filters, found)
    assert problem(pdf(b"jpeg", filters=b"[/DCTDecode /LZW]", encode=lambda d: d), 1 << 31) is None  # clamd stops


REFERENCED = {
    "leading-zero": pdf(LZMA_ZIP, filters=b"05 0 R", extra=b"/FlateDecode"),
    "plus-sign": pdf(LZMA_ZIP, filters=b"+5 0 R", extra=b"/FlateDecode"),
    "in-an-array": pdf(LZMA_ZIP, filters=b"[5 0 R]", extra=b"/FlateDecode"),
    "decoy-after-eof": pdf(LZMA_ZIP, filters=b"5 0 R", extra=b"/FlateDecode") + b"5 0 obj\n/DCTDecode\nendobj\n",
    "decoy-in-a-comment": pdf(LZMA_ZIP, filters=b"5 0 R", extra=b"/FlateDecode\n% 5 0 obj /DCTDecode\n"),
    "decoy-in-a-string": pdf(LZMA_ZIP, filters=b"5 0 R", extra=b"/FlateDecode\n(5 0 obj /DCTDecode)"),
    "forged-key": pdf(LZMA_ZIP, key=b"/X#2FFilter#20#2FDCTDecode /Filter"),
    "nested-filter": pdf(LZMA_ZIP, key=b"/DecodeParms << /Filter /DCTDecode >> /Filter"),
}


@pytest.mark.parametrize("name", list(REFERENCED))
def test_a_filter_is_read_as_a_reader_reads_it(name):
    found = problem(REFERENCED[name], 1 << 31)
    assert found is not None and not found.pending and "is compressed with LZMA" in found.reason, found


def test_the_decoy_after_eof_is_the_scanners_blind_spot(tmp_path, clamd):
    content = REFERENCED["decoy-after-eof"]
    assert clamd.scan(content).clean
    out = make_library(tmp_path, clamd).ingest(content, "report.pdf", "email")
    assert out.status == "quarantined" and "is compressed with LZMA" in out.reason, (out.status, out.reason)


def test_two_filter_keys_are_refused_and_only_filter_objects_are_indexed():
    found = problem(pdf(b"BT (Q3) Tj ET", key=b"/Filter /DCTDecode /Filter"), 1 << 31)
    assert found is not None and not found.pending and "names its /Filter twice" in found.reason, found
    from resources.evidence.pdf_objects import Objects

    arrays = b"%PDF-1.4\n" + b"".join(b"%d 0 obj\n[0 0 612 792]\nendobj\n" % n for n in range(1, 5001))
    objects = Objects(arrays + b"9 0 obj\n[/Fl /RL]\nendobj\n%%EOF\n")
    assert objects.names(b"9 0 R") == [b"Fl", b"RL"] and len(objects.index) == 1


RTF_HEAD = b"{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Arial;}}\\f0 Access review Q3\\par "
PICTURES = {
    "a-picture-with-a-parameter": b"{\\pict1 " + EICAR.hex().encode() + b"}",
    "nested-groups-in-a-picture": (b"{\\pict{\\picprop{\\sp{\\sn a}{\\sv 5}}}\\pngblip{\\blipuid 0}"
                                   + EICAR.hex().encode() + b"}"),
    "a-data-store-with-a-parameter": b"{\\*\\datastore1 " + EICAR.hex().encode() + b"}",
}


@pytest.mark.parametrize("name", list(PICTURES))
def test_a_picture_is_read_from_its_own_hex(tmp_path, clamd, name):
    content = RTF_HEAD + PICTURES[name] + b"\\par}"
    assert clamd.scan(content).clean  # the scanner's blind spot, for real
    out = make_library(tmp_path, clamd).ingest(content, "policy.rtf", "email")
    assert out.status == "quarantined" and "ClamAV found" in out.reason, (out.status, out.reason)


class Counting:
    def __init__(self):
        self.calls = 0

    def scan(self, content: bytes):
        from resources.evidence.scan import ScanResult

        self.calls += 1
        return ScanResult(clean=True)


def test_pictures_are_scanned_once_each_and_capped(tmp_path, monkeypatch):
    monkeypatch.setattr("resources.evidence.carriers.MAX_SHOWN", 1_000)  # 5,000 since the second review
    scanner = Counting()
    same = RTF_HEAD + b"{\\pict\\pngblip 89504e470d0a1a0a}" * 3000 + b"\\par}"
    out = make_library(tmp_path / "same", scanner).ingest(same, "policy.rtf", "email")
    assert out.status == "stored" and scanner.calls <= 2, (out.status, out.reason, scanner.calls)
    many = RTF_HEAD + b"".join(b"{\\pict\\pngblip %08x}" % n for n in range(1500)) + b"\\par}"
    out = make_library(tmp_path / "many", scanner).ingest(many, "policy.rtf", "email")
    assert out.status == "quarantined" and "more than 1000 different objects" in out.reason, (out.status, out.reason)
    assert scanner.calls <= 3
