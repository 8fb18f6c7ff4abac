"""Round 32: archive formats clamd unpacks that the library neither opened nor refused (``formats.py``).

A cpio archive holding a bzip2 file with EICAR in its second stream (clamd reads the first only) came back OK
from the real clamd and was stored as an ordinary binary file. cpio, ARJ, LHA, disc images, XAR, CHM, TNEF,
SZDD/KWAJ, EGG, ALZ, BinHex and DMG are now quarantined as 7z or RAR are, with the fix; files that only start
like one (a CSV beginning ``070701``, two bytes of ARJ's magic) are not."""

from __future__ import annotations

import bz2
import gzip
import io
import zipfile

import pytest

from resources.evidence.containers import kind, problem
from tests.evidence.clamav import EICAR
from tests.evidence.library import make_library

BUDGET = 1 << 30
TWO_STREAMS = bz2.compress(b"notes") + bz2.compress(EICAR)


def _pad(data: bytes, to: int) -> bytes:
    return data + b"\0" * (-len(data) % to)


def cpio_newc(members: dict[str, bytes], magic: bytes = b"070701") -> bytes:
    out = b""
    for name, data in [*members.items(), ("TRAILER!!!", b"")]:
        raw = name.encode() + b"\0"
        fields = [1, 0o100644 if data else 0, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(raw), 0]
        out = _pad(out + magic + b"".join(b"%08X" % v for v in fields) + raw, 4)
        out = _pad(out + data, 4)
    return _pad(out, 512)


def cpio_odc(name: str, data: bytes) -> bytes:
    raw = name.encode() + b"\0"
    fields = b"%06o%06o%06o%06o%06o%06o%06o%011o%06o%011o" % (0, 1, 0o100644, 0, 0, 1, 0, 0, len(raw), len(data))
    return b"070707" + fields + raw + data


def cpio_binary(name: str, data: bytes) -> bytes:
    raw = name.encode() + b"\0"
    words = [0o070707, 0, 1, 0o100644, 0, 0, 1, 0, 0, 0, len(raw), len(data) >> 16, len(data) & 0xFFFF]
    return _pad(b"".join(w.to_bytes(2, "little") for w in words) + raw, 2) + data


def zipped(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize("content", [
    cpio_newc({"logs/app.log.bz2": TWO_STREAMS}),
    cpio_newc({"a.gz": gzip.compress(b"notes") + b"\0" * 4 + gzip.compress(EICAR)}, b"070702"),
    cpio_odc("logs/app.log.bz2", TWO_STREAMS),
    cpio_binary("logs/app.log.bz2", TWO_STREAMS),
], ids=["newc", "crc", "odc", "binary"])
def test_a_cpio_archive_clamd_reads_blind_is_quarantined(tmp_path, clamd, content):
    assert clamd.scan(content).clean  # EICAR is in there, unread
    lib = make_library(tmp_path, clamd)
    out = lib.ingest(content, "backup.cpio", "email")
    assert out.status == "quarantined" and "is a cpio archive, which the library cannot open" in out.reason
    assert "send the files as a zip or tar, or each on its own" in out.reason
    assert list(lib.store.list()) == []
    nested = lib.ingest(zipped({"backup.cpio": content}), "backup.zip", "email")
    assert nested.status == "quarantined" and "'backup.cpio' in the file is a cpio archive" in nested.reason


def _iso() -> bytes:
    image = bytearray(0x9000)
    image[0x8000:0x8007] = b"\x01CD001\x01"
    return bytes(image)


@pytest.mark.parametrize(("content", "name"), [
    (b"\x60\xea" + (30).to_bytes(2, "little") + b"\x1e\x0b\x01\x02\x00\x00\x02" + b"\0" * 40, "ARJ"),
    (b"\x25\x00-lh5-" + b"\0" * 40, "LHA/LZH"),
    (_iso(), "ISO 9660 / UDF disc image"),
    (b"xar!\x00\x1c\x00\x01" + b"\0" * 40, "XAR"),
    (b"ITSF\x03\x00\x00\x00" + b"\0" * 40, "CHM"),
    (b"\x78\x9f\x3e\x22\x01\x00" + b"\0" * 40, "TNEF (winmail.dat)"),
    (b"SZDD\x88\xf0\x27\x33A\0\0\0\0" + b"\0" * 40, "SZDD"),
    (b"EGGA\x00\x01" + b"\0" * 40, "EGG"),
    (b"ALZ\x01" + b"\0" * 40, "ALZ"),
    (b"(This file must be converted with BinHex 4.0)\r\n:" + b"!" * 64, "BinHex"),
    (b"\0" * 4096 + b"koly\x00\x00\x00\x04" + b"\0" * 504, "DMG disk image"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_the_other_formats_clamd_unpacks_are_named_and_refused(content, name):
    assert kind(content) == name
    found = problem(content, BUDGET)
    assert found is not None and not found.pending and f"is a {name} archive" in found.reason


@pytest.mark.parametrize("content", [
    b"070701,2024-07-07,access review\n070702,2024-07-08,backup\n",
    b"070707 is our ticket prefix\n",
    b"\x60\xea" + b"\xff\xff" + b"\0" * 40,  # two bytes of ARJ, an impossible header size
    b"\xc7\x71" + b"\x01" * 100,  # two bytes of binary cpio, no name where it would be
    b"ITSF is the vendor's code\n",
    b"%PDF-1.4\n" + b"\0" * 0x9000,  # a big PDF: no volume descriptor at 0x8001
], ids=["csv", "text", "arj-bytes", "cpio-bytes", "itsf-text", "pdf"])
def test_files_that_only_start_like_one_are_not_refused(tmp_path, clamd, content):
    assert kind(content) is None
    out = make_library(tmp_path, clamd).ingest(content, "notes.txt", "email")
    assert out.status == "stored", out.reason
