"""Round 32 review of ``resources/evidence/carriers.py`` / ``formats.py``: a note whose first line looks like a
header and holds a 4k+1-character "base64" line crashed ingest; a PDF of many ``[/AHx /Fl]`` streams with no end
marker copied the rest of the file for each (uncounted); an attachment wrapped at 12 characters a line and a
FlateDecode stream whose dictionary is padded past 4 KB went unchecked; a CSV row ``CD001,...`` at byte 0x8001
was taken for a disc image."""

from __future__ import annotations

import base64

import pytest

from resources.evidence import container_readers, formats
from resources.evidence.containers import problem
from tests.evidence.library import make_library
from tests.test_round32_evidence_carriers import BUDGET, LZMA_ZIP, MB, pdf_with

NOTES = [b"key: value\nabcdefghijklmnopq\n", b"title: Q3\nowner: ann\n" + b"A" * 33 + b"\n",
         b"id: 1\nabcdefghijklmnopq=\nabcd\n"]


@pytest.mark.parametrize("content", NOTES)
def test_a_note_with_a_dangling_base64_character_is_stored(tmp_path, clamd, content):
    assert problem(content, BUDGET) is None
    out = make_library(tmp_path, clamd).ingest(content, "notes.yaml", "email")
    assert out.status == "stored", (out.status, out.reason)


def test_many_a85_streams_without_an_end_are_counted_and_wait(monkeypatch):
    counted: list[int] = []
    count = container_readers._Budget.count

    def spy(self, n, where):
        counted.append(n)
        return count(self, n, where)

    monkeypatch.setattr(container_readers._Budget, "count", spy)
    # ``~>`` (ASCII85's end) is in no dictionary: each stream ran to the end of the file, copied and decoded
    content = b"%PDF-1.4\n" + b"1 0 obj\n<< /Filter [/A85 /Fl] >>\nstream\n" * 200 + b"0" * MB
    found = problem(content, BUDGET, max_scan_bytes=4 * MB)
    # round 34 review: each stream now ends where the next begins (no endstream, no /Length): the file is read
    # once, within the budget, instead of waiting over it (round 34, second review: asserted as it is)
    assert found is None, found
    assert sum(counted) <= 2 * MB  # not 200 copies of the rest of the file
    ended = b"%PDF-1.4\n" + (b"1 0 obj\n<< /Filter [/A85 /Fl] >>\nstream\n" + b"0" * 1000 + b"\nendstream\n") * 200
    assert problem(ended, BUDGET, max_scan_bytes=4 * MB) is None  # each stream stops at its endstream


def test_an_attachment_wrapped_at_12_characters_is_checked():
    body = base64.b64encode(LZMA_ZIP)
    lines = b"\n".join(body[i:i + 12] for i in range(0, len(body), 12))
    content = (b'From: a@example.com\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"\n\n--B\n'
               b"Content-Type: application/zip; name=q3.zip\nContent-Transfer-Encoding: base64\n\n"
               + lines + b"\n--B--\n")
    found = problem(content, BUDGET)
    assert found is not None and "compressed with LZMA" in found.reason, found


def test_a_flate_stream_with_a_padded_dictionary_is_inflated():
    content = pdf_with(LZMA_ZIP, b"/FlateDecode /Pad (" + b"x" * 6000 + b")")
    found = problem(content, BUDGET)
    assert found is not None and "compressed with LZMA" in found.reason, found


def test_a_csv_row_at_a_descriptors_offset_is_no_disc_image(tmp_path, clamd):
    content = b"sku,name,price\n" + b"A" * (0x8001 - 16) + b"\nCD001,Widget,4.50\n"
    assert content[0x8001:0x8006] == b"CD001"
    assert formats.unopened(content) is None and problem(content, BUDGET) is None
    assert make_library(tmp_path, clamd).ingest(content, "stock.csv", "email").status == "stored"
    disc = bytes(0x8000) + b"\x01CD001\x01" + bytes(2041)
    assert formats.unopened(disc) == "ISO 9660 / UDF disc image"
