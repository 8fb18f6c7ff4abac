"""A minimal valid PDF for emulators that hand out converted documents (Drive exports, Graph's
``content?format=pdf``): one page, Helvetica, one line per line of text, with a correct cross-reference
table, so PDF readers and parsers open it."""

from __future__ import annotations


def text_pdf(text: str) -> bytes:
    """A minimal valid one-page PDF showing ``text`` (Helvetica, one line per line)."""
    lines = text.splitlines()[:60] or [""]
    esc = [ln.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1", "replace")
           for ln in lines]
    stream = b"BT /F1 11 Tf 50 780 Td 14 TL " + b" ".join(b"(" + ln + b") '" for ln in esc) + b" ET"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
