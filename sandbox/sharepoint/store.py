"""The Graph emulator's state: sites, their document libraries (drives), drive items, list-item
fields, upload sessions, per-drive quota and which app may read or write which drive.

Grain: one ``Item`` per drive item id (folders have ``content is None``). A drive's ``grants`` maps an
app (``<tenant>/<client id>``) to ``read`` or ``write``, as ``Sites.Selected`` grants do; ``columns``
are the library's custom columns, the only list-item fields a client may set.

Change tracking (for ``delta``): every create, content replacement or field update stamps the item
with the next change number (``Item.seq``); a deleted item leaves a ``Tombstone`` with its own
number, so a delta token is just the change number it was issued at.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def new_id() -> str:
    return "01" + secrets.token_hex(16).upper()


@dataclass
class Item:
    id: str
    name: str
    drive_id: str
    parent_id: str | None
    content: bytes | None = None  # None: a folder
    fields: dict[str, str] = field(default_factory=dict)
    created: str = field(default_factory=now_iso)
    modified: str = field(default_factory=now_iso)
    version: int = 1
    list_item_id: int = 0
    seq: int = 0  # change number of the item's last create, content or field change
    listed_size: int | None = None  # fault hook: the ``size`` Graph lists, when not the bytes' (as it does
    # for some Office, PDF and OneNote files, intact); None: the bytes' length
    history: list[tuple[bytes, str]] = field(default_factory=list)  # earlier contents and their dates (versions)
    history_fields: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # each one's name and fields
    permissions: list[dict[str, Any]] = field(default_factory=list)  # sharing links and invitations
    checked_out: bool = False  # checkout … checkin
    checkin_comment: str = ""  # the last check-in's comment (SharePoint's CheckInComment)
    draft: bool = False  # checked out and written since: the checked-in version is kept (its last history entry)
    created_seq: int = 0  # change number of its creation (SharePoint's change log tells an add from an update)
    created_by: str | None = None  # the app (``<tenant>/<client id>``) that created it; None: a person
    modified_by: str | None = None  # the app whose write (content, fields, name) was last; None: a person
    checked_in_by: str | None = None  # ``modified_by`` of the checked-in version while a draft stands over it

    def keep_version(self) -> None:
        """The current content, date, name and fields become an older version (``library_item_versions.py``)."""
        self.history.append((self.content, self.modified))
        self.history_fields.append((self.name, dict(self.fields)))

    @property
    def label(self) -> str:
        """The current version's id, as SharePoint numbers major versions (``1.0``, ``2.0``, …)."""
        return f"{len(self.history) + 1}.0"


@dataclass
class Tombstone:
    """What ``delta`` reports for a deleted item: its id, name, parent and ancestors, when it went."""

    id: str
    name: str
    drive_id: str
    parent_id: str | None
    ancestors: tuple[str, ...]
    is_folder: bool
    seq: int
    list_item_id: int = 0
    deleted: str = ""  # when (ISO)


@dataclass
class Drive:
    id: str
    name: str
    site_id: str
    root_id: str
    quota_bytes: int
    grants: dict[str, str] = field(default_factory=dict)
    columns: set[str] = field(default_factory=set)
    column_defs: dict[str, dict[str, Any]] = field(default_factory=dict)  # column -> Graph definition (none: text)


class GraphStore:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.local = threading.local()  # ``writer``: the app making the current request's writes (``writing``)
        self.sites: dict[str, str] = {}  # site id -> display name
        self.drives: dict[str, Drive] = {}
        self.items: dict[str, Item] = {}
        self.uploads: dict[str, dict[str, Any]] = {}
        self.tombstones: dict[str, Tombstone] = {}
        self.custom_lists: dict[str, Any] = {}  # id -> custom_lists.CustomList (REST custom lists)
        self.web_schema: dict[str, Any] = {}  # site id -> rest_schema_log.WebSchema (REST site columns, types)
        self.schema_log: list[tuple[int, str, str, str, int, str]] = []  # rest_schema_log.py: schema changes
        self.unique_roles: dict[str, list[list[int]]] = {}  # list id -> [principal id, role id] (rest_role_writes)
        self.full_control: dict[str, set[str]] = {}  # site id -> apps granted Sites.Selected "fullcontrol"
        self.role_defs: dict[str, list[tuple]] = {}  # site id -> role definitions made (rest_role_defs.py)
        self.list_types: dict[str, list[str]] = {}  # list id -> web content type ids added (rest_schema_log.py)
        self._list_ids = 0
        self.seq = 0
        self.listeners: list[Any] = []  # callables (kind, key): "drive" and a drive id, "list" and a list id

    def changed(self, kind: str, key: str) -> None:
        """Tell the listeners (change notifications, ``subscriptions.py``) that a drive or list changed."""
        for listener in list(self.listeners):
            listener(kind, key)

    @contextmanager
    def writing(self, who: str | None) -> Iterator[None]:
        """Writes made meanwhile on this thread are ``who``'s (an app's principal; None: a person, as the
        tests' direct writes to the store stand for someone working in the browser)."""
        before, self.local.writer = getattr(self.local, "writer", None), who
        try:
            yield
        finally:
            self.local.writer = before

    def touch(self, item: Item, write: bool = True) -> None:
        """Stamp ``item`` with the next change number (delta reports it as changed) and, for a write of its
        content, fields or name (``write``), its writer: a check-in, a discarded check-out, a restore from the
        recycle bin or a deleted old version leave ``lastModifiedBy`` as it was [unc: SharePoint's Editor]."""
        with self.lock:
            self.seq += 1
            item.seq = self.seq
            if write:
                item.modified_by = getattr(self.local, "writer", None)
        self.changed("drive", item.drive_id)

    def ancestors(self, item: Item) -> tuple[str, ...]:
        out: list[str] = []
        while item.parent_id is not None and item.parent_id in self.items and item.parent_id not in out:
            out.append(item.parent_id)  # (not in out: a parent loop, which moves refuse, never walks for ever)
            item = self.items[item.parent_id]
        return tuple(out)

    def site(self, hostname: str, name: str) -> str:
        # hostname, site collection id, web id: two GUIDs, as Graph's (the web id was 8 hex digits)
        site_id = f"{hostname},{secrets.token_hex(4)}-0000-4000-8000-{secrets.token_hex(6)},{uuid.uuid4()}"
        self.sites[site_id] = name
        return site_id

    def drive(self, site_id: str, name: str, quota_bytes: int = 1024**4, grants: dict[str, str] | None = None,
              columns: set[str] = frozenset()) -> Drive:
        drive_id = "b!" + secrets.token_urlsafe(48)
        root = Item(new_id(), "root", drive_id, None)
        self.items[root.id] = root
        self.touch(root)
        d = Drive(drive_id, name, site_id, root.id, quota_bytes, dict(grants or {}), set(columns))
        self.drives[drive_id] = d
        return d

    def used_bytes(self, drive_id: str) -> int:
        return sum(len(i.content) for i in self.items.values() if i.drive_id == drive_id and i.content is not None)

    def children(self, item_id: str) -> list[Item]:
        return [i for i in self.items.values() if i.parent_id == item_id]

    def child(self, parent_id: str, name: str) -> Item | None:
        lname = name.lower()  # SharePoint names are case-insensitive
        return next((i for i in self.items.values() if i.parent_id == parent_id and i.name.lower() == lname), None)

    def free_name(self, parent_id: str, name: str) -> str:
        """``name``, or the first of ``stem 1.ext``, ``stem 2.ext``… not taken in the folder, as SharePoint
        picks for ``@microsoft.graph.conflictBehavior=rename``."""
        stem, dot, ext = name.rpartition(".") if "." in name.strip(".") else (name, "", "")
        candidate, n = name, 0
        while self.child(parent_id, candidate) is not None:
            n += 1
            candidate = f"{stem} {n}{dot}{ext}"
        return candidate

    def check_in(self, item: Item, comment: str, new_version: bool = True) -> None:
        """Check ``item`` in: with versioning on (every library here), a check-in makes a new major version of
        the file even when its bytes did not change, as SharePoint does; ``new_version`` False: an overwrite
        check-in (SharePoint's OverwriteCheckIn) keeps the current version (the draft takes its place). Writes
        while checked out go to one draft (``add``): the check-in makes one version of them, not one each."""
        with self.lock:
            item.checked_out, item.checkin_comment = False, comment
            if item.content is not None:
                if new_version:
                    if not item.draft:
                        item.keep_version()
                    item.modified = now_iso()
                    item.version += 1
                    self.touch(item, write=False)
                elif item.draft and item.history:  # the draft overwrites the checked-in version
                    item.history.pop()
                    item.history_fields.pop()
            item.draft = False

    def discard_checkout(self, item: Item) -> None:
        """Undo a check-out: the draft's writes are dropped and the checked-in version is current again."""
        with self.lock:
            if item.draft and item.history:
                item.content, item.modified = item.history.pop()
                _name, fields = item.history_fields.pop()
                item.fields = dict(fields)
                item.version += 1
                item.modified_by = item.checked_in_by  # the checked-in version's writer again
                self.touch(item, write=False)
            item.checked_out = item.draft = False

    def path_of(self, item: Item) -> str:
        parts = []
        while item.parent_id is not None:
            parts.append(item.name)
            item = self.items[item.parent_id]
        return "/".join(reversed(parts))

    def add(self, drive_id: str, parent_id: str, name: str, content: bytes | None) -> Item:
        """Create or replace (content) the child ``name`` of ``parent_id``."""
        with self.lock:
            existing = self.child(parent_id, name)
            if existing is not None and content is not None and existing.content is not None:
                if not existing.draft:  # a checked-out file keeps one draft until its check-in (check_in)
                    existing.keep_version()
                    existing.draft, existing.checked_in_by = existing.checked_out, existing.modified_by
                existing.content, existing.modified = content, now_iso()
                existing.version += 1
                self.touch(existing)
                return existing
            self._list_ids += 1
            item = Item(new_id(), name, drive_id, parent_id, content, list_item_id=self._list_ids)
            self.items[item.id] = item
            self.touch(item)
            item.created_seq, item.created_by = item.seq, item.modified_by
            return item

    def delete(self, item: Item) -> None:
        with self.lock:
            for child in self.children(item.id):
                self.delete(child)
            self.seq += 1
            self.tombstones[item.id] = Tombstone(item.id, item.name, item.drive_id, item.parent_id,
                                                 self.ancestors(item), item.content is None, self.seq,
                                                 item.list_item_id, now_iso())
            self.items.pop(item.id, None)
        self.changed("drive", item.drive_id)
