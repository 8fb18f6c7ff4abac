"""The files a Docs Editors export hands out, in the shape of their format: Office Open XML (.docx, .xlsx,
.pptx) and OpenDocument (.odt, .ods, .odp) packages, EPUB, zipped HTML, RTF, tab-separated values, PNG,
JPEG and SVG. The emulator keeps a native file as text (a Doc's text, a Sheet's CSV, a Slides file's
text); these put that text into a minimal valid file of the asked type, so code that opens an export
(zipfile, openpyxl, python-docx, an image reader) gets what Drive's export would give it, not the text.
Exports used to be the kept bytes for every non-text format: a .docx export was not a zip.

Layout and styling are not rendered ([unc] how Drive lays out each file: only the text, and a Sheet's
cells, are carried over; a presentation's and drawing's images are one blank page-sized image)."""

from __future__ import annotations

import base64
import csv
import io
import struct
import zipfile
import zlib
from html import escape

OOXML = "application/vnd.openxmlformats-officedocument."
ODF = "application/vnd.oasis.opendocument."
_PKG_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.'
             'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
             'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="{}"/></Relationships>')
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_JPEG = base64.b64decode(  # a 1x1 white baseline JPEG
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1x"
    "eXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAAR"
    "CAABAAEDASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAf/xAAUEAEAAAAAAAAAAAAAAAAAAAAA/8QAFAEBAAAAAAAAAAAAAAAAAAAA"
    "AP/EABQRAQAAAAAAAAAAAAAAAAAAAAD/2gAMAwEAAhEDEQA/AKAAD//Z")


def _zip(members: list[tuple[str, str | bytes]], *, odf_mime: str = "") -> bytes:
    """A zip of ``members``; an OpenDocument (or EPUB) package starts with its stored ``mimetype``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        if odf_mime:
            z.writestr(zipfile.ZipInfo("mimetype"), odf_mime, compress_type=zipfile.ZIP_STORED)
        for name, data in members:
            z.writestr(name, data)
    return buf.getvalue()


def _content_types(overrides: dict[str, str]) -> str:
    parts = "".join(f'<Override PartName="{p}" ContentType="{t}"/>' for p, t in overrides.items())
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats.'
            'org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
            'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>' + parts + "</Types>")


def _odf(mime: str, body: str) -> bytes:
    manifest = ('<?xml version="1.0" encoding="UTF-8"?>\n<manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
                'opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/"'
                f' manifest:media-type="{mime}"/><manifest:file-entry manifest:full-path="content.xml" '
                'manifest:media-type="text/xml"/></manifest:manifest>')
    content = ('<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content xmlns:office="urn:oasis:names:tc:'
               'opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:draw="urn:oasis:names:tc:'
               'opendocument:xmlns:drawing:1.0" xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:'
               f'presentation:1.0" office:version="1.2"><office:body>{body}</office:body></office:document-content>')
    return _zip([("META-INF/manifest.xml", manifest), ("content.xml", content)], odf_mime=mime)


def _paragraphs(text: str, tag: str) -> str:
    return "".join(f"<{tag}>{escape(line, quote=False)}</{tag.split()[0]}>" for line in text.splitlines() or [""])


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _col(n: int) -> str:
    name = ""
    while True:
        n, r = divmod(n, 26)
        name = chr(65 + r) + name
        if n == 0:
            return name
        n -= 1


def docx(text: str) -> bytes:
    ns = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    paras = "".join(f'<w:p><w:r><w:t xml:space="preserve">{escape(line, quote=False)}</w:t></w:r></w:p>'
                    for line in text.splitlines() or [""])
    doc = f'{_XML}<w:document {ns}><w:body>{paras}</w:body></w:document>'
    return _zip([("[Content_Types].xml", _content_types({"/word/document.xml": OOXML + "wordprocessingml.document."
                                                                               "main+xml"})),
                 ("_rels/.rels", _PKG_RELS.format("word/document.xml")), ("word/document.xml", doc)])


def xlsx(text: str) -> bytes:
    main = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel_ns = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    rows = "".join(
        f'<row r="{r + 1}">' + "".join(f'<c r="{_col(c)}{r + 1}" t="inlineStr"><is><t>{escape(v, quote=False)}</t>'
                                       "</is></c>" for c, v in enumerate(row)) + "</row>"
        for r, row in enumerate(_rows(text)))
    sheet = f"{_XML}<worksheet {main}><sheetData>{rows}</sheetData></worksheet>"
    book = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook {main} {rel_ns}><sheets>'
            '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
    book_rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.'
                 'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
                 'openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
                 "</Relationships>")
    types = _content_types({"/xl/workbook.xml": OOXML + "spreadsheetml.sheet.main+xml",
                            "/xl/worksheets/sheet1.xml": OOXML + "spreadsheetml.worksheet+xml"})
    return _zip([("[Content_Types].xml", types), ("_rels/.rels", _PKG_RELS.format("xl/workbook.xml")),
                 ("xl/workbook.xml", book), ("xl/_rels/workbook.xml.rels", book_rels),
                 ("xl/worksheets/sheet1.xml", sheet)])


def pptx(text: str) -> bytes:
    ns = ('xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:p="http://schemas.openxmlformats.'
          'org/presentationml/2006/main"')
    paras = "".join(f"<a:p><a:r><a:t>{escape(line, quote=False)}</a:t></a:r></a:p>" for line in text.splitlines())
    slide = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<p:sld {ns}><p:cSld><p:spTree><p:sp>'
             f"<p:txBody>{paras or '<a:p/>'}</p:txBody></p:sp></p:spTree></p:cSld></p:sld>")
    pres = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<p:presentation {ns}/>'
    types = _content_types({"/ppt/presentation.xml": OOXML + "presentationml.presentation.main+xml",
                            "/ppt/slides/slide1.xml": OOXML + "presentationml.slide+xml"})
    return _zip([("[Content_Types].xml", types), ("_rels/.rels", _PKG_RELS.format("ppt/presentation.xml")),
                 ("ppt/presentation.xml", pres), ("ppt/slides/slide1.xml", slide)])


def html_page(text: str, title: str) -> str:
    return (f'<html><head><meta content="text/html; charset=UTF-8" http-equiv="content-type"><title>'
            f"{escape(title)}</title></head><body>{_paragraphs(text, 'p')}</body></html>")


def epub(text: str, title: str) -> bytes:
    container = ('<?xml version="1.0"?>\n<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:'
                 'container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-'
                 'package+xml"/></rootfiles></container>')
    opf = ('<?xml version="1.0" encoding="UTF-8"?>\n<package xmlns="http://www.idpf.org/2007/opf" version="3.0" '
           'unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">'
           f"drive-export</dc:identifier><dc:title>{escape(title)}</dc:title><dc:language>en</dc:language>"
           '</metadata><manifest><item id="t" href="text.xhtml" media-type="application/xhtml+xml"/></manifest>'
           '<spine><itemref idref="t"/></spine></package>')
    xhtml = ('<?xml version="1.0" encoding="UTF-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><head><title>'
             f"{escape(title)}</title></head><body>{_paragraphs(text, 'p')}</body></html>")
    return _zip([("META-INF/container.xml", container), ("OEBPS/content.opf", opf), ("OEBPS/text.xhtml", xhtml)],
                odf_mime="application/epub+zip")


def rtf(text: str) -> bytes:
    def esc(line: str) -> str:
        out = line.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}")
        return "".join(c if ord(c) < 128 else f"\\u{ord(c) if ord(c) < 32768 else ord(c) - 65536}?" for c in out)
    body = "\\par\n".join(esc(line) for line in text.splitlines())
    return ("{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0 Arial;}}\\f0\\fs22\n" + body + "\\par\n}").encode()


def png(width: int = 1, height: int = 1) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\xff\xff\xff" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def svg(text: str) -> bytes:
    lines = "".join(f'<text x="20" y="{40 + 24 * n}">{escape(line, quote=False)}</text>'
                    for n, line in enumerate(text.splitlines()[:20]))
    return ('<?xml version="1.0" standalone="no"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="960" height="540" '
            f'viewBox="0 0 960 540"><rect width="960" height="540" fill="#ffffff"/>{lines}</svg>').encode()


def render(mime: str, text: str, title: str) -> bytes | None:
    """``text`` exported as ``mime`` (a Doc's text, a Sheet's CSV, a presentation's text), or None for the
    text formats, which are the text itself."""
    if mime == OOXML + "wordprocessingml.document":
        return docx(text)
    if mime == OOXML + "spreadsheetml.sheet":
        return xlsx(text)
    if mime == OOXML + "presentationml.presentation":
        return pptx(text)
    if mime == ODF + "text":
        return _odf(mime, f"<office:text>{_paragraphs(text, 'text:p')}</office:text>")
    if mime in (ODF + "spreadsheet", "application/x-vnd.oasis.opendocument.spreadsheet"):
        rows = "".join("<table:table-row>" + "".join(
            f'<table:table-cell office:value-type="string"><text:p>{escape(v, quote=False)}</text:p>'
            "</table:table-cell>" for v in row) + "</table:table-row>" for row in _rows(text))
        return _odf(ODF + "spreadsheet", f'<office:spreadsheet><table:table table:name="Sheet1">{rows}'
                                         "</table:table></office:spreadsheet>")
    if mime == ODF + "presentation":
        return _odf(mime, '<office:presentation><draw:page draw:name="page1"><draw:frame><draw:text-box>'
                          f"{_paragraphs(text, 'text:p')}</draw:text-box></draw:frame></draw:page>"
                          "</office:presentation>")
    if mime == "application/epub+zip":
        return epub(text, title)
    if mime == "application/rtf":
        return rtf(text)
    if mime == "image/png":
        return png()
    if mime == "image/jpeg":
        return _JPEG
    if mime == "image/svg+xml":
        return svg(text)
    if mime == "text/tab-separated-values":
        return "".join("\t".join(v.replace("\t", " ") for v in row) + "\n" for row in _rows(text)).encode()
    return None


def zipped_html(text: str, title: str, sheet: bool) -> bytes:
    """Drive's "Web page (.html, zipped)": the document's page (a Sheet's first sheet) in a zip."""
    if sheet:
        rows = "".join("<tr>" + "".join(f"<td>{escape(v, quote=False)}</td>" for v in row) + "</tr>"
                       for row in _rows(text))
        page = (f'<html><head><meta content="text/html; charset=UTF-8" http-equiv="content-type"></head><body>'
                f"<table>{rows}</table></body></html>")
        return _zip([("Sheet1.html", page)])
    safe = "".join(c if c.isalnum() or c in " -_." else "_" for c in title).strip() or "document"
    return _zip([(f"{safe}.html", html_page(text, title))])
