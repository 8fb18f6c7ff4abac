"""Round 21 of the Evidence Library: false positives of round 20's embedded-zip rule. An OLE2 compound file
(an Outlook .msg with Office attachments, a legacy .doc/.xls with embedded OOXML objects, an
``oleObject*.bin`` inside a .docx) stores embedded .docx/.xlsx bytes as they are in its streams: it is no
polyglot and is stored, while each embedded zip is still walked (a bomb refused) and clamd still finds a
virus in one. A PDF with zips inside is still refused. Real clamd (``clamd`` fixture)."""

from __future__ import annotations

import random
import struct

from resources.evidence.containers import problem
from resources.evidence.layout import ole2, zips_in
from resources.evidence.library import BLOCKED_TYPES
from tests.evidence.clamav import EICAR
from tests.evidence.files import make_pdf
from tests.test_evidence_attacks import zipped

BUDGET = 10**9
END, FREE, FATSECT = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
TRAILER = b"%" + b"A" * 100_000 + b"\n%%EOF\n"


def ole(streams: dict[str, bytes]) -> bytes:
    """A minimal valid OLE2 compound file (v3, 512-byte sectors, one FAT sector, no mini stream: each
    stream is at least 4096 bytes) holding ``streams`` at its root, each in contiguous sectors."""
    assert 1 <= len(streams) <= 3 and all(len(d) >= 4096 for d in streams.values())
    fat, data, entries = [FATSECT, END], b"", []
    for name, content in streams.items():
        first, count = 2 + len(data) // 512, -(-len(content) // 512)
        fat += [first + i + 1 for i in range(count - 1)] + [END]
        data += content.ljust(count * 512, b"\0")
        entries.append((name, 2, first, len(content)))
    assert len(fat) <= 128
    fat_sector = b"".join(struct.pack("<I", v) for v in fat + [FREE] * (128 - len(fat)))

    def entry(name: str, kind: int, start: int, size: int, right: int, child: int) -> bytes:
        raw = (name + "\0").encode("utf-16-le")
        return (raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), kind, 1)
                + struct.pack("<III", FREE, right, child) + b"\0" * 16 + b"\0" * 4 + b"\0" * 16
                + struct.pack("<IQ", start, size))

    directory = entry("Root Entry", 5, END, 0, FREE, 1)
    for n, (name, kind, start, size) in enumerate(entries, start=1):
        directory += entry(name, kind, start, size, n + 1 if n < len(entries) else FREE, FREE)
    directory = directory.ljust(512, b"\0")
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
              + b"\0" * 6 + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, END, 0, END, 0)
              + struct.pack("<I", 0) + struct.pack("<I", FREE) * 108)
    assert len(header) == 512
    return header + fat_sector + directory + data


def docx(text: bytes, extra: dict[str, bytes] | None = None) -> bytes:
    """A small .docx-shaped zip, made over 4096 bytes by an incompressible image (as a real one is)."""
    image = random.Random(len(text)).randbytes(5000)
    return zipped({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document>" + text + b"</w:document>",
                   "word/media/image1.png": image, **(extra or {})})


def test_an_ole2_file_with_two_docx_inside_is_stored(tmp_path, clamd):
    from tests.evidence.library import make_library

    msg = ole({"__substg1.0_37010102": docx(b"Access review Q3"), "__substg1.0_37010103": docx(b"Sign-off")})
    assert ole2(msg) and len(zips_in(msg)) == 2
    assert problem(msg, BUDGET) is None
    out = make_library(tmp_path, clamd).ingest(msg, "review.msg", "email")
    assert out.status == "stored", out.reason
    # the same file inside an archive is no polyglot either
    assert problem(zipped({"mail/review.msg": msg}), BUDGET) is None


def test_a_docx_with_an_ole_embedding_wrapping_a_zip_is_stored(tmp_path, clamd):
    from tests.evidence.library import make_library

    embedded = ole({"Package": docx(b"budget 2026", {"xl/workbook.xml": b"<workbook/>"})})
    outer = docx(b"see the embedded sheet", {"word/embeddings/oleObject1.bin": embedded})
    assert problem(outer, BUDGET) is None
    out = make_library(tmp_path, clamd).ingest(outer, "policy.docx", "email")
    assert out.status == "stored", out.reason


def test_a_pdf_with_two_zips_inside_is_still_refused():
    pdf = make_pdf(["Policy"])
    two = pdf[:200] + docx(b"one") + b"filler" * 10 + docx(b"two") + pdf[200:] + TRAILER
    found = problem(two, BUDGET)
    assert found is not None and not found.pending and "its directory does not list" in found.reason
    # OLE2 magic alone (no valid header) is not an OLE2 file: still the polyglot rule
    fake = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600 + docx(b"one") + docx(b"two") + TRAILER
    assert not ole2(fake)
    found = problem(fake, BUDGET)
    assert found is not None and "its directory does not list" in found.reason


def test_an_ole2_file_still_has_its_embedded_zips_checked(tmp_path, clamd):
    from tests.evidence.library import make_library

    lib = make_library(tmp_path, clamd)
    infected = ole({"Package": docx(EICAR * 3), "Other": docx(b"fine")})
    assert EICAR not in infected  # deflated: only a reader of the OLE2 and the zip finds it
    out = lib.ingest(infected, "infected.doc", "email")
    assert out.status == "quarantined", out.reason
    assert out.reason.startswith("ClamAV found"), out.reason
    # what clamd reads within its limits only is still refused here: a bomb in an embedded zip
    bomb = ole({"Package": docx(b"x", {"z.bin": b"\0" * 20_000_000})})  # 20 MB from ~25 KB (floor 10 MiB)
    found = problem(bomb, BUDGET, ratio_floor=10 * 1024 * 1024)
    assert found is not None and "zip bomb" in found.reason and "of the file" in found.reason, found
    exe = ole({"Package": docx(b"x", {"setup.exe": b"MZ\x90\x00\x03" + b"\0" * 300})})
    found = problem(exe, BUDGET, blocked_types=BLOCKED_TYPES)
    assert found is not None and "not accepted as evidence" in found.reason, found
    assert list(lib.store.list()) == []
