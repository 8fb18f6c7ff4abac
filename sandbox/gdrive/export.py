"""``files.export`` for Docs Editors files, as Drive answers it: the target ``mimeType`` must be one of
the file type's export formats (``store.EXPORT_FORMATS``, also ``about.exportFormats``), else 400
badRequest "The requested conversion is not supported." on ``convertTo``; a file that is not a Docs
Editors file (a folder, a shortcut, a PDF) is 403 fileNotExportable; an export over 10 MB is 403
exportSizeLimitExceeded.

The emulator keeps a native file's ``content`` as its text (or, when it starts with ``%PDF``, as its
PDF rendering): text formats are that text, PDF is that PDF or a one-page PDF of the text, other
formats a minimal valid file of their type holding that text (``export_files.py``: a .docx or .xlsx is
an Office Open XML zip, a PNG a PNG; they were the kept bytes, so a .docx export was not a zip). A Google
Doc's ``text/plain`` export starts with a UTF-8 byte order mark (``EF BB BF``), as Google's does (widely
reported by integrators, not in Drive's reference; [unc] whether Slides' ``text/plain`` has one too: here
not)."""

from __future__ import annotations

from sandbox.core.pdf import text_pdf
from sandbox.gdrive.errors import DriveError
from sandbox.gdrive.export_files import render, zipped_html
from sandbox.gdrive.store import EXPORT_FORMATS, GOOGLE_APPS, DriveFile

EXPORT_LIMIT = 10 * 1024 * 1024
BOM = b"\xef\xbb\xbf"
DOCUMENT = GOOGLE_APPS + "document"
SPREADSHEET = GOOGLE_APPS + "spreadsheet"


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
    text = f.name.encode() if is_pdf else f.content
    if mime == "application/zip":
        return zipped_html(_text(text), f.name, f.mime_type == SPREADSHEET)
    shaped = render(mime, _text(text), f.name)  # .docx, .xlsx, .odt, EPUB, RTF, PNG, …: export_files.py
    if shaped is not None:
        return shaped
    return BOM + text.removeprefix(BOM) if mime == "text/plain" and f.mime_type == DOCUMENT else text


def _text(data: bytes) -> str:
    return data.removeprefix(BOM).decode("utf-8", "replace")
