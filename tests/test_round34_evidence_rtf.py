"""Round 34: what an RTF carries as hex outside ``\\objdata`` (``resources/evidence/rtf.py``).

Word decodes a picture's hex (``{\\pict ... <hex>}``) and a ``{\\*\\datastore <hex>}`` (an OLE2 store of form
data) into bytes as it does an object's; clamd reads the hex as text and answers OK for an EICAR in them (checked
first, for each case, against the tests' real clamd), and round 33 decoded ``\\objdata`` only, so such an RTF
was stored clean. A ``\\binN`` outside objects whose N runs past the end of the file made the checker skip the
rest of it unread (an object after it was never decoded)."""

from __future__ import annotations

import time

import pytest

from resources.evidence.containers import problem
from tests.evidence.clamav import EICAR
from tests.evidence.library import make_library
from tests.test_round32_evidence_carriers import LZMA_ZIP
from tests.test_round33_evidence_rtf import VBS, ole1, package, rtf

HEAD = b"{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Arial;}}\\f0 Access review Q3\\par "


def hexed(data: bytes, width: int = 64) -> bytes:
    h = data.hex().encode()
    return b"\r\n".join(h[i:i + width] for i in range(0, len(h), width))


def picture(data: bytes, shape: bool = False) -> bytes:
    pict = (b"{\\pict{\\*\\picprop\\shplid1025{\\sp{\\sn shapeType}{\\sv 75}}}\\picscalex100\\picw1\\pich1"
            b"\\pngblip\\bliptag-1{\\*\\blipuid 0a0b0c}" + hexed(data) + b"}")
    return HEAD + (b"{\\*\\shppict" + pict + b"}" if shape else pict) + b"\\par}"


def datastore(data: bytes) -> bytes:
    return HEAD + b"\\par}{\\*\\datastore " + hexed(data) + b"}}"


HIDDEN = {
    "eicar-in-a-picture": (picture(EICAR), "ClamAV found"),
    "eicar-in-a-shape-picture": (picture(EICAR, shape=True), "ClamAV found"),
    "lzma-zip-in-a-picture": (picture(b"\x89PNG\r\n\x1a\n" + LZMA_ZIP), "with a zip archive appended"),
    "eicar-in-a-datastore": (datastore(EICAR), "ClamAV found"),
    "lzma-zip-in-a-datastore": (datastore(LZMA_ZIP), "is compressed with LZMA"),
    "lzma-zip-as-theme-data": (datastore(LZMA_ZIP).replace(b"datastore", b"themedata"), "is compressed with LZMA"),
}


@pytest.mark.parametrize("name", list(HIDDEN))
def test_what_an_rtf_picture_or_datastore_carries_is_found(tmp_path, clamd, name):
    content, said = HIDDEN[name]
    assert clamd.scan(content).clean  # the scanner's blind spot, for real
    lib = make_library(tmp_path, clamd)
    out = lib.ingest(content, "policy.rtf", "email")
    assert out.status == "quarantined", (out.status, out.reason)
    kinds = ("picture", "data store", "theme data")
    assert said in out.reason and any(f"{kind} at byte" in out.reason for kind in kinds), out.reason
    assert list(lib.store.list()) == []


@pytest.mark.parametrize("count", [b"999999999", b"9" * 250, b"2147483648"])
def test_a_bin_past_the_end_of_the_file_hides_no_object(tmp_path, clamd, count):
    """``\\binN`` outside objects with N past the end: the object after it was skipped unread, stored clean."""
    content = HEAD + b"\\bin" + count + b" " + rtf(ole1(b"Package", package(b"Invoice.pdf.vbs", VBS)))
    assert clamd.scan(content).clean
    started = time.monotonic()
    out = make_library(tmp_path, clamd).ingest(content, "policy.rtf", "email")
    assert out.status == "quarantined" and "\\bin" in out.reason and "past the end" in out.reason, out.reason
    assert time.monotonic() - started < 5


def test_ordinary_pictures_and_datastores_are_stored(tmp_path, clamd):
    png = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\0" * 64
    cases = {
        "picture.rtf": picture(png),
        "shape.rtf": picture(png, shape=True),
        "store.rtf": datastore(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504),
        "bin.rtf": HEAD + b"{\\pict\\pngblip\\bin%d " % len(png) + png + b"}\\par}",
    }
    lib = make_library(tmp_path, clamd)
    for name, content in cases.items():
        out = lib.ingest(content, name, "email")
        assert out.status == "stored", (name, out.reason)
        assert problem(content, 1 << 30, unseen=(seen := [])) is None and len(seen) == 1, name  # shown to clamd


def test_pictures_count_as_members_and_against_the_budget():
    content = HEAD + b"{\\pict\\pngblip 41}" * 60 + b"}"
    found = problem(content, 1 << 30, max_members=50)
    assert found is not None and "embeds more files than the library checks" in found.reason, found
    assert problem(content, 1 << 30, unseen=(seen := [])) is None and len(seen) == 1  # identical: shown once
    found = problem(picture(b"\0" * 300_000), 1 << 30, max_scan_bytes=700_000)
    assert found is not None and found.pending and "PROJECTX_EVIDENCE_MAX_SCAN_BYTES" in found.reason, found
