"""Evidence folders in Google Drive as evidence: every file dropped in a watched folder passes the
Evidence Library (scan, metadata, classification, store) and becomes a ``drive_files`` row.

Grain: one row per Drive file id, merged on it. Incremental by Drive's change feeds: one log for the
account (My Drive, what is shared with it) and one per shared drive, which alone carries its items'
changes. Each run finds each folder's log (``files.get`` ``driveId``) and follows each log its folders
need from its own token (``drive_feed.py``; state ``page_tokens`` by log, ``"user"`` the account's,
which takes an earlier version's single ``page_token``; ``folder_logs``). A new log or folder is read
whole (``corpora=drive`` for a shared drive) after taking the log's ``startPageToken``; a folder moved
to another drive is an error event and read whole there; a folder or drive the account cannot read is an
alert each run, its token kept. A file trashed, deleted or moved out of every watched folder is captured
(``is_deleted``); so is, when a folder is read whole, a file ``drive_files`` holds as present in it that
it no longer lists. What each file last was (and which are pending) is read from ``drive_files`` itself,
not dlt state, which would grow with the drive (``pipelines.common.evidence.stored_files``). A version
(id + md5) the library already handled is not downloaded again: a re-run stores nothing twice; a file
left ``pending`` (scanner, store or download failed) is read again on the next run.

Google-native files have no bytes to download (``alt=media`` is 403 fileNotDownloadable, which read as
a permission error: a task to share the folder, and the file pending forever): Docs, Sheets, Slides
and Drawings are exported as PDF (``<name>.pdf``; their version is ``modifiedTime``); shortcuts, Forms,
Sites and the rest are recorded ``quarantined`` with the reason (put the file itself in the folder),
not read again. A file listed over the library's size limit is left ``pending`` with the reason, not
downloaded (it is looked at again each run: in once the limit is raised). A download whose MD5 is not
the listed ``md5Checksum`` (the file changed between the listing and the read) is left ``pending`` and
read again next run, as S3's ``IfMatch`` does.

Two refusals are about the file, not the account's access (they read as permission errors: a task to share
the folder each time, the file pending): a Doc whose export is over Drive's 10 MB (403
``exportSizeLimitExceeded``) and a file Drive flagged as malware or spam (403 ``cannotDownloadAbusiveFile``,
also a ``security_alert``) are recorded ``quarantined`` with the reason; a new version is read again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.sources import DltResource

from pipelines.common.evidence import storable_text, stored_files, with_note
from pipelines.evidence_stores.drive_feed import FIELDS, USER, DriveFeed
from resources.evidence.base import StoreError
from resources.evidence.gdrive import ALL_DRIVES, RETRIES, drive_error, drive_service
from resources.evidence.library import EvidenceLibrary

FOLDER = "application/vnd.google-apps.folder"
GOOGLE_APPS = "application/vnd.google-apps."
EXPORT_AS_PDF = {GOOGLE_APPS + kind for kind in ("document", "spreadsheet", "presentation", "drawing")}
TOO_LARGE, ABUSIVE = "exportSizeLimitExceeded", "cannotDownloadAbusiveFile"  # 403s about the file, not access
KEPT = ("folder_id", "name", "drive_mime_type", "modified_time", "md5", "size_bytes", "sha256", "storage_uri",
        "is_deleted")


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Refused(Exception):
    """Drive will not give this file's bytes, whoever asks again: the message says why and what to do."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class DriveIngest(DriveFeed):
    def _read(self, request, action: str) -> bytes:
        """``_exec`` for a download or an export, with the refusals that are about the file (``Refused``)."""
        from googleapiclient.errors import HttpError

        try:
            return request.execute(num_retries=RETRIES)
        except HttpError as exc:
            reasons = {d.get("reason") for d in (exc.error_details or []) if isinstance(d, dict)}
            why = next((r for r in (TOO_LARGE, ABUSIVE) if r in reasons), None)
            if exc.resp.status != 403 or why is None:
                raise drive_error(exc, action, ", ".join(self.folders), "the service account") from None
            if why == TOO_LARGE:
                raise Refused(why, "Google Drive exports at most 10 MB of a Google Docs, Sheets or Slides file and "
                              "refused this one (403 exportSizeLimitExceeded): download it as PDF (File > "
                              "Download) and put the PDF in the folder") from None
            raise Refused(why, "Google Drive flagged the file as malware or spam and refuses to download it "
                          "(403 cannotDownloadAbusiveFile): it is not kept as evidence; ask its owner to check "
                          "it and put a clean copy in the folder") from None
        except Exception as exc:
            raise drive_error(exc, action, ", ".join(self.folders), "the service account") from None

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
                content = self._read(self.service.files().export_media(fileId=f["id"], mimeType="application/pdf"),
                                     "export as PDF")
            else:
                content = self._read(self.service.files().get_media(fileId=f["id"], **ALL_DRIVES), "download")
        except Refused as exc:
            message = f"{exc} ({name!r}, version {ref})"
            if exc.reason == ABUSIVE and not self.library.ledger.alerted("security_alert", "gdrive", message):
                # once per file version: a re-listing (a resync, a metadata change) reads it again, not alerts again
                self.library.ledger.alert("security_alert", "gdrive", message, filename=name, source="gdrive")
            return {**base, "status": "quarantined", "source_ref": ref, "reason": with_note(str(exc), note)}
        except StoreError as exc:
            self.alert(exc, name)
            return {**base, "status": "pending", "reason": str(exc)[:500], "source_ref": ref}
        listed = f.get("md5Checksum")
        if listed and hashlib.md5(content, usedforsecurity=False).hexdigest() != listed:
            return {**base, "status": "pending", "source_ref": ref, "reason": with_note(
                "the file changed while it was read (its MD5 is not the listed md5Checksum); read again on the "
                "next run", note)}
        base["size_bytes"] = len(content)  # the bytes stored: a Google Doc lists its quota size, not its export's
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
        tokens = dict(state.get("page_tokens") or {})
        if state.get("page_token") is not None:  # an earlier version's: the account's log, its folders followed
            tokens.setdefault(USER, state["page_token"])
        logs, whole, alerted = ingest.logs(dict(state.get("folder_logs") or {}), tokens,
                                           USER if state.get("page_token") is not None else None)
        by_log = {log: [f for f in folders if logs[f] == log] for log in dict.fromkeys(logs.values())}
        # a log read for the first time starts from the token taken before the listing; the others follow
        follow = {log: tokens[log] for log in by_log if log in tokens}
        tokens = {log: follow.get(log) or ingest.start_token(log, by_log[log]) for log in by_log}
        found: dict[str, dict[str, Any]] = {}
        for folder in whole:
            found.update((f["id"], f) for f in ingest.folder_files(folder, logs[folder]))
        # the listing is whole: a file of its folders the table holds as present but not listed is gone (the
        # table can hold rows no committed page token covers: a run killed while loading, a reset state)
        removed = [i for i, e in known.items() if i not in found and e.get("folder_id") in whole
                   and not e.get("is_deleted")]
        for file_id, (f, inside) in ingest.follow(follow, by_log, tokens, alerted).items():
            if inside and f["mimeType"] != FOLDER:
                found[file_id] = f
            elif not inside and file_id in known and (f is None or not known[file_id].get("is_deleted")):
                removed.append(file_id)  # removed, or moved out of every watched folder (back in: new)
        removed = [i for i in dict.fromkeys(removed) if i not in found]
        files = list(found.values())
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
        state.pop("page_token", None)
        state.update(page_tokens=tokens, folder_logs=logs)

    text = {c: {"data_type": "text", "nullable": True} for c in
            ("folder_id", "name", "drive_mime_type", "modified_time", "md5", "sha256", "storage_uri", "reason",
             "source_ref", "status", "seen_at")}
    return dlt.resource(rows, name="drive_files", primary_key="file_id", write_disposition="merge",
                        columns={**text, "size_bytes": {"data_type": "bigint", "nullable": True},
                                 "is_deleted": {"data_type": "bool", "nullable": True}})
