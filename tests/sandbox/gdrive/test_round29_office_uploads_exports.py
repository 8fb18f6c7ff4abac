"""Round 29: Drive calls through google-api-python-client unchanged that Office files and long batch ids make.

- A multipart upload (``MediaInMemoryUpload``/``MediaIoBaseUpload``, not resumable) of a .docx, .xlsx or .pptx
  was 400 badContent: googleapiclient's MIME generator folds the part's long ``Content-Type`` header onto a
  continuation line, which the emulator's multipart parser refused. A batch whose request ids are longer than
  about 25 characters was 400 for the same reason (its ``Content-ID`` header folds).
- Exports of Docs Editors files to .docx/.xlsx/.pptx/.odt/.ods/.odp/EPUB/zipped HTML/RTF/PNG/JPEG/SVG were the
  file's kept text, not a file of that type (a .docx export was not a zip); TSV was comma-separated.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile

from googleapiclient.http import BatchHttpRequest, MediaInMemoryUpload, MediaIoBaseDownload, MediaIoBaseUpload

from tests.sandbox.gdrive.test_client_probe import drive

__all__ = ["drive"]
OOXML = "application/vnd.openxmlformats-officedocument."
ODF = "application/vnd.oasis.opendocument."
APPS = "application/vnd.google-apps."
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
S = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _office_bytes(member: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr(member, "<x/>")
    return buf.getvalue()


def test_office_files_upload_in_one_multipart_request(drive, gdrive):
    files = drive.files()
    for ext, mime, member in (("docx", OOXML + "wordprocessingml.document", "word/document.xml"),
                              ("xlsx", OOXML + "spreadsheetml.sheet", "xl/workbook.xml"),
                              ("pptx", OOXML + "presentationml.presentation", "ppt/presentation.xml")):
        data = _office_bytes(member)
        made = files.create(body={"name": f"evidence.{ext}", "parents": [gdrive.evidence_folder]},
                            media_body=MediaInMemoryUpload(data, mimetype=mime), fields="id,mimeType,size").execute()
        assert (made["mimeType"], made["size"]) == (mime, str(len(data)))
        assert files.get_media(fileId=made["id"]).execute() == data
        streamed = files.update(fileId=made["id"], body={"description": "v2"}, fields="id,size,description",
                                media_body=MediaIoBaseUpload(io.BytesIO(data + b"\n"), mimetype=mime)).execute()
        assert (streamed["size"], streamed["description"]) == (str(len(data) + 1), "v2")
    # a .docx converted to a Google Doc on the way in, the same way
    doc = files.create(body={"name": "Policy", "mimeType": APPS + "document", "parents": [gdrive.evidence_folder]},
                       media_body=MediaInMemoryUpload(b"Access policy", mimetype=OOXML + "wordprocessingml.document"),
                       fields="id,mimeType").execute()
    assert doc["mimeType"] == APPS + "document"


def test_batch_of_one_hundred_with_long_request_ids(drive, gdrive):
    files = drive.files()
    made = files.create(body={"name": "batched.txt", "parents": [gdrive.evidence_folder]},
                        media_body=MediaInMemoryUpload(b"b", mimetype="text/plain"), fields="id").execute()
    answers: dict[str, tuple] = {}
    batch = BatchHttpRequest(callback=lambda rid, resp, exc: answers.setdefault(rid, (resp, exc)),
                             batch_uri=gdrive.sandbox.url + "/batch/drive/v3")
    ids = [f"evidence-file-{n:03d}-{made['id']}" for n in range(100)]  # about 50 characters each
    for n, rid in enumerate(ids):
        target = made["id"] if n % 10 else "missing-file"
        batch.add(files.get(fileId=target, fields="id,owners(emailAddress),capabilities(canEdit)"), request_id=rid)
    batch.execute()
    assert sorted(answers) == sorted(ids)
    for n, rid in enumerate(ids):
        resp, exc = answers[rid]
        if n % 10:
            assert exc is None and resp == {"id": made["id"], "owners": [{"emailAddress": gdrive.client_email}],
                                            "capabilities": {"canEdit": True}}
        else:
            assert resp is None and exc.resp.status == 404


def _zip_of(data: bytes) -> zipfile.ZipFile:
    assert data[:4] == b"PK\x03\x04", data[:40]
    z = zipfile.ZipFile(io.BytesIO(data))
    assert z.testzip() is None
    return z


def _odf_kind(data: bytes) -> str:
    z = _zip_of(data)
    first = z.infolist()[0]
    assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED  # as ODF and EPUB ask
    ET.fromstring(z.read("content.xml")) if "content.xml" in z.namelist() else None
    return z.read("mimetype").decode()


def test_exports_are_files_of_their_type(drive, gdrive):
    from PIL import Image

    files = drive.files()
    folder = [gdrive.evidence_folder]
    doc = files.create(body={"name": "Access & review", "mimeType": APPS + "document", "parents": folder},
                       media_body=MediaInMemoryUpload("Access policy\nReviewed <2026> by Zoë".encode(),
                                                      mimetype="text/plain"), fields="id").execute()["id"]
    sheet = files.create(body={"name": "Controls", "mimeType": APPS + "spreadsheet", "parents": folder},
                         media_body=MediaInMemoryUpload(b'control,owner\nAC-1,"Smith, J"\n', mimetype="text/csv"),
                         fields="id").execute()["id"]
    slides = files.create(body={"name": "Deck", "mimeType": APPS + "presentation", "parents": folder},
                          fields="id").execute()["id"]

    def export(file_id: str, mime: str) -> bytes:
        return files.export(fileId=file_id, mimeType=mime).execute()

    body = ET.fromstring(_zip_of(export(doc, OOXML + "wordprocessingml.document")).read("word/document.xml"))
    assert ["".join(t.text or "" for t in p.iter(W + "t")) for p in body.iter(W + "p")] == [
        "Access policy", "Reviewed <2026> by Zoë"]
    cells = ET.fromstring(_zip_of(export(sheet, OOXML + "spreadsheetml.sheet")).read("xl/worksheets/sheet1.xml"))
    assert [[c.findtext(f"{S}is/{S}t") for c in row] for row in cells.iter(S + "row")] == [
        ["control", "owner"], ["AC-1", "Smith, J"]]
    assert "ppt/slides/slide1.xml" in _zip_of(export(slides, OOXML + "presentationml.presentation")).namelist()
    assert _odf_kind(export(doc, ODF + "text")) == ODF + "text"
    assert _odf_kind(export(sheet, ODF + "spreadsheet")) == ODF + "spreadsheet"
    assert _odf_kind(export(slides, ODF + "presentation")) == ODF + "presentation"
    assert _odf_kind(export(doc, "application/epub+zip")) == "application/epub+zip"
    page = _zip_of(export(doc, "application/zip"))
    assert [n for n in page.namelist() if n.endswith(".html")] and b"Access policy" in page.read(page.namelist()[0])
    assert export(doc, "application/rtf").startswith(b"{\\rtf1") and b"Zo\\u235?" in export(doc, "application/rtf")
    assert export(sheet, "text/tab-separated-values") == b"control\towner\nAC-1\tSmith, J\n"
    assert export(sheet, "text/csv") == b'control,owner\nAC-1,"Smith, J"\n'  # text formats are still the text
    for mime, kind in (("image/png", "PNG"), ("image/jpeg", "JPEG")):
        assert Image.open(io.BytesIO(export(slides, mime))).format == kind
    assert ET.fromstring(export(slides, "image/svg+xml")).tag == "{http://www.w3.org/2000/svg}svg"

    # the same through MediaIoBaseDownload, in small chunks
    buf = io.BytesIO()
    download = MediaIoBaseDownload(buf, files.export_media(fileId=doc, mimeType=OOXML + "wordprocessingml.document"),
                                   chunksize=512)
    done = False
    while not done:
        _, done = download.next_chunk(num_retries=2)
    assert "word/document.xml" in _zip_of(buf.getvalue()).namelist()
