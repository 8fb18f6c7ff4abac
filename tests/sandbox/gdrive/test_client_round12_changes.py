"""changes.list through google-api-python-client, round 12: several changes to one file between two page
tokens read as one entry (its latest state), on every page size and from every token; ``includeRemoved``,
``includeCorpusRemovals``, ``restrictToMyDrive``, ``includeItemsFromAllDrives``/``supportsAllDrives`` and
``driveId`` on top of that; ``newStartPageToken`` only on the last page."""

from __future__ import annotations

from googleapiclient.http import MediaInMemoryUpload

from tests.sandbox.gdrive.calls import refused
from tests.sandbox.gdrive.test_client_probe import drive

__all__ = ["drive"]
ALL = {"includeItemsFromAllDrives": True, "supportsAllDrives": True}
FIELDS = "nextPageToken,newStartPageToken,changes(changeType,fileId,driveId,removed,file(id,name,trashed))"


def _start(client, **kwargs) -> str:
    return client.changes().getStartPageToken(**kwargs).execute()["startPageToken"]


def _pages(client, token: str, page_size: int = 100, **kwargs) -> list[dict]:
    """Every page from ``token`` on, as the API gives them."""
    pages = []
    while True:
        got = client.changes().list(pageToken=token, pageSize=page_size, fields=FIELDS, **kwargs).execute()
        pages.append(got)
        if "nextPageToken" not in got:
            return pages
        token = got["nextPageToken"]


def _changes(pages: list[dict]) -> list[tuple]:
    return [(c.get("fileId"), c["removed"], (c.get("file") or {}).get("name")) for p in pages for c in p["changes"]]


def test_several_changes_to_one_file_are_one_entry_with_its_latest_state(drive, gdrive):
    start = _start(drive)
    body = {"name": "policy.txt", "parents": [gdrive.evidence_folder]}
    f = drive.files().create(body=body, media_body=MediaInMemoryUpload(b"v1"), fields="id").execute()["id"]
    g = drive.files().create(body={"name": "other.txt", "parents": [gdrive.evidence_folder]}).execute()["id"]
    drive.files().update(fileId=f, media_body=MediaInMemoryUpload(b"v2")).execute()
    middle = _start(drive)
    drive.files().update(fileId=f, body={"name": "policy-v3.txt"}).execute()

    pages = _pages(drive, start)
    # g, then f where its last change stands, as it is now
    assert _changes(pages) == [(g, False, "other.txt"), (f, False, "policy-v3.txt")]
    assert "newStartPageToken" in pages[-1]
    assert _changes(_pages(drive, middle)) == [(f, False, "policy-v3.txt")]

    paged = _pages(drive, start, page_size=1)  # one by one: the same entries, the token only on the last page
    assert _changes(paged) == _changes(pages)
    assert all("newStartPageToken" not in p and "nextPageToken" in p for p in paged[:-1])
    assert "newStartPageToken" in paged[-1] and paged[-1]["newStartPageToken"] == pages[-1]["newStartPageToken"]


def test_created_then_deleted_reads_as_removed_and_include_removed_false_hides_it(drive, gdrive):
    start = _start(drive)
    gone = drive.files().create(body={"name": "scratch.txt"}, fields="id").execute()["id"]
    drive.files().update(fileId=gone, body={"name": "scratch2.txt"}).execute()
    drive.files().delete(fileId=gone).execute()
    kept = drive.files().create(body={"name": "kept.txt"}, fields="id").execute()["id"]

    assert _changes(_pages(drive, start)) == [(gone, True, None), (kept, False, "kept.txt")]
    assert _changes(_pages(drive, start, includeRemoved=False)) == [(kept, False, "kept.txt")]
    # restrictToMyDrive: both were in My Drive; a file shared with the caller from another's folder is not
    shared = drive.files().create(body={"name": "in-evidence.txt", "parents": [gdrive.evidence_folder]},
                                  fields="id").execute()["id"]
    assert [c[0] for c in _changes(_pages(drive, start, restrictToMyDrive=True))] == [gone, kept]
    assert [c[0] for c in _changes(_pages(drive, start))] == [gone, kept, shared]


def test_shared_drive_log_collapses_and_reports_a_file_that_left_it(drive, gdrive):
    team = drive.drives().create(requestId="r12-1", body={"name": "Controls"}, fields="id").execute()["id"]
    team_start, user_start = _start(drive, driveId=team, supportsAllDrives=True), _start(drive)
    f = drive.files().create(body={"name": "c1.txt", "parents": [team]}, supportsAllDrives=True,
                             fields="id").execute()["id"]
    drive.files().update(fileId=f, body={"name": "c2.txt"}, supportsAllDrives=True).execute()
    assert _changes(_pages(drive, team_start, driveId=team, **ALL)) == [(f, False, "c2.txt")]
    # the drive's log without includeItemsFromAllDrives is still the drive's log
    assert _changes(_pages(drive, team_start, driveId=team, supportsAllDrives=True)) == [(f, False, "c2.txt")]
    assert refused(drive.changes().list(pageToken=team_start, driveId=team))[0] == 403  # no supportsAllDrives

    # moved to My Drive: removed from the drive's log (with includeCorpusRemovals, the file as it is now) ...
    drive.files().update(fileId=f, addParents="root", removeParents=team, supportsAllDrives=True).execute()
    assert _changes(_pages(drive, team_start, driveId=team, **ALL)) == [(f, True, None)]
    corpus = _pages(drive, team_start, driveId=team, includeCorpusRemovals=True, **ALL)
    assert _changes(corpus) == [(f, True, "c2.txt")]
    # ... and, in the user's log that shows both, one entry where it is now
    user = drive.changes().list(pageToken=user_start, fields="changes(fileId,driveId,removed)", **ALL).execute()
    assert user["changes"] == [{"fileId": f, "removed": False}]
    assert _changes(_pages(drive, user_start)) == [(f, False, "c2.txt")]  # without the flags: My Drive only
