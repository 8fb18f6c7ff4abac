"""Round 31: Drive v3 calls an evidence integration makes, through google-api-python-client unchanged against
the Drive emulator (HTTPS), that no test covered: exports over Drive's 10 MB (403 exportSizeLimitExceeded,
through ``files.export`` and ``export_media``), an export read by ``MediaIoBaseDownload``, the refusals of
downloading a Doc or a folder and of exporting a PDF or copying a folder, ``q`` terms (an escaped quote,
``mimeType contains``, ``properties has``, ``starred``; ``=`` on a name is case-sensitive), ``pageSize``
bounds, one ``files.update`` that renames, moves and uploads new content resumably, and the change feed
paged to its ``newStartPageToken``."""

from __future__ import annotations

import io

from googleapiclient.http import MediaInMemoryUpload, MediaIoBaseDownload, MediaIoBaseUpload

from sandbox.gdrive.store import DriveFile
from tests.sandbox.gdrive.calls import refused
from tests.sandbox.gdrive.test_client_probe import drive, upload

__all__ = ["drive"]
DOC = "application/vnd.google-apps.document"
FOLDER = "application/vnd.google-apps.folder"


def _doc(gdrive, name: str, text: bytes) -> str:
    store = gdrive.sandbox.store
    return store.add(DriveFile(store.new_id(), name, DOC, [gdrive.inbox_folder], "grc-admin@example.com", text)).id


def test_exports_over_ten_megabytes_and_the_other_refusals(drive, gdrive):
    files = drive.files()
    big = _doc(gdrive, "Access review", b"user,role\n" * (1024 * 1024 + 1))  # 10 MiB and 10 bytes
    for call in (files.export(fileId=big, mimeType="application/pdf"),
                 files.export_media(fileId=big, mimeType="text/plain")):
        status, detail = refused(call)
        assert (status, detail["reason"], detail["domain"]) == (403, "exportSizeLimitExceeded", "global")
    small = _doc(gdrive, "Policy", b"Access control policy v3")
    out = io.BytesIO()
    loader = MediaIoBaseDownload(out, files.export_media(fileId=small, mimeType="text/plain"), chunksize=4)
    done = False
    while not done:
        _, done = loader.next_chunk()
    assert out.getvalue().removeprefix(b"\xef\xbb\xbf") == b"Access control policy v3"
    assert files.export(fileId=small, mimeType="application/pdf").execute().startswith(b"%PDF")

    status, detail = refused(files.get_media(fileId=small))
    assert (status, detail["reason"]) == (403, "fileNotDownloadable")
    pdf = upload(drive, gdrive.evidence_folder, "scan.pdf", b"%PDF-1.4 scan")
    status, detail = refused(files.export(fileId=pdf["id"], mimeType="text/plain"))
    assert (status, detail["reason"]) == (403, "fileNotExportable")
    folder = files.create(body={"name": "Q1", "mimeType": FOLDER, "parents": [gdrive.evidence_folder]}).execute()
    status, detail = refused(files.get_media(fileId=folder["id"]))
    assert (status, detail["reason"]) == (403, "fileNotDownloadable")
    status, detail = refused(files.copy(fileId=folder["id"], body={"name": "Q1 copy"}))
    assert (status, detail["reason"]) == (403, "cannotCopyFile")  # [unc] the reason; Drive copies no folders


def test_query_terms_and_page_size_bounds(drive, gdrive):
    files, folder = drive.files(), gdrive.evidence_folder
    files.create(body={"name": "shot.png", "parents": [folder], "properties": {"control": "AC-2"},
                       "appProperties": {"source": "scanner"}, "starred": True},
                 media_body=MediaInMemoryUpload(b"\x89PNG\r\n\x1a\n" + b"\0" * 20, mimetype="image/png")).execute()
    upload(drive, folder, "it's.txt", b"quoted")
    upload(drive, folder, "notes.txt", b"plain")

    def names(q: str) -> list[str]:
        listed = files.list(q=f"'{folder}' in parents and ({q})", orderBy="name", fields="files(name)").execute()
        return [f["name"] for f in listed["files"]]

    assert names("name = 'it\\'s.txt'") == ["it's.txt"]
    assert names("mimeType contains 'image/'") == ["shot.png"]
    assert names("properties has { key='control' and value='AC-2' }") == ["shot.png"]
    assert names("appProperties has { key='source' and value='scanner' }") == ["shot.png"]
    assert names("properties has { key='control' and value='AC-3' }") == []
    assert names("starred = true") == ["shot.png"] and names("not starred = true") == ["it's.txt", "notes.txt"]
    assert names("name = 'SHOT.png'") == [] and names("name contains 'SHOT'") == ["shot.png"]
    for size in (0, 1001):
        status, detail = refused(files.list(q=f"'{folder}' in parents", pageSize=size))
        assert (status, detail["reason"], detail["location"]) == (400, "invalid", "pageSize")
        assert detail["message"] == f"Invalid value '{size}'. Values must be within the range: [1, 1000]"
    assert len(files.list(q=f"'{folder}' in parents", pageSize=1000).execute()["files"]) == 3


def test_one_update_renames_moves_and_replaces_content_then_the_change_feed_shows_it(drive, gdrive):
    files, changes = drive.files(), drive.changes()
    f = upload(drive, gdrive.evidence_folder, "draft.txt", b"v1")
    sub = files.create(body={"name": "Final", "mimeType": FOLDER, "parents": [gdrive.evidence_folder]}).execute()
    token = changes.getStartPageToken().execute()["startPageToken"]
    media = MediaIoBaseUpload(io.BytesIO(b"v2" * 200_000), mimetype="text/plain", chunksize=256 * 1024,
                              resumable=True)
    request = files.update(fileId=f["id"], body={"name": "final.txt"}, addParents=sub["id"],
                           removeParents=gdrive.evidence_folder, media_body=media, fields="id,name,parents,size")
    done = None
    while done is None:
        _, done = request.next_chunk()
    assert done == {"id": f["id"], "name": "final.txt", "parents": [sub["id"]], "size": "400000"}
    assert files.get_media(fileId=f["id"]).execute() == b"v2" * 200_000
    listed = files.list(q=f"'{gdrive.evidence_folder}' in parents and name = 'final.txt'").execute()["files"]
    assert listed == []  # no longer in the folder it left

    upload(drive, sub["id"], "second.txt", b"x")
    seen, pages, page = [], 0, {"nextPageToken": token}
    while "nextPageToken" in page:
        page = changes.list(pageToken=page["nextPageToken"], pageSize=1,
                            fields="nextPageToken,newStartPageToken,changes(fileId,file(name))").execute()
        seen += [(c["fileId"], c["file"]["name"]) for c in page["changes"]]
        pages += 1
    assert (f["id"], "final.txt") in seen and pages >= 2 and "newStartPageToken" in page
    assert changes.list(pageToken=page["newStartPageToken"]).execute()["changes"] == []
    status, detail = refused(changes.list(pageToken="not-a-token"))
    assert (status, detail["location"]) == (400, "pageToken")
