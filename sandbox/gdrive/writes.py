"""File writes for ``DriveSandbox``: ``files.create`` (metadata; uploads come through ``uploads.py``),
``files.update`` (metadata, moves with ``addParents``/``removeParents``, content) and ``files.copy``.

- ``parents`` default to the caller's My Drive root (``root`` is its alias, also in add/removeParents);
  a file has one parent (a second is 403 cannotAddParent, as Drive since 2020); a move that would leave a
  shared drive item with no parent or two is 403 teamDrivesParentLimit, as Drive answers.
  A parent that is not a folder (a Doc, a PDF, a shortcut) is 400 invalid "The specified parent is not a
  folder." on create, copy and addParents; a folder moved into itself or a folder inside it is 400 invalid on
  ``addParents`` [unc: Drive's reason and words] (round 33: the emulator hung on the parent loop it made).
- Only the owner (in a shared drive an organizer or file organizer) trashes or restores a file, as
  ``capabilities.canTrash`` says (a writer: 403 insufficientFilePermissions [unc: the reason]).
- Trashing a folder trashes what is in it (``trashed``, not ``explicitlyTrashed``; a change each), restoring it
  restores them; files.delete of a folder deletes what the caller owns in it (``store.delete_tree``).
- ``createdTime`` and ``modifiedTime`` are writable on create, ``modifiedTime`` on update (stored in Drive's
  UTC form; not RFC 3339: 400 invalid); other read-only fields are 403 fieldNotWritable.
- Writing into a folder the caller may only read is 403 insufficientFilePermissions; one it cannot see, or
  a shared drive's without ``supportsAllDrives=true``, 404 notFound; past the quota 403 storageQuotaExceeded,
  as is any create by a service account outside shared drives with ``service_account_quota=False``.
"""

from __future__ import annotations

import time
from typing import Any

from sandbox.core.http import Request, Response
from sandbox.gdrive.errors import DriveError
from sandbox.gdrive.extras import KEPT, check_copy, keep
from sandbox.gdrive.limits import check_properties
from sandbox.gdrive.listing import all_drives
from sandbox.gdrive.shortcuts import TARGET_MIME, shortcut_target
from sandbox.gdrive.spaces import alias, appdata_id
from sandbox.gdrive.store import FOLDER, GOOGLE_APPS, DriveFile, as_rfc3339

READ_ONLY = {"id", "size", "md5Checksum", "sha1Checksum", "sha256Checksum", "owners", "createdTime", "version",
             "capabilities", "permissions", "permissionIds", "webViewLink", "webContentLink", "exportLinks",
             "quotaBytesUsed", "headRevisionId", "fileExtension", "fullFileExtension", "lastModifyingUser",
             "ownedByMe", "shared", "spaces", "iconLink", "explicitlyTrashed", "driveId"}


NO_STORAGE = ("Service Accounts do not have storage quota. Leverage shared drives "
              "(https://developers.google.com/workspace/drive/api/guides/about-shareddrives), or use OAuth delegation "
              "(http://support.google.com/a/answer/7281227) instead.")


def _time(meta: dict[str, Any], key: str) -> str | None:
    """``meta[key]`` (createdTime, modifiedTime) as Drive stores it; 400 invalid when it is not RFC 3339."""
    if not meta.get(key):
        return None
    try:
        return as_rfc3339(meta[key])
    except (ValueError, TypeError):
        raise DriveError(400, "invalid", f"Invalid value for: {key}: {meta[key]}", location=key) from None


def new_type(f: DriveFile, asked: Any, content: bytes | None, content_mime: str | None) -> str:
    """A file's MIME type after files.update. Drive's File reference: "The value cannot be changed unless a new
    revision is uploaded"; its shortcut guide: a blob file's type changes when a revision of another type is
    uploaded. So a metadata-only change is ignored ([unc] not refused), and new content takes the type asked for
    in the metadata, else the upload's own (``application/octet-stream``, which says nothing, keeps the type
    [unc]). A Docs Editors file stays one (new content is imported), and no blob becomes one on update [unc]."""
    if content is None or f.native:
        return f.mime_type
    for mime in (asked, content_mime):
        if mime and isinstance(mime, str) and not mime.startswith(GOOGLE_APPS) and mime != "application/octet-stream":
            return mime
    return f.mime_type


class Writes:
    """Uses the sandbox's ``store``, ``_file``, ``_answer`` and ``_changed``."""

    def _has_storage(self, who: str) -> bool:
        """False for a service account when the sandbox plays Google's accounts since April 2025."""
        return self.store.service_account_quota or not who.endswith(".gserviceaccount.com")

    def _check_parent(self, parent: str, who: str, any_drive: bool) -> None:
        """A shared drive, or a folder in one, is not found without supportsAllDrives=true, as in Drive."""
        if parent == appdata_id(who):  # the caller's application data folder
            return
        in_drive = self.store.drive_of_parents([parent]) is not None
        if in_drive and not any_drive:
            raise DriveError(404, "notFound", f"File not found: {parent}.")
        if not self.store.can_write_into(parent, who):
            seen = (self.store.can_read(self.store.files[parent], who) if in_drive else True
                    ) if parent in self.store.files else self.store.member_role(parent, who) is not None
            if seen:
                raise DriveError(403, "insufficientFilePermissions",
                                 f"The user does not have sufficient permissions for file {parent}.")
            raise DriveError(404, "notFound", f"File not found: {parent}.")
        target = self.store.files.get(parent)
        if target is not None and target.mime_type != FOLDER:  # a Doc, a PDF, a shortcut (even to a folder)
            # Drive's words, from client reports ("Error 400: The specified parent is not a folder., invalid");
            # [unc] the error's location and whether it comes before the permission check
            raise DriveError(400, "invalid", "The specified parent is not a folder.")

    def _within(self, folder: str, ancestor: str) -> bool:
        """Whether ``folder`` is (at any depth) inside ``ancestor``."""
        seen, todo = set(), list(self.store.files[folder].parents) if folder in self.store.files else []
        while todo:
            parent = todo.pop()
            if parent == ancestor:
                return True
            if parent not in seen and parent in self.store.files:
                seen.add(parent)
                todo.extend(self.store.files[parent].parents)
        return False

    def _new_parents(self, who: str, meta: dict[str, Any], any_drive: bool, size: int | None = None) -> list[str]:
        """The new file's parents after Drive's checks on them and on the creator's storage (``size``: the
        bytes it will hold, when known). A resumable upload's first request is checked so too, before any
        byte is sent, as Drive refuses it there."""
        parents = [alias(p, who) for p in meta.get("parents") or ["root"]]  # My Drive's root, appDataFolder
        if len(parents) > 1:  # one parent per file (Drive's words for an update; here guessed the same)
            raise DriveError(403, "cannotAddParent", "Increasing the number of parents is not allowed")
        for parent in parents:
            self._check_parent(parent, who, any_drive)
        if self.store.drive_of_parents(parents) is None:  # shared drive bytes are not the user's
            if not self._has_storage(who):
                raise DriveError(403, "storageQuotaExceeded", NO_STORAGE)
            if size is not None and self.store.used_bytes(who) + size > self.store.quota_bytes:
                raise DriveError(403, "storageQuotaExceeded", "The user's Drive storage quota has been exceeded.")
        return parents

    def _new_file(self, who: str, meta: dict[str, Any], content: bytes, mime: str | None,
                  any_drive: bool = False) -> DriveFile:
        check_properties(meta)  # limits.py [round 30]
        parents = self._new_parents(who, meta, any_drive)
        in_drive = self.store.drive_of_parents(parents) is not None  # shared drive bytes are not the user's
        created, modified = _time(meta, "createdTime"), _time(meta, "modifiedTime")  # writable on create, as in Drive
        mime = str(meta.get("mimeType") or mime or "application/octet-stream")
        target = shortcut_target(self.store, meta, mime, who)  # shortcuts.py
        with self.store.lock:
            if not in_drive and not self._has_storage(who):
                raise DriveError(403, "storageQuotaExceeded", NO_STORAGE)
            if not in_drive and self.store.used_bytes(who) + len(content) > self.store.quota_bytes:
                raise DriveError(403, "storageQuotaExceeded", "The user's Drive storage quota has been exceeded.")
            wanted = meta.get("id")
            if wanted is not None and wanted in self.store.files:  # a generated id used twice (a retried create):
                # Drive's 409, which lets a retry tell "already made" from a failure [unc: the message]
                raise DriveError(409, "duplicate", "A file already exists with the provided ID.")
            if wanted is not None and wanted not in self.store.generated:
                raise DriveError(400, "invalid", "The provided file ID is not usable.", location="file.id")
            self.store.generated.discard(wanted)
            name = meta.get("name") or (target.name if target is not None else "Untitled")
            f = DriveFile(wanted or self.store.new_id(), str(name), mime, parents, who, content,
                          {str(k): str(v) for k, v in (meta.get("appProperties") or {}).items()},
                          meta.get("description"), starred=bool(meta.get("starred", False)),
                          properties={str(k): str(v) for k, v in (meta.get("properties") or {}).items()},
                          shortcut_target=target.id if target is not None else None)
            if target is not None:
                f.extra[TARGET_MIME] = target.mime_type
            f.created, f.modified = created or f.created, modified or f.modified
            # made in a trashed folder: trashed too ("either explicitly or from a trashed parent folder"), as a file
            # moved there is; it read trashed: false [round 33] [unc: whether Drive takes the create at all]
            f.parent_trashed = any(self.store.files[p].in_trash for p in parents if p in self.store.files)
            keep(f, meta)
            if self.search_lag_seconds:  # Drive's search index catches up with a new file moments later
                self.search_ready[f.id] = time.monotonic() + self.search_lag_seconds
            return self.store.add(f)

    def update_file(self, req: Request) -> Response:
        f = self._file(req)
        meta = req.json() if req.body else {}
        self._update(f, meta or {}, req)
        return self._answer(self._pinned(f, req), req)

    @staticmethod
    def _pinned(f: DriveFile, req: Request) -> DriveFile:
        """``keepRevisionForever=true`` (create, update, copy): the head revision of a binary file is kept
        forever (``keepForever``), as Drive does; Docs Editors files ignore it."""
        head = f.head_revision()
        if req.query.get("keepRevisionForever") == "true" and head is not None and not f.native:
            head.keep_forever = True
        return f

    def _update(self, f: DriveFile, meta: dict[str, Any], req: Request, content: bytes | None = None,
                content_mime: str | None = None) -> None:
        """files.update: metadata from ``meta``, parents from addParents/removeParents, content (of type
        ``content_mime``) if given."""
        if self.store.role(f, req.principal) not in ("owner", "writer"):
            raise DriveError(403, "insufficientFilePermissions",
                             f"The user does not have sufficient permissions for file {f.id}.")
        if meta.get("trashed") is not None and bool(meta["trashed"]) != f.trashed and \
                self.store.role(f, req.principal) != "owner":  # capabilities.canTrash / canUntrash false
            raise DriveError(403, "insufficientFilePermissions",  # [unc] the reason for a writer's trash
                             f"The user does not have sufficient permissions for file {f.id}.")
        check_properties(meta, f.app_properties, f.properties)  # limits.py [round 30]
        if "parents" in meta:  # Drive's own words for this one
            raise DriveError(403, "fieldNotWritable", "The parents field is not directly writable in update requests. "
                             "Use the addParents and removeParents parameters instead.")
        bad = sorted(set(meta) & READ_ONLY)
        if bad:
            raise DriveError(403, "fieldNotWritable", "The resource body includes fields which are not directly "
                             f"writable: {', '.join(bad)}.")
        add, remove = ([alias(p, req.principal) for p in (req.query.get(key) or "").split(",") if p]
                       for key in ("addParents", "removeParents"))
        modified = _time(meta, "modifiedTime")
        for parent in add:
            self._check_parent(parent, req.principal, all_drives(req))
            if parent == f.id or self._within(parent, f.id):  # it hung the emulator on a parent loop [round 33]
                raise DriveError(400, "invalid", "A folder cannot be moved into itself or into a folder inside it.",
                                 location="addParents")  # [unc: Drive's reason and words]
        after = [p for p in f.parents if p not in remove] + [p for p in add if p not in f.parents and p not in remove]
        in_drive = self.store.drive_of(f) is not None or self.store.drive_of_parents(add) is not None
        if (add or remove) and in_drive and len(after) != 1:  # Drive's words (a move keeps exactly one)
            raise DriveError(403, "teamDrivesParentLimit", "A shared drive item must have exactly one parent.")
        if len(after) > max(1, len(f.parents)):  # one parent per file since 2020: a move must remove the old one
            raise DriveError(403, "cannotAddParent", "Increasing the number of parents is not allowed")
        meta = {**meta, "mimeType": new_type(f, meta.get("mimeType"), content, content_mime)}
        with self.store.lock:
            if any(p == f.id or self._within(p, f.id) for p in add):  # again under the lock: two crossed moves
                raise DriveError(400, "invalid", "A folder cannot be moved into itself or into a folder inside it.",
                                 location="addParents")  # (A under B, B under A) at once had both passed the check
            for key, attr in (("name", "name"), ("description", "description"), ("trashed", "trashed"),
                              ("starred", "starred"), ("mimeType", "mime_type")):
                if key in meta and meta[key] is not None:
                    setattr(f, attr, meta[key])
            keep(f, meta)
            for key, attr in (("appProperties", "app_properties"), ("properties", "properties")):
                for k, v in (meta.get(key) or {}).items():  # null removes the property, as in Drive
                    if v is None:
                        getattr(f, attr).pop(str(k), None)
                    else:
                        getattr(f, attr)[str(k)] = str(v)
            if add:
                f.parents = [*f.parents, *(p for p in add if p not in f.parents)]
            if remove:
                f.parents = [p for p in f.parents if p not in remove]
            if add or remove:  # in a trashed folder now, or out of one
                f.parent_trashed = any(self.store.files[p].in_trash for p in f.parents if p in self.store.files)
            if content is not None:
                if self.store.used_bytes(f.owner) - len(f.content) + len(content) > self.store.quota_bytes:
                    raise DriveError(403, "storageQuotaExceeded", "The user's Drive storage quota has been "
                                     "exceeded.")
                f.new_revision(content, req.principal)
            self._changed(f)
            f.modified = modified or f.modified
            if f.mime_type == FOLDER and ("trashed" in meta or add or remove):
                self.store.retrash(f)  # its contents follow it into (or out of) the trash

    def copy_file(self, req: Request) -> Response:
        """files.copy: a new file with the source's content ("Copy of <name>" unless named); parents default
        to the source's."""
        f = self._file(req)
        if f.mime_type == FOLDER:
            raise DriveError(403, "cannotCopyFile", "This file cannot be copied by the user.")
        check_copy(f, self.store.role(f, req.principal))  # copyRequiresWriterPermission
        meta = req.json() if req.body else {}
        meta = meta or {}
        copy_meta = {"name": meta.get("name") or f"Copy of {f.name}",
                     "parents": meta.get("parents") or list(f.parents),
                     "appProperties": {**f.app_properties, **(meta.get("appProperties") or {})},
                     "properties": {**f.properties, **(meta.get("properties") or {})},
                     "description": meta.get("description", f.description), "starred": meta.get("starred"),
                     "shortcutDetails": {"targetId": f.shortcut_target} if f.shortcut_target else None,
                     **{k: v for k, v in f.extra.items() if k != "contentHints"},
                     **{k: meta[k] for k in KEPT if k in meta}, **({"id": meta["id"]} if meta.get("id") else {})}
        copy = self._new_file(req.principal, copy_meta, f.content, meta.get("mimeType") or f.mime_type, all_drives(req))
        if f.extra.get(TARGET_MIME):  # a shortcut's copy keeps its snapshot of the target's type [unc]
            copy.extra[TARGET_MIME] = f.extra[TARGET_MIME]
        return self._answer(self._pinned(copy, req), req)
