"""``files.list`` and the change feed (``changes.getStartPageToken`` / ``changes.list``), mixed into
``DriveSandbox``.

files.list: ``q`` (``query.py``), ``orderBy`` (``name``, ``name_natural``, ``createdTime``,
``modifiedTime``, ``folder``, ``starred``, ``quotaBytesUsed``, each with ``desc``; with a ``fullText`` term
in ``q`` any ``orderBy`` is 400 badRequest, as Drive's error guide shows), pageSize 1..1000.
Shared drive items are listed only with ``includeItemsFromAllDrives=true`` and ``supportsAllDrives=true``;
``corpora=drive`` lists one shared drive (``driveId``), as Drive answers:

- ``driveId`` without ``corpora=drive`` or the reverse: 400 ``teamDriveIdRequiresTeamDriveCorpora``
  "The driveId parameter must be specified if and only if corpora is set to drive." (Drive's words);
- ``corpora`` drive/allDrives without ``includeItemsFromAllDrives=true``: 403 "The
  includeItemsFromAllDrives parameter must be set to true when driveId is specified or corpora contains
  drive or allDrives." (Drive's words; the reason ``teamDriveIncludeItemsRequired`` is guessed);
- ``includeItemsFromAllDrives=true`` without ``supportsAllDrives=true``: 403 (reason and message guessed);
- a shared drive the caller is not a member of: 404 notFound on ``driveId``.

With ``corpora=user`` (the default) or ``domain`` and ``includeItemsFromAllDrives=true``, a shared drive's
items are listed only when the caller created one or holds a permission on the item itself: Google's
reference for ``corpus=user`` says "If a user has permissions on a Shared Drive, the files inside it won't
be retrieved unless the user has created, opened, or shared the file" [unc: opened / shared by the caller
are not tracked here]; ``corpora=allDrives`` or ``drive`` list every item of the caller's shared drives.

changes: one entry per file (and per shared drive) between the page token and now, its latest change (Drive's
guide: the collection shows "the current state of each file"): a file created, updated and trashed reads as
one change, one created then deleted as one removed change; ``newStartPageToken`` only on the last page.
``includeRemoved=false`` leaves removed entries out; ``includeCorpusRemovals=true`` adds the file to a removed
entry when the caller still reads it (a file that left a shared drive's log). Each shared drive has its own
change log, read with ``driveId`` (and ``supportsAllDrives=true``;
a drive the caller is not a member of is 404 notFound on ``driveId``), whose entries carry ``driveId``.
The user's log (no ``driveId``) holds the changes to My Drive and what is shared with the caller and, with
``includeItemsFromAllDrives=true`` and ``supportsAllDrives=true`` (the first without the second is 403, as
files.list; Drive's answer there is guessed), as Drive's guide says ("A user's change log includes changes
to shared drives they're a member of"):

- the changes to items of the shared drives the caller is a member of now, since they joined (``driveId``
  on the change and its file); losing membership or a deleted drive takes the drive's items out of the
  log (guessed: the drive's removal stands for them); a file moved between logs both shown is reported
  once, where it is now;
- the changes of those drives themselves (``drives.py``): ``changeType: "drive"``, ``driveId``, ``drive``
  (the drive as drives.get shows it) or ``removed: true`` when it is deleted or the caller is no longer a
  member; ``type: "teamDrive"``, the deprecated name (guessed).

Guessed: Drive says "certain changes are reflected only in the shared drive's change log" without naming
them; here the user's log carries every change of a member's drive items. ``restrictToMyDrive=true`` and
``spaces`` without ``drive`` leave shared drive entries out."""

from __future__ import annotations

import re
import time
from typing import Any

from sandbox.core.http import Request, Response, json_response
from sandbox.core.numbers import ascii_int
from sandbox.gdrive.errors import DriveError
from sandbox.gdrive.fields import select
from sandbox.gdrive.query import compile_query, has_full_text
from sandbox.gdrive.spaces import in_my_drive, space_of, wanted_spaces
from sandbox.gdrive.store import FOLDER, Change, DriveFile

ORDER_KEYS = {"name": lambda f: (f.name.casefold(), f.name), "name_natural": lambda f: _natural(f.name),
              "createdTime": lambda f: f.created, "modifiedTime": lambda f: f.modified,
              "modifiedByMeTime": lambda f: f.modified, "viewedByMeTime": lambda f: f.modified,
              "recency": lambda f: f.modified, "folder": lambda f: f.mime_type != FOLDER,
              "starred": lambda f: not f.starred, "quotaBytesUsed": lambda f: 0 if f.native else len(f.content),
              "sharedWithMeTime": lambda f: f.created}
CORPORA = ("user", "domain", "drive", "allDrives")


def _natural(name: str) -> list[Any]:
    return [int(part) if part.isdecimal() else part.casefold() for part in re.split(r"(\d+)", name)]


def _sort(files: list[DriveFile], order_by: str) -> list[DriveFile]:
    """``orderBy`` as Drive takes it: comma-separated keys, each optionally followed by ``desc``."""
    keys = []
    for part in [p.strip() for p in order_by.split(",") if p.strip()]:
        words = part.split()
        if words[0] not in ORDER_KEYS or len(words) > 2 or words[1:] not in ([], ["asc"], ["desc"]):
            raise DriveError(400, "invalid", f"Invalid Value: orderBy {part!r}", location="orderBy")
        keys.append((ORDER_KEYS[words[0]], words[1:] == ["desc"]))
    for key, desc in reversed(keys):  # stable sorts, last key first
        files = sorted(files, key=key, reverse=desc)
    return files


def all_drives(req: Request) -> bool:
    """``supportsAllDrives=true`` (or the deprecated ``supportsTeamDrives``)."""
    return "true" in (req.query.get("supportsAllDrives"), req.query.get("supportsTeamDrives"))


def _include_items(req: Request) -> bool:
    return "true" in (req.query.get("includeItemsFromAllDrives"), req.query.get("includeTeamDriveItems"))


class Listing:
    """Uses the sandbox's ``store`` and ``_view``."""

    def _scope(self, req: Request) -> tuple[bool, str | None]:
        """(shared drive items wanted, the one drive of corpora=drive), after Drive's checks."""
        corpora, drive = req.query.get("corpora") or "user", req.query.get("driveId") or None
        if any(c not in CORPORA for c in corpora.split(",")):
            raise DriveError(400, "invalid", f"Invalid Value: corpora {corpora!r}", location="corpora")
        if (corpora == "drive") != (drive is not None):
            raise DriveError(400, "teamDriveIdRequiresTeamDriveCorpora", "The driveId parameter must be specified "
                             "if and only if corpora is set to drive.")
        include = _include_items(req)
        if corpora in ("drive", "allDrives") and not include:
            raise DriveError(403, "teamDriveIncludeItemsRequired", "The includeItemsFromAllDrives parameter must be "
                             "set to true when driveId is specified or corpora contains drive or allDrives.",
                             location="includeItemsFromAllDrives")
        if include and not all_drives(req):
            raise DriveError(403, "teamDriveItemsRequireTeamDriveSupport", "The includeItemsFromAllDrives parameter "
                             "can only be set to true when supportsAllDrives is also set to true.",
                             location="supportsAllDrives")
        if drive is not None and self.store.member_role(drive, req.principal) is None:
            raise DriveError(404, "notFound", f"Shared drive not found: {drive}", location="driveId")
        return include, drive

    def list_files(self, req: Request) -> Response:
        try:
            match = compile_query(req.query.get("q", ""))
        except ValueError:
            raise DriveError(400, "invalid", "Invalid Value", location="q") from None
        if req.query.get("orderBy", "").strip() and has_full_text(req.query.get("q", "")):  # Drive's guide's words
            raise DriveError(400, "badRequest", "Sorting is not supported for queries with fullText terms. Results "
                             "are always in descending relevance order.", location="orderBy")
        raw = req.query.get("pageSize") or "100"
        size = ascii_int(raw, cap=1001)  # not isdecimal() + int(): '٣' read as 3, 5,000 digits a 500 [round 27]
        if size is None or not 1 <= size <= 1000:
            raise DriveError(400, "invalid", f"Invalid value '{raw}'. Values must be within the range: [1, 1000]",
                             location="pageSize")
        offset = ascii_int(req.query.get("pageToken") or "0")
        if offset is None:
            raise DriveError(400, "invalid", "Invalid Value", location="pageToken")
        include, only = self._scope(req)
        spaces = wanted_spaces(req)
        with self.store.lock:
            hits, every = [], only is not None or "allDrives" in (req.query.get("corpora") or "").split(",")
            for f in self.store.files.values():
                drive = self.store.drive_of(f)
                if (only is not None and drive != only) or (drive is not None and not include):
                    continue
                if drive is not None and not every and not (f.owner == req.principal or f.role_of(req.principal)):
                    continue  # corpora=user: a member's drive items they neither created nor were given
                if space_of(self.store, f) not in spaces:  # app data files only with spaces=appDataFolder
                    continue
                if self.search_ready and self.search_ready.get(f.id, 0.0) > time.monotonic():
                    continue  # not in the search index yet (sb.search_lag_seconds)
                if self.store.can_read(f, req.principal) and match(f, req.principal):
                    hits.append(f)
            hits = _sort(hits, req.query.get("orderBy") or "")
            page = [self._view(f, req) for f in hits[offset:offset + size]]
        body: dict[str, Any] = {"kind": "drive#fileList", "incompleteSearch": False, "files": page}
        if offset + size < len(hits):
            body["nextPageToken"] = str(offset + size)
        return json_response(select(body, "fileList", req.query.get("fields")))

    @staticmethod
    def _shared_items(req: Request) -> bool:
        """``includeItemsFromAllDrives=true`` on a changes call, which needs ``supportsAllDrives=true`` as on
        files.list (reason and message guessed)."""
        if _include_items(req) and not all_drives(req):
            raise DriveError(403, "teamDriveItemsRequireTeamDriveSupport", "The includeItemsFromAllDrives parameter "
                             "can only be set to true when supportsAllDrives is also set to true.",
                             location="supportsAllDrives")
        return _include_items(req)

    def _change_log(self, req: Request) -> str | None:
        """The change log a changes call reads: a shared drive's (``driveId``, which needs
        ``supportsAllDrives=true`` and membership) or the user's (None)."""
        drive = req.query.get("driveId") or req.query.get("teamDriveId") or None
        if drive is not None and not all_drives(req):  # reason and message guessed
            raise DriveError(403, "teamDriveItemsRequireTeamDriveSupport", "The driveId parameter can only be "
                             "used when supportsAllDrives is set to true.", location="supportsAllDrives")
        if drive is not None and self.store.member_role(drive, req.principal) is None:
            raise DriveError(404, "notFound", f"Shared drive not found: {drive}", location="driveId")
        return drive

    def start_token(self, req: Request) -> Response:
        token = _token(len(self.store.changes) + 1, self._change_log(req))
        body = {"kind": "drive#startPageToken", "startPageToken": token}
        return json_response(select(body, "startPageToken", req.query.get("fields")))

    def _page_token(self, req: Request) -> tuple[str, int, str | None]:
        """(the pageToken, its position, its change log: None for the user's, else a shared drive's id); 400 for
        a missing token, one that is not this API's, or one of another log than the request names."""
        token = req.query.get("pageToken")
        if not token:
            raise DriveError(400, "required", "Required parameter: pageToken", location="pageToken")
        log = self._change_log(req)
        number, _, of = token.partition(".")
        value = ascii_int(number)  # not isdecimal() + int(): '٣' read as 3, 5,000 digits a 500 [round 27]
        if value is None or value < 1 or (of or None) != log:
            raise DriveError(400, "invalid", f"Invalid Value: pageToken {token!r}", location="pageToken")
        return token, value, log

    def _shows(self, drive: str | None, log: str | None, shared: bool, who: str, number: int) -> bool:
        """Whether change log ``log`` shows change ``number`` to a file in ``drive`` (None: My Drive and shared
        files); ``shared``: the user's log was asked for shared drive items too (a member's, since they joined)."""
        if log is not None or drive is None:
            return drive == log
        return shared and self.store.member_role(drive, who) is not None and (
            number >= self.store.drives[drive].joined.get(who, 0))

    def _drive_change(self, change: Change, who: str, with_removed: bool) -> dict[str, Any] | None:
        drive = self.store.drives.get(change.drive)
        removed = change.removed or drive is None or who not in drive.members
        if removed and not with_removed:
            return None
        item = {"kind": "drive#change", "changeType": "drive", "type": "teamDrive", "time": change.time,
                "driveId": change.drive, "teamDriveId": change.drive, "removed": removed}
        if not removed:
            item["drive"] = drive.resource(who)
        return item

    def list_changes(self, req: Request) -> Response:
        _, number, log = self._page_token(req)
        raw = req.query.get("pageSize") or "100"
        size, who = ascii_int(raw, cap=1001), req.principal  # not isdecimal() + int() [round 27]
        if size is None or not 1 <= size <= 1000:
            raise DriveError(400, "invalid", f"Invalid value '{raw}'. Values must be within the range: [1, 1000]",
                             location="pageSize")
        with_removed = req.query.get("includeRemoved", "true") != "false"
        corpus = req.query.get("includeCorpusRemovals") == "true"
        spaces = wanted_spaces(req)
        my_drive = req.query.get("restrictToMyDrive") == "true" and log is None
        shared = log is None and self._shared_items(req) and "drive" in spaces and not my_drive
        out: list[dict[str, Any]] = []
        with self.store.lock:
            pending = _latest([c for c in self.store.changes if c.number >= number and (
                self._shows(c.drive, log, shared, who, c.number) if c.kind == "file"
                else shared and who in c.audience)])
            for change in pending[:size]:
                if change.kind == "drive":
                    item = self._drive_change(change, who, with_removed)
                    out += [item] if item else []
                    continue
                f = self.store.files.get(change.file_id)
                here = f is not None and self._shows(self.store.drive_of(f), log, shared, who, change.number)
                if f is not None and not here and not change.removed:
                    continue  # an older change of a file that has left this log since (its leaving is reported)
                if change.moved and here:
                    continue  # it left one drive's log for another this log shows too: reported where it is
                # Drive: "removed ... for example by deletion or loss of access": a file the caller can no
                # longer read is reported removed, without its resource
                if f is not None and space_of(self.store, f) not in spaces:
                    continue  # an app data file, outside spaces=appDataFolder
                if f is not None and my_drive and not in_my_drive(self.store, f, who):
                    continue  # restrictToMyDrive: a shared file not added to My Drive
                lost = f is not None and not self.store.can_read(f, who)
                removed = f is None or change.removed or lost
                if removed and not with_removed:
                    continue
                item: dict[str, Any] = {"kind": "drive#change", "changeType": "file", "type": "file",
                                        "time": change.time, "fileId": change.file_id, "removed": removed}
                if change.drive is not None:
                    item.update(driveId=change.drive, teamDriveId=change.drive)
                if not removed or (corpus and f is not None and not lost):  # includeCorpusRemovals
                    item["file"] = self._view(f, req)
                out.append(item)
            body: dict[str, Any] = {"kind": "drive#changeList", "changes": out}
            if len(pending) > size:
                body["nextPageToken"] = _token(pending[size].number, log)
            else:
                body["newStartPageToken"] = _token(len(self.store.changes) + 1, log)
        return json_response(select(body, "changeList", req.query.get("fields")))


def _latest(changes: list[Change]) -> list[Change]:
    """One entry per file (per shared drive for drive changes): its last change between the page token and
    now, where that change stands, as Drive's guide says the changes collection shows "the current state of
    each file" (several changes to one file read as one; a file created then deleted reads as removed)."""
    last = {(c.kind, c.file_id if c.kind == "file" else c.drive): c.number for c in changes}
    return [c for c in changes if last[(c.kind, c.file_id if c.kind == "file" else c.drive)] == c.number]


def _token(number: int, log: str | None) -> str:
    """A page token of the user's change log is the next change's number; a shared drive's carries the
    drive id too, so a token is refused by another log (Drive's tokens are opaque: its answer is guessed)."""
    return str(number) if log is None else f"{number}.{log}"
