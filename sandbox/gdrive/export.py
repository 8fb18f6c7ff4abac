"""``files.export`` for Docs Editors files, as Drive answers it: the target ``mimeType`` must be one of
the file type's export formats (``store.EXPORT_FORMATS``, also ``about.exportFormats``), else 400
badRequest "The requested conversion is not supported." on ``convertTo``; a file that is not a Docs
Editors file (a folder, a shortcut, a PDF) is 403 fileNotExportable; an export over 10 MB is 403
exportSizeLimitExceeded.

The emulator keeps a native file's ``content`` as its text (or, when it starts with ``%PDF``, as its
PDF rendering): text formats are that text, PDF is that PDF or a one-page PDF of the text, other
formats the bytes as kept. A Google Doc's ``text/plain`` export starts with a UTF-8 byte order mark
(``EF BB BF``), as Google's does (widely reported by integrators, not in Drive's reference; [unc] whether
Slides' ``text/plain`` has one too: here not)."""

from __future__ import annotations

from sandbox.gdrive.errors import DriveError
from sandbox.gdrive.store import EXPORT_FORMATS, GOOGLE_APPS, DriveFile

EXPORT_LIMIT = 10 * 1024 * 1024
BOM = b"\xef\xbb\xbf"
DOCUMENT = GOOGLE_APPS + "document"


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


def export(f: DriveFile, mime: str) -> bytes:
    formats = EXPORT_FORMATS.get(f.mime_type)
    if formats is None:
        raise DriveError(403, "fileNotExportable", "Export only supports Docs Editors files.")
    if not mime:
        raise DriveError(400, "required", "Required parameter: mimeType", location="mimeType")
    if mime not in formats:
        raise DriveError(400, "badRequest", "The requested conversion is not supported.", location="convertTo")
    if len(f.content) > EXPORT_LIMIT:
        raise DriveError(403, "exportSizeLimitExceeded", "This file is too large to be exported.")
    is_pdf = f.content.startswith(b"%PDF")
    if mime == "application/pdf":
        return f.content if is_pdf else text_pdf(f.content.decode("utf-8", "replace"))
    # no text kept beside a PDF rendering: the name stands for it
    text = f.name.encode() if mime.startswith("text/") and is_pdf else f.content
    return BOM + text.removeprefix(BOM) if mime == "text/plain" and f.mime_type == DOCUMENT else text
