"""Round 34, second review of the evidence checks' PDF and RTF work (``resources/evidence/``).

1. A chain's stages but the last were not counted: ``[/Fl /Fl]`` over empty deflate blocks inflated uncounted
   (10 MB per 10 KB of file); every stage is counted now, and a chain of more than ``MAX_CHAIN`` filters refused.
2. ``filter_of`` counted ``<<`` from the start for every ``/Filter``: quadratic (40,000 of them: 24 s).
3. A later-stage ASCIIHex / ASCII85 filter held up to what the budget left (100 MiB and more, ~9 times that to
   decode ASCII85): at most ``MAX_TEXT`` is held now, a longer text refused.
4. An encrypted PDF's ``/Filter`` naming an array by reference was read as one unknown name: the stream skipped.
5. A ``/Filter N 0 R`` that did not resolve (no definition read, one after the last ``%%EOF``, two that disagree
   with no xref table to choose) was taken as no filter, the stream skipped: it is refused now.
6. A comment or NUL after ``/Filter``, a string holding ``>>`` before it, ``1 0\\nobj`` hid the filter (the stream
   skipped, stored clean): strings and comments are set aside, NUL is whitespace, and a ``/Filter`` with no value
   read (an array over 400 bytes), or a known filter's name with no ``/Filter`` found, is refused.
7. A stream not inflated first ended at the first ``endstream`` in its body, a right ``/Length`` notwithstanding:
   a direct ``/Length`` landing on ``endstream`` wins now.
8. A pending file's fault count was written after its check only (a check that got the process killed was never
   counted: retried for ever) and reset by any other pending reason: it is written before the check now, kept.
9. An RTF of more than 1,000 distinct pictures was refused: a Word RTF of 500 images (each written twice,
   ``\\shppict`` and ``\\nonshppict``) is ordinary; ``MAX_SHOWN`` is 5,000.
"""

from __future__ import annotations

import errno
import json
import time
import zlib

import pytest

from resources.evidence import containers, library
from resources.evidence.containers import problem
from tests.evidence.library import make_library
from tests.test_round32_evidence_carriers import LZMA_ZIP
from tests.test_round34_evidence_pdf_filters import pdf, run_length

EMPTY_BLOCKS = b"\x78\x01" + b"\x00\x00\x00\xff\xff" * 2_000_000 + b"\x03\x00\x00\x00\x00\x01"  # 10 MB of nothing


def test_every_stage_of_a_chain_is_counted():
    assert zlib.decompress(EMPTY_BLOCKS) == b""
    content = pdf(b"", filters=b"[/Fl /Fl]", encode=lambda d: zlib.compress(EMPTY_BLOCKS, 9))  # 15 KB
    found = problem(content, 4 << 20)
    assert found is not None and "expands to more than 4194304 bytes" in found.reason, found
    assert problem(pdf(b"BT (Q3) Tj ET", filters=b"[/Fl /Fl]", encode=lambda d: zlib.compress(zlib.compress(d))),
                   4 << 20) is None


def test_a_long_chain_is_refused():
    def five(data: bytes) -> bytes:
        for _ in range(5):
            data = zlib.compress(data)
        return data
    found = problem(pdf(b"BT (Q3) Tj ET", filters=b"[/Fl /Fl /Fl /Fl /Fl]", encode=five), 1 << 31)
    assert found is not None and not found.pending and "5 filters in a chain" in found.reason, found


def test_a_later_text_filter_holds_a_bounded_text():
    content = pdf(b"", filters=b"[/Fl /AHx]", encode=lambda d: zlib.compress(b"0" * (20 << 20), 9))
    found = problem(content, 1 << 31)
    assert found is not None and not found.pending and "bytes of ASCIIHex text" in found.reason, found
    assert problem(pdf(b"BT (Q3) Tj ET", filters=b"[/Fl /AHx]", encode=lambda d: zlib.compress(d.hex().encode()
                                                                                             + b">")), 1 << 31) is None


def test_filter_keys_are_read_in_one_pass():
    content = pdf(LZMA_ZIP, key=b"<</Filter/A>>" * 40_000 + b" /Filter")  # 40,000 nested: 24 s before
    started = time.monotonic()
    found = problem(content, 1 << 31)
    assert time.monotonic() - started < 3
    assert found is not None and "is compressed with LZMA" in found.reason, found


HIDDEN = {
    "a-comment": pdf(LZMA_ZIP, key=b"/Filter%c\n"),
    "a-nul": pdf(LZMA_ZIP, key=b"/Filter\x00"),
    "a-string-closing-the-dictionary": pdf(LZMA_ZIP, key=b"/T(>>) /Filter"),
    "an-escaped-parenthesis": pdf(LZMA_ZIP, key=b"/T(a\\)>>) /Filter"),
    "a-newline-before-obj": pdf(LZMA_ZIP).replace(b" 0 obj", b" 0\nobj"),
}


@pytest.mark.parametrize("name", list(HIDDEN))
def test_tokenizer_tricks_do_not_hide_the_filter(name):
    found = problem(HIDDEN[name], 1 << 31)
    assert found is not None and not found.pending and "is compressed with LZMA" in found.reason, found


def test_a_filter_that_cannot_be_read_is_refused():
    for content in (pdf(LZMA_ZIP, filters=b"[" + b" " * 400 + b"/FlateDecode]"),
                    pdf(LZMA_ZIP, key=b"/Filter (", filters=b"/FlateDecode)")):
        found = problem(content, 1 << 31)
        assert found is not None and not found.pending and "/Filter the library cannot read" in found.reason, found
    assert problem(pdf(b"BT (Q3) Tj ET", key=b"/T(a %b) /Filter"), 1 << 31) is None


def test_an_encrypted_pdfs_filter_by_reference_is_resolved():
    from tests.test_round33_evidence_pdf_crypt import encrypted

    content = encrypted(pdf(LZMA_ZIP, filters=b"5 0 R", extra=b"[/FlateDecode]"))  # an array behind a reference
    assert b"/Filter 5 0 R" in content
    found = problem(content, 1 << 31)
    assert found is not None and not found.pending and "is compressed with LZMA" in found.reason, found
    assert problem(encrypted(pdf(b"BT (Q3) Tj ET", filters=b"5 0 R", extra=b"[/FlateDecode]")), 1 << 31) is None


UNRESOLVED = {
    "no-definition": pdf(LZMA_ZIP, filters=b"6 0 R"),
    "defined-after-eof": pdf(LZMA_ZIP, filters=b"6 0 R") + b"6 0 obj\n/FlateDecode\nendobj\n",
    "definitions-disagree": pdf(LZMA_ZIP, filters=b"6 0 R").replace(
        b"xref\n", b"6 0 obj\n/FlateDecode\nendobj\n6 0 obj\n/DCTDecode\nendobj\nxref\n"),
}


@pytest.mark.parametrize("name", list(UNRESOLVED))
def test_a_filter_reference_that_cannot_be_resolved_is_refused(name):
    found = problem(UNRESOLVED[name], 1 << 31)
    assert found is not None and not found.pending and "(6 0 R) that cannot be resolved" in found.reason, found
    assert problem(pdf(b"BT (Q3) Tj ET", filters=b"5 0 R", extra=b"/FlateDecode"), 1 << 31) is None


def test_a_direct_length_landing_on_endstream_wins():
    def encode(data: bytes) -> bytes:  # "endstream" as it stands in a literal run, the zip split into 7-byte runs
        return run_length(b"x\nendstream\n" + data[:2], 120)[:-1] + run_length(data[2:])
    content = pdf(LZMA_ZIP, filters=b"/RL", encode=encode)
    assert content.count(b"endstream") == 2 and b"PK\x03\x04" not in content
    found = problem(content, 1 << 31)
    assert found is not None and not found.pending and "zip archive" in found.reason, found
    assert problem(pdf(b"BT (Q3) Tj ET", filters=b"/RL", encode=encode), 1 << 31) is None


class Killed(BaseException):
    """The process killed mid-check (out of memory): nothing after the check runs."""


def test_a_check_that_never_finishes_is_counted(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    def killed(*args, **kwargs):
        raise Killed()
    monkeypatch.setattr(containers.carriers, "walk", full)
    lib = make_library(tmp_path, None, require_scan=False)
    content = b"{\\rtf1 minutes\\par}"
    assert lib.ingest(content, "minutes.rtf", "email").status == "pending"
    monkeypatch.setattr(containers.carriers, "walk", killed)
    for _ in range(library.MAX_FAULTS - 1):
        with pytest.raises(Killed):
            lib.retry_pending()
    (last,) = lib.retry_pending()  # not checked again: quarantined
    assert last.status == "quarantined" and "never finished" in last.reason, last.reason


class Down:
    def scan(self, content: bytes):
        from resources.evidence.scan import ScannerUnavailable

        raise ScannerUnavailable("clamd is down")


def test_another_pending_reason_keeps_the_fault_count(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(containers.carriers, "walk", full)
    lib = make_library(tmp_path, None, require_scan=False)
    content = b"{\\rtf1 minutes\\par}"
    for n in range(1, 4):
        assert [o.status for o in [lib.ingest(content, "minutes.rtf", "email")]] == ["pending"]
        down = make_library(tmp_path, Down())  # the scanner down: pending for another reason
        assert down.ingest(content, "minutes.rtf", "email").status == "pending"
        (side,) = lib.pending_dir.glob("*.json")
        assert json.loads(side.read_text()).get("faults") == n, side.read_text()


def test_a_word_rtf_of_many_images_is_checked(tmp_path):
    from tests.test_round34_evidence_review import RTF_HEAD, Counting

    scanner = Counting()
    images = b"".join(b"{\\*\\shppict{\\pict\\pngblip 89504e47%08x}}{\\nonshppict{\\pict\\wmetafile8 0100%08x}}"
                      % (n, n) for n in range(600))  # 600 images, 1,200 pictures: refused at 1,000 before
    out = make_library(tmp_path, scanner).ingest(RTF_HEAD + images + b"\\par}", "policy.rtf", "email")
    assert out.status == "stored" and scanner.calls == 1201, (out.status, out.reason, scanner.calls)


def test_dictionaries_built_to_cost_the_tokenizer_are_bounded():
    one = (b"1 0 obj\n<< /Length 3 /T " + b"()" * 100_000 + b" /Filter /FlateDecode >>\nstream\n"
           + zlib.compress(b"q Q") + b"\nendstream\nendobj\n")
    started = time.monotonic()
    found = problem(b"%PDF-1.4\n" + one * 20 + b"%%EOF\n", 1 << 31)  # 4 MB: 2 million strings
    assert time.monotonic() - started < 3
    assert found is not None and not found.pending and "more than 1000000 nested dictionaries" in found.reason, found
    assert problem(b"%PDF-1.4\n" + one * 2 + b"%%EOF\n", 1 << 31) is None
