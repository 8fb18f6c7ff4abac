"""Round 33: objects embedded in an RTF (``resources/evidence/rtf.py``).

clamd 1.4 reads an RTF's ``{\\object ... {\\*\\objdata <hex>}}`` as text and answers OK for an EICAR or a packaged
script in it (checked first, for each case, against the tests' real clamd); the library took the RTF as a plain
text file and stored it clean. Now each object is decoded as Word reads it (hex split by whitespace, control
words and ignorable groups; ``\\bin`` runs), walked like an archive's member, and shown to clamd."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest

from resources.evidence.containers import problem
from resources.evidence.rtf import MAX_TOKENS
from tests.evidence.clamav import EICAR
from tests.evidence.library import make_library
from tests.test_round32_evidence_carriers import LZMA_ZIP, eml, zipped

MB = 1024 * 1024


def ole1(class_name: bytes, native: bytes) -> bytes:
    """An embedded OLE1 object (MS-OLEDS 2.2.4): version, format id 2, class name, topic, item, native data."""
    def text(b: bytes) -> bytes:
        return struct.pack("<I", len(b) + 1) + b + b"\0"
    return struct.pack("<II", 0x0501, 2) + text(class_name) + text(b"") + text(b"") + struct.pack("<I", len(native)) \
        + native


def package(name: bytes, data: bytes) -> bytes:
    """An OLE ``Package`` object's native data holding ``data`` as the file ``name`` (MS-OLEDS 2.3.6)."""
    temp = b"C:\\Users\\a\\AppData\\Local\\Temp\\" + name + b"\0"
    return (struct.pack("<H", 2) + name + b"\0" + b"C:\\Users\\a\\Desktop\\" + name + b"\0" + struct.pack("<HH", 0, 3)
            + struct.pack("<I", len(temp)) + temp + struct.pack("<I", len(data)) + data)


def rtf(obj: bytes, sep: bytes = b"", width: int = 64, raw: bool = False) -> bytes:
    """A one-paragraph RTF with ``obj`` embedded: hex in lines of ``width`` joined by ``sep`` (or a ``\\bin`` run)."""
    if raw:
        data = b"\\bin%d " % len(obj) + obj
    else:
        h = obj.hex().encode()
        data = sep.join(h[i:i + width] for i in range(0, len(h), width))
    return (b"{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Arial;}}\\f0 Access review Q3\\par "
            b"{\\object\\objemb\\objw1000\\objh500{\\*\\objclass Package}{\\*\\objdata " + data + b"}"
            b"{\\result {\\pict\\wmetafile8 0100}}}\\par}")


VBS = b'CreateObject("WScript.Shell").Run "powershell -enc SQBFAFgA"'
HIDDEN = {
    "eicar-package": (rtf(ole1(b"Package", package(b"readme.txt", EICAR))), "ClamAV found"),
    "eicar-bare-hex": (rtf(EICAR), "ClamAV found"),
    "eicar-word-object": (rtf(ole1(b"Word.Document.8", EICAR)), "ClamAV found"),
    "eicar-split-by-newlines": (rtf(ole1(b"Package", package(b"a.txt", EICAR)), b"\r\n", 7), "ClamAV found"),
    "eicar-split-by-control-words": (rtf(ole1(b"Package", package(b"a.txt", EICAR)), b"\\par\\tab ", 5),
                                     "ClamAV found"),
    "eicar-split-by-ignorable-groups": (rtf(ole1(b"Package", package(b"a.txt", EICAR)), b"{\\*\\bkmkstart 0a0b}", 3),
                                        "ClamAV found"),
    "vbs-package": (rtf(ole1(b"Package", package(b"Invoice.pdf.vbs", VBS))), "packages 'Invoice.pdf.vbs', a script"),
    "hta-package-bin-run": (rtf(ole1(b"Package", package(b"update.hta", b"<script>x</script>")), raw=True),
                            "packages 'update.hta'"),
    "lzma-zip-package": (rtf(ole1(b"Package", package(b"q3.zip", LZMA_ZIP))), "is compressed with LZMA"),
    "rtf-in-a-zip": (zipped({"policy.rtf": rtf(ole1(b"Package", package(b"a.txt", EICAR)))}),
                     "of 'policy.rtf' in the file"),
    "rtf-attached-to-mail": (eml({"policy.rtf": rtf(ole1(b"Package", package(b"run.js", VBS)))}),
                             "packages 'run.js'"),
}


@pytest.mark.parametrize("name", list(HIDDEN))
def test_what_an_rtf_object_carries_is_found(tmp_path, clamd, name):
    content, said = HIDDEN[name]
    assert clamd.scan(content).clean  # the scanner's blind spot, for real
    lib = make_library(tmp_path, clamd)
    out = lib.ingest(content, "policy.rtf", "email")
    assert out.status == "quarantined", (out.status, out.reason)
    assert said in out.reason and "object at byte" in out.reason, out.reason
    assert list(lib.store.list()) == []
    assert (tmp_path / "evidence-quarantine" / out.sha256).read_bytes() == content


def test_eicar_found_in_an_object_raises_a_security_alert(tmp_path, clamd):
    lib = make_library(tmp_path, clamd)
    out = lib.ingest(HIDDEN["eicar-package"][0], "policy.rtf", "email")
    assert out.reason.startswith("ClamAV found ProjectX.Test.EICAR") and "'readme.txt' in the embedded" in out.reason
    alerts = [a for a in lib.ledger.rows("alerts") if a["kind"] == "security_alert"]
    assert len(alerts) == 1 and "policy.rtf" in alerts[0]["message"]


def test_ordinary_rtfs_are_stored(tmp_path, clamd):
    docx = zipped({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>" * 50})
    cases = {
        "plain.rtf": b"{\\rtf1\\ansi{\\fonttbl{\\f0 Arial;}}\\f0 Access review Q3: all users recertified.\\par}",
        "note.rtf": rtf(ole1(b"Package", package(b"notes.txt", b"reviewed by ann\n"))),
        "sheet.rtf": rtf(ole1(b"Excel.Sheet.12", docx), b"\r\n", 128),
        "picture.rtf": b"{\\rtf1 {\\pict\\pngblip\\picw1\\pich1 89504e470d0a1a0a}\\par}",
        "mentions.rtf": b"{\\rtf1 the word \\\\objdata and \\\\bin99 in text\\par}",
        "linked.rtf": rtf(ole1(b"Package", package(b"x.txt", b"")[:-10])),  # a cut object: clamd gets its bytes
    }
    lib = make_library(tmp_path, clamd)
    for name, content in cases.items():
        out = lib.ingest(content, name, "email")
        assert out.status == "stored", (name, out.reason)


def test_objects_count_against_the_scan_budget(tmp_path, clamd):
    content = rtf(ole1(b"Package", package(b"data.csv", b"user,role\n" * (MB // 5))))  # ~4 MB hex -> 2 MB
    lib = make_library(tmp_path, clamd, max_scan_bytes=5 * MB)
    out = lib.ingest(content, "big.rtf", "email")
    assert out.status == "pending" and "PROJECTX_EVIDENCE_MAX_SCAN_BYTES" in out.reason, out.reason
    lib.max_scan_bytes = 8 * MB
    assert [o.status for o in lib.retry_pending()] == ["stored"]


def test_crafted_objects_cost_a_bounded_amount():
    """Control words past MAX_TOKENS inside objects are refused; unclosed objects are each read once."""
    tokens = b"{\\rtf1{\\object{\\*\\objdata " + b"0\\par " * (MAX_TOKENS + 1) + b"}}}"
    found = problem(tokens, 1 << 30)
    assert found is not None and not found.pending and "more than 100000 control words" in found.reason
    unclosed = b"{\\rtf1" + b"{\\*\\objdata 4142" * 20_000  # read once: an object in an object is refused
    found = problem(unclosed, 1 << 30)
    assert found is not None and "an object inside an object" in found.reason, found
    unclosed = b"{\\rtf1" + b"{\\*\\objdata 4142" + b"{\\*\\x 4142" * 20_000
    assert problem(unclosed, 1 << 30, unseen=(seen := [])) is None
    assert [obj for _, obj in seen] == [b"AB"]  # one object to the end of the file (the rest: groups it skips)


def test_zip_bytes_in_a_bin_run_are_still_a_polyglot(tmp_path, clamd):
    """A ``\\bin`` run's bytes are in the file as they are: an archive in them is found by its zip entries."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_LZMA) as zf:
        zf.writestr("r.txt", EICAR)
    out = make_library(tmp_path, clamd).ingest(rtf(buf.getvalue(), raw=True), "p.rtf", "email")
    assert out.status == "quarantined", out.reason


def test_objects_count_as_members(tmp_path, clamd):
    """Each object is shown to clamd on its own: past the member limit the file is refused, not scanned 10k times."""
    content = b"{\\rtf1" + b"{\\object{\\*\\objdata 41}}" * 60 + b"}"
    found = problem(content, 1 << 30, max_members=50)
    assert found is not None and "embeds more files than the library checks" in found.reason, found
    assert problem(content, 1 << 30) is None
