"""The Drive emulator's state: files and folders, who may write where, storage quota, change log.

Grain: one ``DriveFile`` per Drive file id (folders are files with the folder MIME type). Every
create, content update, trash and delete appends a change, numbered from 1; a page token is the
number of the next change, as Drive's ``changes.list`` works.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

FOLDER = "application/vnd.google-apps.folder"


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


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
    trashed: bool = False
    created: str = field(default_factory=now_rfc3339)
    modified: str = field(default_factory=now_rfc3339)
    writers: set[str] = field(default_factory=set)  # folders: who may add files
    readers: set[str] = field(default_factory=set)

    def resource(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": "drive#file", "id": self.id, "name": self.name, "mimeType": self.mime_type,
            "parents": list(self.parents), "trashed": self.trashed, "createdTime": self.created,
            "modifiedTime": self.modified, "appProperties": dict(self.app_properties),
            "owners": [{"kind": "drive#user", "emailAddress": self.owner}],
        }
        if self.description is not None:
            out["description"] = self.description
        if not self.mime_type.startswith("application/vnd.google-apps."):  # native files have no bytes
            out.update(size=str(len(self.content)), md5Checksum=hashlib.md5(self.content).hexdigest(),
                       sha256Checksum=hashlib.sha256(self.content).hexdigest())
        return out


@dataclass
class Change:
    number: int
    file_id: str
    removed: bool
    time: str


class DriveStore:
    def __init__(self, quota_bytes: int = 10 * 1024**3):
        self.lock = threading.RLock()
        self.files: dict[str, DriveFile] = {}
        self.changes: list[Change] = []
        self.quota_bytes = quota_bytes
        self.uploads: dict[str, dict[str, Any]] = {}

    @staticmethod
    def new_id() -> str:
        return "1" + secrets.token_urlsafe(24).replace("-", "A").replace("_", "B")

    def used_bytes(self, owner: str) -> int:
        return sum(len(f.content) for f in self.files.values() if f.owner == owner)

    def record(self, file_id: str, removed: bool = False) -> None:
        self.changes.append(Change(len(self.changes) + 1, file_id, removed, now_rfc3339()))

    def add(self, f: DriveFile) -> DriveFile:
        with self.lock:
            self.files[f.id] = f
            self.record(f.id)
        return f

    def folder(self, name: str, owner: str, writers: set[str] = frozenset(), readers: set[str] = frozenset()
               ) -> DriveFile:
        return self.add(DriveFile(self.new_id(), name, FOLDER, [], owner, writers=set(writers),
                                  readers=set(readers)))

    def can_read(self, f: DriveFile, who: str) -> bool:
        if f.owner == who or who in f.readers or who in f.writers:
            return True
        return any(p in self.files and self.can_read(self.files[p], who) for p in f.parents)

    def can_write_into(self, folder_id: str, who: str) -> bool:
        folder = self.files.get(folder_id)
        return folder is not None and (folder.owner == who or who in folder.writers)

    def delete(self, file_id: str) -> None:
        with self.lock:
            self.files.pop(file_id, None)
            self.record(file_id, removed=True)
