"""Evidence folders in Google Drive as evidence: every file dropped in a watched folder passes the
Evidence Library (scan, metadata, classification, store) and becomes a ``drive_files`` row.

Grain: one row per Drive file id, merged on it. Incremental by Drive's change feed: the first run reads
the folders whole and keeps the ``startPageToken`` taken before it; later runs read ``changes.list``
from the stored token. A file trashed, deleted or moved out of every watched folder is captured
(``is_deleted``); so is, when a run reads the folders whole, a file ``drive_files`` holds as present that
they no longer list. What each file last was (and which are pending) is read from ``drive_files`` itself,
not kept in dlt state, which would grow with the drive (``pipelines.common.evidence.stored_files``); the
state keeps only the page token. A file whose version (id + md5) the library already handled is not
downloaded again, so a re-run stores nothing twice; a file left ``pending`` (scanner, store or download
failed) is read again on the next run.

Google-native files have no bytes to download (``alt=media`` is 403 fileNotDownloadable, which read as
a permission error: a task to share the folder, and the file pending forever): Docs, Sheets, Slides
and Drawings are exported as PDF (``<name>.pdf``; their version is ``modifiedTime``); shortcuts, Forms,
Sites and the rest are recorded ``quarantined`` with the reason (put the file itself in the folder),
not read again. A file listed over the library's size limit is left ``pending`` with the reason, not
downloaded (it is looked at again each run: in once the limit is raised). A download whose MD5 is not
the listed ``md5Checksum`` (the file changed between the listing and the read) is left ``pending`` and
read again next run, as S3's ``IfMatch`` does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.sources import DltResource

from pipelines.common.evidence import storable_text, stored_files, with_note
from resources.evidence.base import StoreError, StorePermissionError
from resources.evidence.gdrive import ALL_DRIVES, LISTING, RETRIES, drive_error, drive_service
from resources.evidence.library import EvidenceLibrary

FOLDER = "application/vnd.google-apps.folder"
GOOGLE_APPS = "application/vnd.google-apps."
EXPORT_AS_PDF = {GOOGLE_APPS + kind for kind in ("document", "spreadsheet", "presentation", "drawing")}
FIELDS = "id,name,mimeType,parents,trashed,md5Checksum,size,modifiedTime"
KEPT = ("folder_id", "name", "drive_mime_type", "modified_time", "md5", "size_bytes", "sha256", "storage_uri",
        "is_deleted")


def _now() -> str:
    return datetime.now(UTC).isoformat()


class DriveIngest:
    def __init__(self, service, folders: list[str], library: EvidenceLibrary):
        self.service, self.folders, self.library = service, folders, library

    def _exec(self, request, action: str):
        try:
            return request.execute(num_retries=RETRIES)
        except Exception as exc:
            raise drive_error(exc, action, ", ".join(self.folders), "the service account") from None

    def folder_files(self) -> Iterator[dict[str, Any]]:
        for folder in self.folders:
            token = None
            while True:
                page = self._exec(self.service.files().list(
                    q=f"'{folder}' in parents and trashed = false", pageSize=200, pageToken=token,
                    fields=f"nextPageToken,files({FIELDS})", **LISTING), "files.list")
                yield from page.get("files", [])
                token = page.get("nextPageToken")
                if not token:
                    break

    def changes(self, token: str) -> tuple[list[dict[str, Any]], str]:
        out: list[dict[str, Any]] = []
        while True:
            page = self._exec(self.service.changes().list(pageToken=token, pageSize=200, includeRemoved=True, **LISTING,
                                                           fields=f"nextPageToken,newStartPageToken,changes("
                                                                  f"fileId,removed,file({FIELDS}))"),
                              "changes.list")
            out += page.get("changes", [])
            if page.get("newStartPageToken"):
                return out, page["newStartPageToken"]
            token = page["nextPageToken"]

    def alert(self, exc: StoreError, filename: str | None) -> None:
        """A permission error is a task (someone must share the folder); anything else an error event."""
        kind = "permission_task" if isinstance(exc, StorePermissionError) else "error_event"
        self.library.ledger.alert(kind, "gdrive", str(exc), filename=filename, source="gdrive")

    def row(self, f: dict[str, Any]) -> dict[str, Any]:
        folder = next((p for p in f.get("parents", []) if p in self.folders), None)
        name, name_note = storable_text(f.get("name"), "name")
        mime, mime_note = storable_text(f.get("mimeType"), "mimeType")
        note = with_note(name_note, mime_note)
        base = {"file_id": f["id"], "folder_id": folder, "name": name, "drive_mime_type": mime,
                "modified_time": f.get("modifiedTime"), "md5": f.get("md5Checksum"),
                "size_bytes": int(f.get("size") or 0), "is_deleted": bool(f.get("trashed")), "seen_at": _now()}
        if base["is_deleted"]:
            return {**base, "status": "deleted"}
        ref = f"{f['id']}@{f.get('md5Checksum') or f.get('modifiedTime')}"
        settled = self.library.settled_row("gdrive", ref, {**base, "source_ref": ref})
        if settled is not None:
            return {**settled, "reason": with_note(settled["reason"], note)}
        over = self.library.over_limit(base["size_bytes"], "Drive folder")
        if over:  # never read into memory whole: it stays in the folder
            return {**base, "status": "pending", "source_ref": ref, "reason": with_note(over, note)}
        native = str(f.get("mimeType") or "").startswith(GOOGLE_APPS)
        if native and f.get("mimeType") not in EXPORT_AS_PDF:
            return {**base, "status": "quarantined", "source_ref": ref, "reason": with_note(
                f"a Google Drive {mime} has no content to keep as evidence: put the file itself in the folder "
                "(for a shortcut, its target), or export it", note)}
        try:
            if native:
                content = self._exec(self.service.files().export_media(fileId=f["id"], mimeType="application/pdf"),
                                     "export as PDF")
            else:
                content = self._exec(self.service.files().get_media(fileId=f["id"], **ALL_DRIVES), "download")
        except StoreError as exc:
            self.alert(exc, name)
            return {**base, "status": "pending", "reason": str(exc)[:500], "source_ref": ref}
        listed = f.get("md5Checksum")
        if listed and hashlib.md5(content, usedforsecurity=False).hexdigest() != listed:
            return {**base, "status": "pending", "source_ref": ref, "reason": with_note(
                "the file changed while it was read (its MD5 is not the listed md5Checksum); read again on the "
                "next run", note)}
        filename = (name or f["id"]) + (".pdf" if native else "")
        outcome = self.library.ingest(content, filename, "gdrive", [f"drive-folder:{folder}"], ref)
        return {**base, "status": outcome.status, "sha256": outcome.sha256, "storage_uri": outcome.storage_uri,
                "reason": with_note(outcome.reason, note), "source_ref": ref}


def drive_files_resource(folders: list[str], credentials_file: str, api_endpoint: str | None = None,
                         library: EvidenceLibrary | None = None) -> DltResource:
    def rows() -> Iterator[dict[str, Any]]:
        state = dlt.current.resource_state()
        ingest = DriveIngest(drive_service(credentials_file, api_endpoint), folders,
                             library or EvidenceLibrary.from_env())
        # what each file last was (so a deleted file's row still says which stored bytes went away)
        known, retry = stored_files("drive_files", KEPT, state, deleted=True)
        token = state.get("page_token")
        if token is None:
            start = ingest._exec(ingest.service.changes().getStartPageToken(**ALL_DRIVES), "changes.getStartPageToken")
            files, token = list(ingest.folder_files()), start["startPageToken"]
            # the listing is whole: a file of its folders the table holds as present but not listed is gone (the
            # table can hold rows no committed page token covers: a run killed while loading, a reset state)
            listed = {f["id"] for f in files}
            removed = [i for i, e in known.items() if i not in listed and e.get("folder_id") in folders
                       and not e.get("is_deleted")]
        else:
            changes, token = ingest.changes(token)
            files, removed = [], []
            for c in changes:
                f = None if c.get("removed") else c.get("file")
                if f is not None and set(f.get("parents", [])) & set(folders):
                    if f["mimeType"] != FOLDER:
                        files.append(f)
                elif c["fileId"] in known and (f is None or not known[c["fileId"]].get("is_deleted")):
                    removed.append(c["fileId"])  # removed, or moved out of every watched folder (back in: new)
        seen = {f["id"] for f in files}
        for file_id in retry:
            if file_id in seen or file_id in removed:
                continue
            try:
                request = ingest.service.files().get(fileId=file_id, fields=FIELDS, **ALL_DRIVES)
                files.append(ingest._exec(request, "files.get"))
            except StoreError as exc:  # still unreadable: it stays pending, with the reason
                ingest.alert(exc, known.get(file_id, {}).get("name"))
                yield {**known.get(file_id, {}), "file_id": file_id, "status": "pending", "reason": str(exc)[:500],
                       "is_deleted": False, "seen_at": _now()}
        for f in files:
            if f["mimeType"] == FOLDER:
                continue
            row = ingest.row(f)
            if row["status"] == "deleted":
                row = {**known.get(f["id"], {}), **{k: v for k, v in row.items() if v is not None}}
            known[f["id"]] = {k: row.get(k) for k in KEPT}
            yield row
        for file_id in removed:
            yield {**known[file_id], "file_id": file_id, "status": "deleted", "is_deleted": True, "seen_at": _now()}
        state.update(page_token=token)

    text = {c: {"data_type": "text", "nullable": True} for c in
            ("folder_id", "name", "drive_mime_type", "modified_time", "md5", "sha256", "storage_uri", "reason",
             "source_ref", "status", "seen_at")}
    return dlt.resource(rows, name="drive_files", primary_key="file_id", write_disposition="merge",
                        columns={**text, "size_bytes": {"data_type": "bigint", "nullable": True},
                                 "is_deleted": {"data_type": "bool", "nullable": True}})
