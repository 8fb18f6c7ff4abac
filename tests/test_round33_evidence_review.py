"""Round 33 review: what a reviewer found in the RTF, OneNote and encrypted-PDF walkers (each case failed before).

``containers.problem`` returns why a file is quarantined, or None (stored clean)."""

from __future__ import annotations

from resources.evidence import containers
from resources.evidence.containers import problem
from tests.test_round32_evidence_carriers import LZMA_ZIP, pdf_with
from tests.test_round33_evidence_onenote import HTA, section
from tests.test_round33_evidence_rtf import VBS, ole1, package, rtf


def test_a_bin_with_a_bare_minus_is_no_crash():
    found = problem(b"{\\rtf1{\\object\\objemb{\\*\\objdata \\bin- 41}}}", 1 << 30, unseen=(seen := []))
    assert found is None and [obj for _, obj in seen] == [b"A"], found


def test_an_unexpected_error_in_a_walker_quarantines_the_file(monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("bug")

    monkeypatch.setattr(containers.carriers, "walk", broken)
    found = problem(b"{\\rtf1 hello\\par}", 1 << 30)
    assert found is not None and not found.pending and "could not be checked: ValueError" in found.reason, found


def test_a_pdf_marker_in_an_rtf_or_onenote_head_hides_nothing():
    """Byte-0 signatures come first; a file that is both is walked both ways."""
    vbs = rtf(ole1(b"Package", package(b"Invoice.pdf.vbs", VBS)))
    titled = vbs.replace(b"{\\rtf1", b"{\\rtf1{\\info{\\title %PDF-}}", 1)
    found = problem(titled, 1 << 30)
    assert found is not None and "packages 'Invoice.pdf.vbs'" in found.reason, found
    one = section({"invoice.hta": HTA})
    one = one[:600] + b"%PDF-1.7" + one[608:]
    found = problem(one, 1 << 30)
    assert found is not None and "with 'invoice.hta' attached" in found.reason, found
    both = b"{\\rtf1{\\info{\\title %PDF-}}\\par}\n" + pdf_with(LZMA_ZIP)[9:]
    found = problem(both, 1 << 30)
    assert found is not None and "is compressed with LZMA" in found.reason, found
    assert problem(b"{\\rtf1{\\info{\\title %PDF- notes}}Access review\\par}", 1 << 30) is None
