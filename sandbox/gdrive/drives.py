"""``drives.create/list/get/update/delete/hide/unhide`` (shared drives), mixed into ``DriveSandbox``.

A shared drive's id is also the id of its top folder: files are created in it with
``parents=[driveId]`` (and ``supportsAllDrives=true``, see ``app.py``). Its creator is its organizer;
``add_shared_drive`` seeds drives with other members. As in Drive:

- ``requestId`` is required; the same user repeating a ``requestId`` creates nothing and gets 409
  ``teamDriveAlreadyExists`` (the discovery document: "If the shared drive already exists a 409 error
  will be returned"; the reason is one Google's tools handle on create, the message is guessed);
- a drive the caller is not a member of is 404 notFound on ``driveId``; only organizers update or delete
  (403 insufficientFilePermissions); a drive holding untrashed items is not deleted (403
  ``cannotDeleteResourceWithChildren``, message guessed; what is inside a trashed folder counts as
  trashed), its trashed items go with it;
- ``hidden`` is per user (``hide`` / ``unhide``); ``drives.list`` lists hidden drives too and takes ``q``
  on ``name`` and ``hidden`` (the admin-only terms with ``useDomainAdminAccess``: ``drive_search.py``);
  pageSize 1..100 (default 10);
- ``org_unit`` is the drive's organizational unit (``ROOT_ORG_UNIT`` unless a test moves it), shown as
  ``orgUnitId`` in an administrator's ``drives.list`` only, as the reference says (``domain_admin.py``).

Creating, updating, deleting, hiding and unhiding a drive and adding, changing or removing a member are
changes of the drive (``changeType: "drive"``) in its members' change logs (``listing.py``; a removed member
gets one with ``removed: true``); which of these Drive logs, beyond creation, deletion and membership, is
guessed."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from sandbox.core.http import Request, Response, json_response
from sandbox.gdrive.drive_search import drive_query
from sandbox.gdrive.errors import DriveError
from sandbox.gdrive.fields import select
from sandbox.gdrive.paging import page
from sandbox.gdrive.store import DriveStore, now_rfc3339
from sandbox.gdrive.themes import apply as apply_theme
from sandbox.gdrive.themes import check as check_theme

DRIVES = r"/drive/v3/drives"
ONE = DRIVES + r"/(?P<drive_id>[A-Za-z0-9_-]+)"
DRIVE_ROUTES = (("POST", DRIVES, "create_drive"), ("GET", DRIVES, "list_drives"), ("GET", ONE, "get_drive"),
                ("PATCH", ONE, "update_drive"), ("DELETE", ONE, "delete_drive"), ("POST", ONE + "/hide", "hide_drive"),
                ("POST", ONE + "/unhide", "unhide_drive"))
ROOT_ORG_UNIT = "03ph8a2z0sandbox"  # [unc: the shape of a Workspace org unit id]
READ_ONLY = {"kind", "id", "capabilities", "createdTime", "orgUnitId", "backgroundImageLink", "hidden"}
RESTRICTIONS = ("adminManagedRestrictions", "copyRequiresWriterPermission", "domainUsersOnly", "driveMembersOnly",
                "sharingFoldersRequiresOrganizerPermission")


@dataclass
class SharedDrive:
    id: str
    name: str
    members: dict[str, str]  # email -> organizer, fileOrganizer, writer, commenter, reader
    request: tuple[str, str] | None = None  # (creator, requestId) of drives.create
    created: str = field(default_factory=now_rfc3339)
    hidden_for: set[str] = field(default_factory=set)
    color_rgb: str = "#4285f4"
    background_link: str | None = None  # from its theme (themes.py); themeId itself is write-only
    restrictions: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(RESTRICTIONS, False))
    joined: dict[str, int] = field(default_factory=dict)  # member -> the change number they joined at
    org_unit: str = ROOT_ORG_UNIT

    def join(self, who: str, role: str, store: DriveStore) -> None:
        """``who`` becomes a member (or changes role): a drive change for them; a new member's change log
        shows the drive's items from here on, not their earlier changes (``listing.py``)."""
        new = who not in self.members
        self.members[who] = role
        store.record_drive(self.id, audience={who})
        if new:
            self.joined[who] = len(store.changes)

    def resource(self, who: str) -> dict[str, Any]:
        role = self.members.get(who)
        organizer, edit = role == "organizer", role in ("organizer", "fileOrganizer", "writer")
        caps = {"canAddChildren": edit, "canComment": role != "reader", "canCopy": True, "canDownload": True,
                "canEdit": edit, "canListChildren": True, "canReadRevisions": edit, "canRename": edit,
                "canShare": organizer, "canManageMembers": organizer, "canRenameDrive": organizer,
                "canChangeDriveBackground": organizer, "canDeleteDrive": organizer,
                "canDeleteChildren": role in ("organizer", "fileOrganizer"), "canTrashChildren": edit,
                "canResetDriveRestrictions": organizer, "canChangeCopyRequiresWriterPermissionRestriction": organizer,
                "canChangeDomainUsersOnlyRestriction": organizer, "canChangeDriveMembersOnlyRestriction": organizer,
                "canChangeSharingFoldersRequiresOrganizerPermissionRestriction": organizer}
        out = {"kind": "drive#drive", "id": self.id, "name": self.name, "colorRgb": self.color_rgb,
               "createdTime": self.created, "hidden": who in self.hidden_for, "capabilities": caps,
               "restrictions": dict(self.restrictions)}
        if self.background_link:
            out["backgroundImageLink"] = self.background_link
        return out


def add_shared_drive(store: DriveStore, name: str, organizer: str, members: dict[str, str] | None = None,
                     request: tuple[str, str] | None = None) -> SharedDrive:
    """A shared drive organized by ``organizer``, with other ``members`` (email -> role)."""
    drive = SharedDrive("0A" + secrets.token_urlsafe(12).replace("-", "A").replace("_", "B") + "Uk9PVA", name,
                        {**(members or {}), organizer: "organizer"}, request)
    with store.lock:
        store.drives[drive.id] = drive
        store.record_drive(drive.id)  # its members' change logs show the new drive (listing.py)
        drive.joined = dict.fromkeys(drive.members, len(store.changes))
    return drive


class Drives:
    """Uses the sandbox's ``store``."""

    def _drive(self, req: Request, organizer: bool = False) -> SharedDrive:
        drive_id = req.params["drive_id"]
        role = self.store.member_role(drive_id, req.principal)
        if role is None:
            raise DriveError(404, "notFound", f"Shared drive not found: {drive_id}", location="driveId")
        if organizer and role != "organizer":
            raise DriveError(403, "insufficientFilePermissions", "The user does not have sufficient permissions "
                             f"for shared drive {drive_id}.")
        return self.store.drives[drive_id]

    def _drive_answer(self, drive: SharedDrive, req: Request) -> Response:
        return json_response(select(drive.resource(req.principal), "drive", req.query.get("fields")))

    @staticmethod
    def _check_drive_body(body: dict[str, Any]) -> None:
        bad = sorted(set(body) & READ_ONLY)
        if bad:
            raise DriveError(403, "fieldNotWritable", "The resource body includes fields which are not directly "
                             f"writable: {', '.join(bad)}.")
        check_theme(body)
        unknown = sorted(set(body.get("restrictions") or {}) - set(RESTRICTIONS))
        if unknown:
            raise DriveError(400, "invalid", f"Invalid value for: drive.restrictions.{unknown[0]}",
                             location=f"drive.restrictions.{unknown[0]}")

    def _edit_drive(self, drive: SharedDrive, body: dict[str, Any], creating: bool = False) -> None:
        self._check_drive_body(body)
        with self.store.lock:
            if body.get("name"):
                drive.name = str(body["name"])
            if body.get("colorRgb"):
                drive.color_rgb = str(body["colorRgb"])
            apply_theme(drive, body, creating)
            for key, value in (body.get("restrictions") or {}).items():
                drive.restrictions[key] = bool(value)
            if body:
                self.store.record_drive(drive.id)

    def _in_trash(self, f) -> bool:
        """Trashed, or inside a trashed folder (Drive trashes a folder's contents with it)."""
        while f is not None:
            if f.trashed:
                return True
            f = next((self.store.files[p] for p in f.parents if p in self.store.files), None)
        return False

    def create_drive(self, req: Request) -> Response:
        request_id = req.query.get("requestId")
        if not request_id:
            raise DriveError(400, "required", "Required parameter: requestId", location="requestId")
        body = (req.json() if req.body else None) or {}
        if not body.get("name"):
            raise DriveError(400, "required", "Required parameter: drive.name", location="drive.name")
        select({}, "drive", req.query.get("fields"))
        self._check_drive_body(body)
        with self.store.lock:
            if any(d.request == (req.principal, request_id) for d in self.store.drives.values()):
                raise DriveError(409, "teamDriveAlreadyExists", "A shared drive with this requestId already exists.")
            drive = add_shared_drive(self.store, str(body["name"]), req.principal, request=(req.principal, request_id))
            self._edit_drive(drive, {k: v for k, v in body.items() if k != "name"}, creating=True)
        return self._drive_answer(drive, req)

    def list_drives(self, req: Request) -> Response:
        match = drive_query(req.query.get("q") or "")
        with self.store.lock:
            mine = [d for d in self.store.drives.values() if req.principal in d.members and match(d, req.principal)]
            chunk, token = page(req, mine, 10, 100)
            body: dict[str, Any] = {"kind": "drive#driveList", "drives": [d.resource(req.principal) for d in chunk]}
        if token:
            body["nextPageToken"] = token
        return json_response(select(body, "driveList", req.query.get("fields")))

    def get_drive(self, req: Request) -> Response:
        return self._drive_answer(self._drive(req), req)

    def update_drive(self, req: Request) -> Response:
        drive = self._drive(req, organizer=True)
        self._edit_drive(drive, (req.json() if req.body else None) or {})
        return self._drive_answer(drive, req)

    def delete_drive(self, req: Request) -> Response:
        return self._remove_drive(self._drive(req, organizer=True))

    def _remove_drive(self, drive: SharedDrive, with_items: bool = False) -> Response:
        """Delete ``drive`` and what is in it: only trashed items unless ``with_items`` (an administrator's
        ``allowItemDeletion=true``, ``domain_admin.py``)."""
        with self.store.lock:
            items = [f for f in self.store.files.values() if self.store.drive_of(f) == drive.id]
            if not with_items and not all(self._in_trash(f) for f in items):
                raise DriveError(403, "cannotDeleteResourceWithChildren", "The shared drive cannot be deleted "
                                 "because it contains one or more untrashed items.")
            for f in items:
                self.store.delete(f.id)
            del self.store.drives[drive.id]
            self.store.record_drive(drive.id, removed=True, audience=set(drive.members))
        return Response(204, b"", "text/plain")

    def hide_drive(self, req: Request) -> Response:
        drive = self._drive(req)
        with self.store.lock:
            drive.hidden_for.add(req.principal)
            self.store.record_drive(drive.id, audience={req.principal})  # ``hidden`` is the caller's own
        return self._drive_answer(drive, req)

    def unhide_drive(self, req: Request) -> Response:
        drive = self._drive(req)
        with self.store.lock:
            drive.hidden_for.discard(req.principal)
            self.store.record_drive(drive.id, audience={req.principal})  # ``hidden`` is the caller's own
        return self._drive_answer(drive, req)
