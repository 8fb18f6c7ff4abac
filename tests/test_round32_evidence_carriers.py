"""Round 32: files that carry other files encoded (``resources/evidence/carriers.py``).

clamd decodes an e-mail's base64 / quoted-printable parts, a PDF's FlateDecode streams and HTML ``data:`` URIs
and scans what comes out within its own limits, answering OK for what it skips; the library walked only
archives, so an archive it refuses bare (an LZMA zip, a bzip2 file with a second stream, a zip bomb) passed
as "clean" once attached to an .eml, embedded in a PDF or put in a data URI. Each blind spot below is checked
against the real clamd first."""

from __future__ import annotations

import base64
import bz2
import io
import zipfile
import zlib
from email.message import EmailMessage

import pytest

from resources.evidence.containers import problem
from tests.evidence.clamav import EICAR
from tests.evidence.files import make_pdf
from tests.evidence.library import make_library

BUDGET = 1 << 30
MB = 1024 * 1024


def zipped(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def eml(attachments: dict[str, bytes], first: bytes = b"") -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "auditor@example.com", "grc@example.com", "Q3 evidence"
    msg.set_content("Evidence attached.")
    for name, data in attachments.items():
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return first + bytes(msg)


def pdf_with(data: bytes, filters: bytes = b"/FlateDecode", encode=zlib.compress) -> bytes:
    """A one-page PDF whose content stream is ``data`` through ``encode`` (its ``/Filter`` named by ``filters``)."""
    body = encode(data)
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            b"<< /Length %d /Filter %s >>\nstream\n%s\nendstream" % (len(body), filters, body)]
    out, offsets = b"%PDF-1.4\n", []
    for n, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)


LZMA_ZIP = zipped({"report.txt": EICAR}, zipfile.ZIP_LZMA)  # clamd skips LZMA members and answers OK
TWO_STREAMS = bz2.compress(b"notes") + bz2.compress(EICAR)  # clamd reads a bzip2 file's first stream only
LZMA_B64 = base64.b64encode(LZMA_ZIP)
MIME_ONLY = (b'Content-Type: multipart/mixed; boundary="B"\n\n--B\nContent-Type: application/zip\n'
             b"Content-Transfer-Encoding: base64\n\n" + LZMA_B64 + b"\n--B--\n")



def mime_part(encoding_lines: bytes, payload: bytes = LZMA_ZIP) -> bytes:
    """A mail whose attachment says its transfer encoding as ``encoding_lines`` (clamd decodes its base64 body
    whatever they say, or without them)."""
    return (b'From: a@example.com\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"\n\n--B\n'
            b"Content-Type: text/plain\n\nsee attached\n--B\nContent-Type: application/zip; name=q3.zip\n"
            + encoding_lines + b"\n" + base64.encodebytes(payload) + b"--B--\n")


HIDDEN = {
    "eml-lzma-zip": (eml({"q3.zip": LZMA_ZIP}), "'report.txt' in 'q3.zip' in the file is compressed with LZMA"),
    "eml-bzip2-streams": (eml({"logs.bz2": TWO_STREAMS}), "'logs.bz2' in the file holds more than one bzip2"),
    "eml-x-header-first": (eml({"q3.zip": LZMA_ZIP}, b"X-Mailer: Outlook\n"), "compressed with LZMA"),
    "eml-blank-line-first": (eml({"q3.zip": LZMA_ZIP}, b"\r\n"), "compressed with LZMA"),
    "mbox-message": (eml({"q3.zip": LZMA_ZIP}, b"From auditor@example.com Mon Jan  1 00:00:00 2024\n"),
                     "compressed with LZMA"),
    "mime-without-from": (MIME_ONLY, "in the base64 block at byte 114 of the file is compressed with LZMA"),
    "cte-missing": (mime_part(b""), "'report.txt' in 'q3.zip' in the file is compressed with LZMA"),
    "cte-doubled": (mime_part(b"Content-Transfer-Encoding: 7bit\nContent-Transfer-Encoding: base64\n"),
                    "in 'q3.zip' in the file"),
    "cte-commented": (mime_part(b"Content-Transfer-Encoding: base64 (yes)\n"), "in 'q3.zip' in the file"),
    "cte-space-before-colon": (mime_part(b"Content-Transfer-Encoding : base64\n"), "compressed with LZMA"),
    "cte-folded": (mime_part(b"Content-Transfer-Encoding:\n base64\n"), "in 'q3.zip' in the file"),
    "forwarded-eml": (eml({"fw.eml": eml({"q3.zip": LZMA_ZIP})}), "in 'q3.zip' in 'fw.eml' in the file"),
    "pdf-flate-lzma-zip": (pdf_with(LZMA_ZIP), "in the PDF stream at byte"),
    "pdf-flate-bzip2": (pdf_with(TWO_STREAMS), "holds more than one bzip2 stream"),
    "pdf-a85-flate": (pdf_with(LZMA_ZIP, b"[/ASCII85Decode /FlateDecode]",
                               lambda d: base64.a85encode(zlib.compress(d), adobe=True)[2:]), "compressed with LZMA"),
    "pdf-ahx-flate": (pdf_with(LZMA_ZIP, b"[/AHx /Fl]", lambda d: zlib.compress(d).hex().encode() + b">"),
                      "compressed with LZMA"),
    "html-data-uri": (b'<html><body><a href="data:application/zip;base64,' + LZMA_B64 + b'">q3</a></body></html>',
                      "in the data: URI at byte 21 of the file is compressed with LZMA"),
    "zip-of-eml": (zipped({"mail.eml": eml({"q3.zip": LZMA_ZIP})}), "in 'q3.zip' in 'mail.eml' in the file"),
    "eml-of-pdf": (eml({"r.pdf": pdf_with(LZMA_ZIP)}), "in the PDF stream at byte 249 of 'r.pdf' in the file"),
}


@pytest.mark.parametrize("name", list(HIDDEN))
def test_archives_carried_encoded_are_checked_as_if_bare(tmp_path, clamd, name):
    content, said = HIDDEN[name]
    assert clamd.scan(content).clean  # the scanner's blind spot, for real: EICAR is in there
    lib = make_library(tmp_path, clamd)
    out = lib.ingest(content, "evidence.eml", "email")
    assert out.status == "quarantined", (out.status, out.reason)
    assert said in out.reason and ("send it again as an ordinary (deflate) zip" in out.reason
                                   or "send the files as a zip" in out.reason), out.reason
    assert list(lib.store.list()) == []
    assert (tmp_path / "evidence-quarantine" / out.sha256).read_bytes() == content  # kept for review


def test_a_bomb_attached_or_in_a_pdf_stream_is_a_bomb(tmp_path, clamd):
    bomb = b"\0" * (150 * MB) + EICAR
    lib = make_library(tmp_path, clamd)
    for content, name in [(eml({"q3.zip": zipped({"z.bin": bomb})}), "q3.eml"), (pdf_with(bomb), "q3.pdf")]:
        assert clamd.scan(content).clean  # past the test clamd's MaxFileSize / MaxScanSize: OK unread
        out = lib.ingest(content, name, "email")
        assert out.status == "quarantined" and "a zip bomb" in out.reason, out.reason


def test_a_pdf_whose_streams_pass_the_scan_budget_waits_pending(tmp_path, clamd):
    """[unc] clamd counts what it inflates from a PDF against MaxScanSize, as it does an archive's members."""
    content = pdf_with(bytes(range(256)) * 8192)  # 2 MiB inflated from ~10 KB: no bomb under the 100 MiB floor
    lib = make_library(tmp_path, clamd, max_scan_bytes=MB)
    out = lib.ingest(content, "stream.pdf", "email")
    assert out.status == "pending" and "PROJECTX_EVIDENCE_MAX_SCAN_BYTES" in out.reason, out.reason
    lib.max_scan_bytes = 4 * MB
    assert [o.status for o in lib.retry_pending()] == ["stored"]


def test_eicar_attached_is_still_clamds_verdict(tmp_path, clamd):
    out = make_library(tmp_path, clamd).ingest(eml({"e.txt": EICAR}), "e.eml", "email")
    assert out.status == "quarantined" and out.reason.startswith("ClamAV found")


def test_ordinary_mail_pdfs_and_pages_are_stored(tmp_path, clamd):
    docx = zipped({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>" * 50})
    png = base64.b64decode(b"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAAB"
                           b"JRU5ErkJggg==")
    damaged = pdf_with(b"BT /F1 12 Tf (Access review) Tj ET" * 200)
    at = damaged.index(b"stream\n") + 40
    damaged = damaged[:at] + b"\xff" * 8 + damaged[at + 8:]  # a stream that stops inflating: common, not refused
    cases = {
        "notes.eml": eml({"access.docx": docx, "users.csv": b"user,role\nann,admin\n", "shot.png": png}),
        "qp.eml": b"From: a@example.com\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n"
                  b"caf=C3=A9 =3D ok\n",
        "report.pdf": make_pdf(["Access review Q3", "Signed off"]),
        "flate.pdf": pdf_with(b"BT /F1 12 Tf (Access review) Tj ET"),
        "damaged.pdf": damaged,
        "page.html": b'<html><img src="data:image/png;base64,' + base64.b64encode(png) + b'"></html>',
        "config.json": b'{"logo": "data:image/png;base64,' + base64.b64encode(png) + b'", "a": "b:c"}',
        "notes.txt": b"Subject: not an e-mail\nbase64, said the note\n" * 100,
    }
    lib = make_library(tmp_path, clamd)
    for name, content in cases.items():
        out = lib.ingest(content, name, "email")
        assert out.status == "stored", (name, out.reason)
    for content in cases.values():
        assert problem(content, BUDGET) is None
