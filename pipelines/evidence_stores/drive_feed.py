"""The change feeds of the Drive evidence inbox (``drive.py``): Drive keeps one change log for the account
(its My Drive and what is shared with it) and one per shared drive, and a shared drive's items change
only in that drive's log (``changes.getStartPageToken`` / ``changes.list`` with ``driveId``). Which log
each watched folder is in comes from ``files.get`` (``driveId``); a shared drive's folder is listed with
``corpora=drive``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from resources.evidence.base import StoreError, StorePermissionError
from resources.evidence.gdrive import ALL_DRIVES, LISTING, RETRIES, drive_error
from resources.evidence.library import EvidenceLibrary

FIELDS = "id,name,mimeType,parents,trashed,md5Checksum,size,modifiedTime"
USER = "user"  # the account's own change log, in ``page_tokens`` (the others are keyed by shared drive id)


def _where(log: str) -> str:
    return "My Drive (or shared with the account)" if log == USER else f"shared drive {log}"


class DriveFeed:
    """The Drive calls of an inbox ingestion: which change log each folder is in, whole listings, the feeds."""

    def __init__(self, service, folders: list[str], library: EvidenceLibrary):
        self.service, self.folders, self.library = service, folders, library

    def _exec(self, request, action: str, folders: list[str] | None = None):
        try:
            return request.execute(num_retries=RETRIES)
        except Exception as exc:
            raise drive_error(exc, action, ", ".join(folders or self.folders), "the service account") from None

    def folder_log(self, folder: str) -> str:
        """The change log that carries the folder's files: its shared drive's, or the account's."""
        got = self._exec(self.service.files().get(fileId=folder, fields="id,driveId", **ALL_DRIVES), "files.get",
                         [folder])
        return got.get("driveId") or USER

    @staticmethod
    def _log_args(log: str) -> dict[str, Any]:
        return {} if log == USER else {"driveId": log}

    def start_token(self, log: str, folders: list[str]) -> str:
        request = self.service.changes().getStartPageToken(**ALL_DRIVES, **self._log_args(log))
        return self._exec(request, "changes.getStartPageToken", folders)["startPageToken"]

    def folder_files(self, folder: str, log: str) -> Iterator[dict[str, Any]]:
        scope = LISTING if log == USER else {**LISTING, "corpora": "drive", "driveId": log}
        token = None
        while True:
            page = self._exec(self.service.files().list(
                q=f"'{folder}' in parents and trashed = false", pageSize=200, pageToken=token,
                fields=f"nextPageToken,files({FIELDS})", **scope), "files.list", [folder])
            yield from page.get("files", [])
            token = page.get("nextPageToken")
            if not token:
                break

    def changes(self, token: str, log: str, folders: list[str]) -> tuple[list[dict[str, Any]], str]:
        out: list[dict[str, Any]] = []
        while True:
            page = self._exec(self.service.changes().list(pageToken=token, pageSize=200, includeRemoved=True, **LISTING,
                                                           **self._log_args(log),
                                                           fields=f"nextPageToken,newStartPageToken,changes("
                                                                  f"changeType,fileId,removed,file({FIELDS}))"),
                              "changes.list", folders)
            out += page.get("changes", [])
            if page.get("newStartPageToken"):
                return out, page["newStartPageToken"]
            token = page["nextPageToken"]

    def logs(self, was: dict[str, str], tokens: dict[str, str], default: str | None
             ) -> tuple[dict[str, str], list[str], set[str]]:
        """Each folder's change log now; the folders to read whole (new, moved, or in a log without a token);
        the logs whose folders could not be looked up (alerted already). ``was``: each folder's log last run
        (``default`` for those it lacks: the account's, after an earlier version's single token)."""
        logs, whole, alerted = {}, [], set()
        for folder in self.folders:
            before = was.get(folder, default)
            try:
                logs[folder] = self.folder_log(folder)
            except StoreError as exc:  # gone, moved where the account cannot see, access lost, Drive failing
                if before is None:
                    raise  # nothing to follow it by: the run fails with the reason
                self.alert(exc, None)
                logs[folder] = before
                alerted.add(before)
                continue
            if folder in was and was[folder] != logs[folder]:
                self.alert(StoreError(
                    f"Google Drive folder {folder} moved from {_where(was[folder])} to {_where(logs[folder])}: "
                    "it is read whole where it is now"), None)
            if logs[folder] not in tokens or before != logs[folder]:
                whole.append(folder)
        return logs, whole, alerted

    def follow(self, follow: dict[str, str], by_log: dict[str, list[str]], tokens: dict[str, str],
               alerted: set[str]) -> dict[str, tuple[dict[str, Any] | None, bool]]:
        """Each followed log's changes (its new token into ``tokens``): file id -> (the file or None when
        removed, whether it is in a watched folder). A log that cannot be read (drive deleted, access lost)
        keeps its token and is alerted each run."""
        latest: dict[str, tuple[dict[str, Any] | None, bool]] = {}
        for log, token in follow.items():
            try:
                changes, tokens[log] = self.changes(token, log, by_log[log])
            except StoreError as exc:
                if log not in alerted:
                    self.alert(exc, None)
                continue
            # The account's own log also lists changes of shared drives themselves (changeType drive: joined,
            # renamed, deleted; no fileId): a followed drive lost is found by its own log's read failing.
            files = [c for c in changes if c.get("changeType", "file") == "file" and isinstance(c.get("fileId"), str)]
            last = {c["fileId"]: None if c.get("removed") else c.get("file") for c in files}  # the last wins
            for file_id, f in last.items():
                inside = f is not None and bool(set(f.get("parents", [])) & set(self.folders))
                if inside or file_id not in latest:  # in one log's watched folder, gone from another's: moved
                    latest[file_id] = (f, inside)
        return latest

    def alert(self, exc: StoreError, filename: str | None) -> None:
        """A permission error is a task (someone must share the folder); anything else an error event."""
        kind = "permission_task" if isinstance(exc, StorePermissionError) else "error_event"
        self.library.ledger.alert(kind, "gdrive", str(exc), filename=filename, source="gdrive")
