"""The Drive emulator's state: files and folders, their revisions and comments, shared drives, who may
write where, storage quota, change log.

Grain: one ``DriveFile`` per Drive file id (folders are files with the folder MIME type); one
``Revision`` per stored content of a file (the last is the head: ``content``, ``md5Checksum`` and
``headRevisionId`` follow it). Every create, content update, trash and delete appends a change,
numbered from 1; a page token is the number of the next change, as Drive's ``changes.list`` works.
Each change belongs to one change log: the user's (``drive`` None) or, for a file in a shared drive,
that drive's (Drive keeps one per shared drive); a file that moves between them is also reported
removed in the log it left (``moved``; Drive's exact entries for such a move are guessed). Changes of a
shared drive itself (``kind`` "drive": created, renamed, deleted, a member added or removed) are recorded
with the members they concern (``audience``); ``listing.py`` shows them, and the file changes of the
drives the caller is a member of, in the user's log when asked with ``includeItemsFromAllDrives``.
A file is in a shared drive when its parent chain reaches a shared drive's id (``drive_of``); there
the caller's role comes from drive membership (organizer / fileOrganizer act as owner).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

GOOGLE_APPS = "application/vnd.google-apps."
FOLDER = GOOGLE_APPS + "folder"
OOXML = "application/vnd.openxmlformats-officedocument."
EXPORT_FORMATS: dict[str, tuple[str, ...]] = {  # Drive's about.exportFormats for Docs Editors files
    GOOGLE_APPS + "document": ("text/plain", "text/html", "application/rtf", "application/pdf", "text/markdown",
                               "application/vnd.oasis.opendocument.text", "application/epub+zip", "application/zip",
                               OOXML + "wordprocessingml.document"),
    GOOGLE_APPS + "spreadsheet": ("text/csv", "text/tab-separated-values", "application/pdf", "application/zip",
                                  "application/x-vnd.oasis.opendocument.spreadsheet",
                                  "application/vnd.oasis.opendocument.spreadsheet", OOXML + "spreadsheetml.sheet"),
    GOOGLE_APPS + "presentation": ("text/plain", "application/pdf", "image/jpeg", "image/png", "image/svg+xml",
                                   "application/vnd.oasis.opendocument.presentation",
                                   OOXML + "presentationml.presentation"),
    GOOGLE_APPS + "drawing": ("application/pdf", "image/jpeg", "image/png", "image/svg+xml"),
    GOOGLE_APPS + "script": ("application/vnd.google-apps.script+json",),
}
EXPORTABLE_KINDS = {mime[len(GOOGLE_APPS):] for mime in EXPORT_FORMATS}
# a shared drive member's role on the drive's items: organizers and file organizers may delete, as owners do
DRIVE_ROLES = {"organizer": "owner", "fileOrganizer": "owner", "writer": "writer", "commenter": "commenter",
               "reader": "reader"}


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def as_rfc3339(text: str) -> str:
    """A client's RFC 3339 time as Drive echoes it (UTC, milliseconds, ``Z``); ValueError when it is none."""
    value = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00").replace("z", "+00:00"))
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Revision:
    """One stored content of a file, as revisions.get shows it."""

    id: str
    content: bytes
    mime_type: str
    name: str
    who: str
    modified: str = field(default_factory=now_rfc3339)
    keep_forever: bool = False
    published: bool = False
    publish_auto: bool = False
    published_outside_domain: bool = False


@dataclass
class DriveFile:
    id: str
    name: str
    mime_type: str
    parents: list[str]
    owner: str
    content: bytes = b""
    app_properties: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    trashed: bool = False  # trashed itself (explicitlyTrashed)
    parent_trashed: bool = False  # inside a trashed folder: trashed too, not explicitly (DriveStore.retrash)
    created: str = field(default_factory=now_rfc3339)
    modified: str = field(default_factory=now_rfc3339)
    writers: set[str] = field(default_factory=set)  # folders: who may add files
    readers: set[str] = field(default_factory=set)
    commenters: set[str] = field(default_factory=set)
    properties: dict[str, str] = field(default_factory=dict)
    starred: bool = False
    version: int = 1
    shortcut_target: str | None = None
    link_shares: dict[str, dict[str, Any]] = field(default_factory=dict)  # anyone / domain permissions by id
    revisions: list[Revision] = field(default_factory=list)  # oldest first; folders have none
    revision_seq: int = 0
    comments: list[Any] = field(default_factory=list)  # comments.Comment, oldest first
    extra: dict[str, Any] = field(default_factory=dict)  # settings kept as written (extras.py)
    pending_owners: set[str] = field(default_factory=set)  # writers offered ownership (permissions.py)
    groups: set[str] = field(default_factory=set)  # which of its people are groups (type=group)
    expiry: dict[str, str] = field(default_factory=dict)  # a person's expirationTime (grants.py)
    abusive: bool = False  # flagged as malware or spam: alt=media needs acknowledgeAbuse (app.py)

    @property
    def in_trash(self) -> bool:
        return self.trashed or self.parent_trashed

    @property
    def native(self) -> bool:
        return self.mime_type.startswith(GOOGLE_APPS)

    def head_revision(self) -> Revision | None:
        """The head revision (None for a folder). ``content`` written straight into the store (as tests
        and fixtures do) becomes a new head by the owner, so revisions always end at the file's bytes."""
        if self.mime_type == FOLDER:
            return None
        if not self.revisions or self.revisions[-1].content != self.content:
            self.new_revision(self.content, self.owner)
        return self.revisions[-1]

    def new_revision(self, content: bytes, who: str) -> Revision:
        """files.update with media: the new bytes become the head revision."""
        self.revision_seq += 1
        rev_id = str(self.revision_seq) if self.native else f"0B{self.id[1:21]}{self.revision_seq:04d}"
        self.content = content
        self.revisions.append(Revision(rev_id, content, self.mime_type, self.name, who))
        return self.revisions[-1]

    def visibility(self) -> str:
        kinds = {x["type"] + ("CanFind" if x.get("allowFileDiscovery") else "WithLink")
                 for x in self.link_shares.values()}
        return min(kinds, key=lambda k: (not k.startswith("anyone"), "WithLink" in k), default="limited")

    def role_of(self, who: str) -> str | None:
        if who == self.owner:
            return "owner"
        return next((role for role, people in (("writer", self.writers), ("commenter", self.commenters),
                                               ("reader", self.readers)) if who in people), None)

    def permissions(self) -> list[dict[str, Any]]:
        """The file's permissions as Drive lists them: the owner first, then users, then link shares."""
        people = [(self.owner, "owner"), *((w, "writer") for w in sorted(self.writers)),
                  *((c, "commenter") for c in sorted(self.commenters)), *((r, "reader") for r in sorted(self.readers))]
        out = [{"kind": "drive#permission", "id": permission_id(email),
                "type": "group" if email in self.groups else "user", "emailAddress": email,
                "role": role, "displayName": display_name(email), "deleted": False,
                "pendingOwner": email in self.pending_owners,
                **({"expirationTime": self.expiry[email]} if email in self.expiry else {})} for email, role in people]
        return out + [dict(p) for p in self.link_shares.values()]

    def resource(self, who: str | None = None, base: str = "", role: str | None = None,
                 drive_id: str | None = None) -> dict[str, Any]:
        """Every property the emulator keeps, as Drive v3 names them (``fields`` cuts it down); ``role``:
        the caller's, inherited from a folder when not given on the file; ``drive_id``: the shared drive
        the file is in (its items have ``driveId`` and no ``owners``, as in Drive)."""
        who = who or self.owner
        role = role or self.role_of(who) or "reader"
        can_write = role in ("owner", "writer")
        folder = self.mime_type == FOLDER
        kind = self.mime_type[len(GOOGLE_APPS):] if self.native else ""
        out: dict[str, Any] = {
            "kind": "drive#file", "id": self.id, "name": self.name, "mimeType": self.mime_type,
            "parents": list(self.parents), "trashed": self.in_trash, "explicitlyTrashed": self.trashed,
            "starred": self.starred, "createdTime": self.created, "modifiedTime": self.modified,
            "appProperties": dict(self.app_properties), "properties": dict(self.properties),
            "owners": [user(self.owner, who)], "lastModifyingUser": user(self.owner, who),
            "ownedByMe": self.owner == who, "modifiedByMe": self.owner == who, "viewedByMe": self.owner == who,
            "shared": len(self.permissions()) > 1, "spaces": ["drive"], "version": str(self.version),
            "webViewLink": (f"https://drive.google.com/drive/folders/{self.id}" if folder else
                            f"https://docs.google.com/{kind}/d/{self.id}/edit?usp=drivesdk" if self.native else
                            f"https://drive.google.com/file/d/{self.id}/view?usp=drivesdk"),
            "iconLink": f"https://drive-thirdparty.googleusercontent.com/16/type/{self.mime_type}",
            "hasThumbnail": False, "thumbnailVersion": "0", "viewersCanCopyContent": True,
            "copyRequiresWriterPermission": False, "writersCanShare": True, "isAppAuthorized": False,
            "quotaBytesUsed": "0" if self.native else str(len(self.content)),
            "capabilities": {"canEdit": can_write, "canComment": role != "reader", "canShare": can_write,
                             "canCopy": not folder, "canDownload": not self.native or kind in EXPORTABLE_KINDS,
                             "canDelete": role == "owner", "canTrash": role == "owner", "canRename": can_write,
                             "canAddChildren": folder and can_write, "canListChildren": folder,
                             "canRemoveChildren": folder and can_write, "canModifyContent": can_write,
                             "canReadRevisions": can_write, "canChangeCopyRequiresWriterPermission": can_write},
        }
        if not self.parents:  # a file without a parent the caller may see: Drive leaves ``parents`` out
            del out["parents"]
        if drive_id is not None:
            del out["owners"]
            out.update(driveId=drive_id, ownedByMe=False)
        if can_write:
            out["permissions"] = self.permissions()
            out["permissionIds"] = [p["id"] for p in out["permissions"]]
        if self.description is not None:
            out["description"] = self.description
        if self.native:  # native files have no bytes
            if kind in EXPORTABLE_KINDS:  # editor files have a size (the reference, since 2021); no checksums
                out["size"] = str(len(self.content))
                out["exportLinks"] = {mime: f"{base}/drive/v3/files/{self.id}/export?mimeType={mime}"
                                      for mime in EXPORT_FORMATS[self.mime_type]}
            if self.shortcut_target:
                out["shortcutDetails"] = {"targetId": self.shortcut_target, **({"targetMimeType": kind_of} if (
                    kind_of := self.extra.get("shortcutTargetMimeType")) else {})}  # shortcuts.py
        else:
            ext = self.name.rsplit(".", 1)[1] if "." in self.name.strip(".") else ""
            out.update(size=str(len(self.content)), md5Checksum=hashlib.md5(self.content).hexdigest(),
                       sha1Checksum=hashlib.sha1(self.content).hexdigest(),
                       sha256Checksum=hashlib.sha256(self.content).hexdigest(), originalFilename=self.name,
                       fileExtension=ext, fullFileExtension=ext, headRevisionId=self.head_revision().id,
                       webContentLink=f"https://drive.google.com/uc?id={self.id}&export=download")
        return out


def user(email: str, who: str | None = None) -> dict[str, Any]:
    return {"kind": "drive#user", "displayName": display_name(email), "emailAddress": email, "me": email == who,
            "permissionId": permission_id(email)}


def display_name(email: str) -> str:
    return email.split("@")[0].replace(".", " ").replace("-", " ").title()


def root_id(who: str) -> str:
    """The id of ``who``'s My Drive root folder (``files.get(fileId='root')``; the parent of the files they create
    without one), shaped as Drive's: ``0A`` ... ``Uk9PVA``."""
    return "0A" + hashlib.sha256(who.lower().encode()).hexdigest()[:13].upper() + "Uk9PVA"


def permission_id(key: str) -> str:
    """A user's permission id is the same on every file (Drive: ``user.permissionId``); 20 digits."""
    return str(int(hashlib.sha256(key.lower().encode()).hexdigest()[:16], 16)).rjust(20, "0")[:20]


@dataclass
class Change:
    number: int
    file_id: str
    removed: bool
    time: str
    drive: str | None = None  # the shared drive whose change log holds it (or, kind "drive", that changed)
    kind: str = "file"  # "drive": a change of the shared drive itself (Drive's changeType)
    moved: bool = False  # the file left this log for another (a move into, out of or between shared drives)
    audience: frozenset[str] = frozenset()  # kind "drive": the users whose change log shows it


class DriveStore:
    def __init__(self, quota_bytes: int = 10 * 1024**3, service_account_quota: bool = True):
        self.lock = threading.RLock()
        self.files: dict[str, DriveFile] = {}
        self.changes: list[Change] = []
        self.quota_bytes = quota_bytes
        # False: as Google's service accounts since April 2025, which have no storage and own no My Drive files
        self.service_account_quota = service_account_quota
        self.uploads: dict[str, dict[str, Any]] = {}
        self.generated: set[str] = set()  # files.generateIds, not used yet
        self.drives: dict[str, Any] = {}  # drives.SharedDrive by id
        self.file_drives: dict[str, str | None] = {}  # the log of each file's last change (it may be deleted)

    @staticmethod
    def new_id() -> str:
        return "1" + secrets.token_urlsafe(24).replace("-", "A").replace("_", "B")

    def used_bytes(self, owner: str) -> int:
        """My Drive bytes only: shared drive items count against the drive, not their creator."""
        return sum(len(f.content) for f in self.files.values() if f.owner == owner and self.drive_of(f) is None)

    def record(self, file_id: str, removed: bool = False) -> None:
        with self.lock:
            f, before = self.files.get(file_id), self.file_drives.get(file_id)
            drive = self.drive_of(f) if f is not None else before
            start = len(self.changes)
            if file_id in self.file_drives and drive != before:  # moved into, out of or between shared drives
                self.changes.append(Change(start + 1, file_id, True, now_rfc3339(), before, moved=True))
            self.file_drives[file_id] = drive
            self.changes.append(Change(len(self.changes) + 1, file_id, removed, now_rfc3339(), drive))
            self.appended(start)

    def record_drive(self, drive_id: str, removed: bool = False, audience: set[str] | None = None) -> None:
        """A change of shared drive ``drive_id`` itself, for ``audience`` (default: its members now)."""
        with self.lock:
            drive = self.drives.get(drive_id)
            who = frozenset(audience if audience is not None else drive.members if drive is not None else ())
            start = len(self.changes)
            self.changes.append(Change(start + 1, "", removed, now_rfc3339(), drive_id, "drive", audience=who))
            self.appended(start)

    def appended(self, start: int) -> None:
        """Called (under the lock) after ``changes[start:]`` were added; ``watch.py`` notifies from here."""

    def add(self, f: DriveFile) -> DriveFile:
        with self.lock:
            self.files[f.id] = f
            self.record(f.id)
        return f

    def folder(self, name: str, owner: str, writers: set[str] = frozenset(), readers: set[str] = frozenset()
               ) -> DriveFile:
        return self.add(DriveFile(self.new_id(), name, FOLDER, [], owner, writers=set(writers),
                                  readers=set(readers)))

    def drive_of(self, f: DriveFile) -> str | None:
        """The id of the shared drive ``f`` is in (its parent chain reaches the drive's id), else None."""
        return self.drive_of_parents(f.parents)

    def drive_of_parents(self, parents: list[str]) -> str | None:
        seen, todo = set(), list(parents)
        while todo:
            parent = todo.pop()
            if parent in self.drives:
                return parent
            if parent in self.files and parent not in seen:
                seen.add(parent)
                todo.extend(self.files[parent].parents)
        return None

    def member_role(self, drive_id: str, who: str) -> str | None:
        """The caller's role on a shared drive (organizer, fileOrganizer, writer, commenter, reader) or None."""
        drive = self.drives.get(drive_id)
        return None if drive is None else drive.members.get(who)

    def can_read(self, f: DriveFile, who: str) -> bool:
        if self.drive_of(f) is not None:
            return self.role(f, who) is not None
        if f.role_of(who) is not None:
            return True
        return any(p in self.files and self.can_read(self.files[p], who) for p in f.parents)

    def role(self, f: DriveFile, who: str) -> str | None:
        """The caller's role on ``f``: in a shared drive, from membership (organizers act as owner); else its
        own, or the strongest inherited from a parent folder."""
        drive = self.drive_of(f)
        if drive is not None:
            return DRIVE_ROLES.get(self.member_role(drive, who) or "")
        rank = ["reader", "commenter", "writer", "owner"]
        found = [f.role_of(who), *(self.role(self.files[p], who) for p in f.parents if p in self.files)]
        roles = [r if r != "owner" or f.owner == who else "writer" for r in found if r]
        return max(roles, key=rank.index) if roles else None

    def can_write_into(self, folder_id: str, who: str) -> bool:
        if folder_id == root_id(who):
            return True
        if folder_id in self.drives:
            return self.member_role(folder_id, who) in ("organizer", "fileOrganizer", "writer")
        folder = self.files.get(folder_id)
        if folder is not None and self.drive_of(folder) is not None:
            return folder.mime_type == FOLDER and self.role(folder, who) in ("owner", "writer")
        return folder is not None and (folder.owner == who or who in folder.writers)

    def delete(self, file_id: str) -> None:
        with self.lock:
            f = self.files.pop(file_id, None)
            if f is not None:  # the log it is deleted from is the one it is in now
                self.file_drives[file_id] = self.drive_of(f)
            self.record(file_id, removed=True)

    def delete_tree(self, file_id: str, who: str) -> None:
        """files.delete: the file and, for a folder, every descendant ``who`` owns (all of them in a shared
        drive); others' files inside lose that parent, as Drive documents."""
        with self.lock:
            shared = file_id in self.files and self.drive_of(self.files[file_id]) is not None
            for child in [c for c in self.files.values() if file_id in c.parents]:
                if shared or child.owner == who:
                    self.delete_tree(child.id, who)
                else:
                    child.parents = [p for p in child.parents if p != file_id]
                    self.record(child.id)
            self.delete(file_id)

    def retrash(self, root: DriveFile) -> None:
        """After ``root`` was trashed, restored or moved: its descendants are trashed exactly when a folder
        above them is (Drive trashes a folder's contents with it); each one that flips is a change."""
        with self.lock:
            todo, seen = [root], {root.id}  # seen: a parent loop (which moves refuse) never walks for ever
            while todo:
                parent = todo.pop()
                for child in [c for c in self.files.values() if parent.id in c.parents]:
                    inherited = parent.in_trash
                    if child.parent_trashed != inherited:
                        child.parent_trashed = inherited
                        self.record(child.id)
                    if child.id not in seen:
                        seen.add(child.id)
                        todo.append(child)
