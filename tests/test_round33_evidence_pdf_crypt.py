"""Round 33: encrypted PDFs (``resources/evidence/pdf_crypt.py``).

A PDF encrypted with an empty user password opens without a prompt and clamd decrypts it, but reads what it
finds there within its own limits only (an LZMA zip, a second bzip2 stream, a bomb: OK); the library read the
ciphertext, which does not inflate, and stored such a PDF clean. Its streams are now decrypted (pypdf, the empty
password) and checked as an unencrypted PDF's are. A PDF that needs a real password is unreadable by clamd
(EICAR in it: OK) and was stored clean too; it is now quarantined with the reason, as an encrypted zip is."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader, PdfWriter

from resources.evidence.containers import problem
from tests.evidence.clamav import EICAR
from tests.evidence.files import make_pdf
from tests.evidence.library import make_library
from tests.test_round32_evidence_carriers import LZMA_ZIP, TWO_STREAMS, eml, pdf_with, zipped

MB = 1024 * 1024


def encrypted(pdf: bytes, user: str = "", algorithm: str = "AES-128") -> bytes:
    """``pdf`` encrypted as pypdf writes it (an owner password always; ``user`` empty: opens without a prompt)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user, "owner-secret", algorithm=algorithm)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


HIDDEN = {
    "rc4-40-lzma-zip": (encrypted(pdf_with(LZMA_ZIP), algorithm="RC4-40"), "is compressed with LZMA"),
    "rc4-128-lzma-zip": (encrypted(pdf_with(LZMA_ZIP), algorithm="RC4-128"), "is compressed with LZMA"),
    "aes-128-bzip2-streams": (encrypted(pdf_with(TWO_STREAMS)), "holds more than one bzip2 stream"),
    "aes-256-lzma-zip": (encrypted(pdf_with(LZMA_ZIP), algorithm="AES-256"), "is compressed with LZMA"),
    "aes-unfiltered-lzma-zip": (encrypted(pdf_with(LZMA_ZIP, b"[]", lambda d: d)), "is compressed with LZMA"),
    "password-eicar": (encrypted(pdf_with(EICAR), user="s3cret"), "encrypted with a password"),
    "password-rc4-eicar": (encrypted(make_pdf(["Q3"], EICAR), "s3cret", "RC4-128"), "encrypted with a password"),
    "mail-of-encrypted-pdf": (eml({"r.pdf": encrypted(pdf_with(LZMA_ZIP))}), "of 'r.pdf' in the file"),
    "zip-of-password-pdf": (zipped({"r.pdf": encrypted(pdf_with(EICAR), user="pw")}),
                            "'r.pdf' in the file is a PDF encrypted with a password"),
}


@pytest.mark.parametrize("name", list(HIDDEN))
def test_encrypted_pdfs_are_checked_or_refused(tmp_path, clamd, name):
    content, said = HIDDEN[name]
    assert clamd.scan(content).clean  # the scanner's blind spot, for real
    lib = make_library(tmp_path, clamd)
    out = lib.ingest(content, "report.pdf", "email")
    assert out.status == "quarantined", (out.status, out.reason)
    assert said in out.reason, out.reason
    assert list(lib.store.list()) == []


def test_a_password_is_named_in_the_reason(tmp_path, clamd):
    out = make_library(tmp_path, clamd).ingest(HIDDEN["password-eicar"][0], "r.pdf", "email")
    assert out.reason.startswith("the file is a PDF encrypted with a password") and "without the password" in out.reason


def test_eicar_in_an_empty_password_pdf_is_still_clamds_verdict(tmp_path, clamd):
    out = make_library(tmp_path, clamd).ingest(encrypted(pdf_with(EICAR)), "r.pdf", "email")
    assert out.status == "quarantined" and out.reason.startswith("ClamAV found"), out.reason


def test_a_bomb_in_an_encrypted_stream_is_a_bomb(tmp_path, clamd):
    content = encrypted(pdf_with(b"\0" * (150 * MB) + EICAR))
    assert clamd.scan(content).clean
    out = make_library(tmp_path, clamd).ingest(content, "q3.pdf", "email")
    assert out.status == "quarantined" and "a zip bomb" in out.reason, out.reason


def test_decrypted_streams_count_against_the_scan_budget(tmp_path, clamd):
    content = encrypted(pdf_with(bytes(range(256)) * 8192))  # 2 MiB inflated
    lib = make_library(tmp_path, clamd, max_scan_bytes=MB)
    out = lib.ingest(content, "stream.pdf", "email")
    assert out.status == "pending" and "PROJECTX_EVIDENCE_MAX_SCAN_BYTES" in out.reason, out.reason
    lib.max_scan_bytes = 4 * MB
    assert [o.status for o in lib.retry_pending()] == ["stored"]


def test_ordinary_encrypted_pdfs_are_stored(tmp_path, clamd):
    cases = {
        "aes.pdf": encrypted(make_pdf(["Access review Q3", "Signed off"])),
        "rc4.pdf": encrypted(pdf_with(b"BT /F1 12 Tf (Access review) Tj ET" * 200), algorithm="RC4-128"),
        "aes256.pdf": encrypted(pdf_with(b"BT /F1 12 Tf (Policy) Tj ET"), algorithm="AES-256"),
        "plain.pdf": make_pdf(["Not encrypted; says /Encrypt 5 0 R in its text"]),
    }
    lib = make_library(tmp_path, clamd)
    for name, content in cases.items():
        out = lib.ingest(content, name, "email")
        assert out.status == "stored", (name, out.reason)
        assert problem(content, 1 << 30) is None
    assert lib.ingest(cases["aes.pdf"], "again.pdf", "email").metadata["page_count"] == 2


def test_an_encrypted_pdf_of_too_many_objects_is_refused(monkeypatch):
    """Each object is read and decrypted by pypdf: past MAX_OBJECTS (50,000) the file is refused, not parsed."""
    from resources.evidence import pdf_crypt

    content = encrypted(pdf_with(b"BT (x) Tj ET"))
    monkeypatch.setattr(pdf_crypt, "MAX_OBJECTS", 3)
    found = problem(content, 1 << 30)
    assert found is not None and "an encrypted PDF of more than 3 objects" in found.reason, found
