"""Google Drive evidence creates name a file id reserved with files.generateIds, so a create whose reply was lost
is recognised by a read by id, which Drive answers current at once, where its search may lag a create by moments.
Before, the store searched the folder by content before a resend; with the search lagging, the file the first try
had made was not found and the resend stored the evidence twice. Against the Drive sandbox over HTTP, with the
unchanged Google client; the sandbox's ``search_lag_seconds`` plays the lagging index."""

from __future__ import annotations

from resources.evidence.base import content_address
from resources.evidence.gdrive import DriveStore


def _store(gdrive) -> DriveStore:
    store = DriveStore(gdrive.evidence_folder, str(gdrive.key_file), gdrive.api_endpoint)
    store.retry_wait = 0.01
    return store


def _copies(gdrive, data: bytes) -> list:
    sha = content_address(data)
    return [f for f in gdrive.sandbox.store.files.values() if f.app_properties.get("sha256") == sha and not f.trashed]


def _creates(gdrive) -> list[dict]:
    return [r for r in gdrive.sandbox.request_log if r["method"] == "POST" and r["path"] == "/upload/drive/v3/files"]


def test_a_lost_create_reply_is_found_by_its_reserved_id_while_the_search_lags(gdrive):
    gdrive.sandbox.search_lag_seconds = 60.0
    data = b"evidence whose create reply is lost while Drive's search lags"
    gdrive.sandbox.faults.set(rate_lost_reply=1.0, methods=["POST"], paths=[r"^/upload/drive/v3/files$"])
    try:
        obj = _store(gdrive).put(data, {"filename": "change-43.pdf"})
    finally:
        gdrive.sandbox.faults.clear()
    copies = _copies(gdrive, data)
    assert len(copies) == 1, f"{len(copies)} files on Drive for one piece of evidence"
    assert len(_creates(gdrive)) == 1 and obj.uri.endswith("/" + copies[0].id)
    assert obj.metadata["filename"] == "change-43.pdf"


def test_the_same_content_put_again_before_the_search_sees_it_is_stored_once(gdrive):
    gdrive.sandbox.search_lag_seconds = 60.0
    store, data = _store(gdrive), b"evidence sent twice in a row"
    first = store.put(data)
    assert store.put(data).uri == first.uri and len(_copies(gdrive, data)) == 1
    gdrive.sandbox.store.files[first.uri.rsplit("/", 1)[1]].trashed = True  # gone since: stored anew, once
    again = store.put(data)
    assert again.uri != first.uri and len(_copies(gdrive, data)) == 1


def test_a_resend_that_meets_the_file_reads_it_by_id(gdrive):
    """Drive's 409 ``duplicate`` (the reserved id is taken: an earlier try made the file) answers the create."""
    store, data = _store(gdrive), b"evidence made by a try the store never heard back from"
    made = store.put(data)
    file_id = made.uri.rsplit("/", 1)[1]
    from googleapiclient.http import MediaInMemoryUpload

    body = {"id": file_id, "name": content_address(data), "parents": [gdrive.evidence_folder],
            "appProperties": {"sha256": content_address(data)}}
    request = store.service.files().create(body=body, media_body=MediaInMemoryUpload(data), fields="id,size",
                                           supportsAllDrives=True)
    found = store._create_once(request, content_address(data), file_id)
    assert found["id"] == file_id and len(_copies(gdrive, data)) == 1
    assert any(r["method"] == "GET" and r["path"] == f"/drive/v3/files/{file_id}" for r in gdrive.sandbox.request_log)


def test_ids_are_reserved_a_batch_at_a_time(gdrive):
    store = _store(gdrive)
    for n in range(5):
        store.put(f"evidence {n}".encode())
    reserved = [r for r in gdrive.sandbox.request_log if r["path"] == "/drive/v3/files/generateIds"]
    assert len(reserved) == 1 and len(_creates(gdrive)) == 5
