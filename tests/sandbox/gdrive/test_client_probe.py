"""google-api-python-client calls a Drive integration makes: paging files.list, moving files between
folders (addParents/removeParents), files.copy, and Drive's 400 for a page token it never issued."""

from __future__ import annotations

import pytest
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaInMemoryUpload


@pytest.fixture
def drive(gdrive):
    creds = service_account.Credentials.from_service_account_file(
        str(gdrive.key_file), scopes=["https://www.googleapis.com/auth/drive"])
    return build("drive", "v3", credentials=creds, client_options={"api_endpoint": gdrive.api_endpoint},
                 cache_discovery=False, static_discovery=True)


def upload(drive, folder: str, name: str, data: bytes) -> dict:
    media = MediaInMemoryUpload(data, mimetype="text/plain")
    return drive.files().create(body={"name": name, "parents": [folder]}, media_body=media,
                                fields="id,name,parents").execute()


def test_paging_move_copy_and_bad_page_token(drive, gdrive):
    for n in range(3):
        upload(drive, gdrive.evidence_folder, f"e{n}.txt", b"x" * n)
    q = f"'{gdrive.evidence_folder}' in parents and trashed = false"
    first = drive.files().list(q=q, pageSize=2, fields="nextPageToken, files(id, name)").execute()
    rest = drive.files().list(q=q, pageSize=2, pageToken=first["nextPageToken"]).execute()
    assert len(first["files"]) == 2 and len(rest["files"]) == 1 and "nextPageToken" not in rest
    with pytest.raises(HttpError) as err:
        drive.files().list(q=q, pageToken="not-a-token").execute()
    assert err.value.resp.status == 400 and err.value.error_details[0]["location"] == "pageToken"

    sub = drive.files().create(body={"name": "Q4", "mimeType": "application/vnd.google-apps.folder",
                                     "parents": [gdrive.evidence_folder]}).execute()
    moved = drive.files().update(fileId=first["files"][0]["id"], addParents=sub["id"],
                                 removeParents=gdrive.evidence_folder, fields="id,parents").execute()
    assert moved["parents"] == [sub["id"]]
    with pytest.raises(HttpError) as err:
        drive.files().update(fileId=moved["id"], addParents=gdrive.inbox_folder).execute()
    assert err.value.resp.status == 403

    copy = drive.files().copy(fileId=moved["id"], body={"name": "copy.txt"}, fields="id,name,parents").execute()
    assert copy["name"] == "copy.txt" and copy["id"] != moved["id"] and copy["parents"] == [sub["id"]]
    original = drive.files().get_media(fileId=moved["id"]).execute()
    assert drive.files().get_media(fileId=copy["id"]).execute() == original
