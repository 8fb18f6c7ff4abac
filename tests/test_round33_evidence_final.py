"""Round 33, final review of the evidence checks:

- the `/Size` pre-check read `/Size +400000` and `/Size 000...0400000` (31+ digits) as small and took an `/Index`
  count by count, so a crafted xref stream still cost pypdf seconds; signs, leading zeros and an `/Index` in all now
  count, and pypdf itself is held to the same number of xref entries (cases in test_round33_evidence_review.py);
- any mention of `/Encrypt` (a page's text saying "the /Encrypt entry") sent an ordinary PDF down the encrypted
  path, where a large or damaged one was refused; only the entry with its value counts now;
- a OneNote page sentence ending in an address or a script name and a dot ("Mail help@contoso.com.", "Built with
  Node.js.") was read as an attached file's name and the section quarantined.
"""

from __future__ import annotations

import struct

from resources.evidence.containers import problem
from tests.evidence.files import make_pdf
from tests.test_round32_evidence_carriers import pdf_with
from tests.test_round33_evidence_onenote import HTA, section


def test_an_ordinary_pdf_whose_text_mentions_encrypt_is_not_read_as_encrypted():
    text = pdf_with(b"BT (the /Encrypt entry of the trailer) Tj ET")
    assert problem(text, 1 << 30) is None
    big = text.replace(b"/Size 5 ", b"/Size 60000 ")
    assert b"/Size 60000" in big
    found = problem(big, 1 << 30)
    assert found is None or "encrypted" not in found.reason, found  # before: "an encrypted PDF of more than ..."


def _with_page_text(data: bytes, *sentences: str) -> bytes:
    """``data`` (a section) with page text stored as OneNote stores a text property: its byte length, then UTF-16."""
    extra = b"".join(struct.pack("<I", 0x1C001C22) + struct.pack("<I", len(s) * 2) + s.encode("utf-16-le")
                     for s in sentences)
    return data[:-64] + extra + data[-64:]


def test_page_sentences_ending_in_an_address_or_a_script_name_are_no_attached_files():
    ordinary = _with_page_text(section({"Q3 access review.pdf": make_pdf("Q3")}),
                               "Mail help@contoso.com.", "Built with Node.js.", "Questions: it@contoso.com")
    assert problem(ordinary, 1 << 30) is None  # before: quarantined naming the sentence as an attached file
    lure = section({"invoice.hta.": HTA})
    found = problem(lure, 1 << 30)
    assert found is not None and "invoice.hta" in found.reason, found  # a name with a trailing dot still caught
