"""``permissions.list/get/create/update/delete`` on a file or folder, mixed into ``DriveSandbox``.

Users (``type=user``, ``emailAddress``) become the file's writers / commenters / readers, which is what
the emulator checks on reads and writes (a folder's readers read what is inside). ``anyone`` and
``domain`` shares are kept and listed (their ids ``anyoneWithLink`` / ``<hash>k``). Only the owner or a
writer may change sharing (403 insufficientFilePermissions); the owner's permission cannot be removed
or downgraded without ``transferOwnership`` (403 cannotRemoveOwner); ownership goes only to a user (403
invalidSharingRequest) and not in a shared drive (403, whose items the drive owns); an unknown id is 404 notFound on
``permissionId``; a bad ``type``/``role`` is 400 invalid, a missing one 400 required. A shared drive's id as
``fileId`` manages its members, and items in shared drives list the members' permissions (``members.py``)."""

from __future__ import annotations

from typing import Any

from sandbox.core.http import Request, Response, json_response
from sandbox.gdrive.errors import DriveError
from sandbox.gdrive.extras import check_share
from sandbox.gdrive.fields import select
from sandbox.gdrive.paging import page
from sandbox.gdrive.store import DriveFile, permission_id

TYPES = {"user", "group", "domain", "anyone"}
ROLES = {"owner", "organizer", "fileOrganizer", "writer", "commenter", "reader"}
PEOPLE = {"writer": "writers", "commenter": "commenters", "reader": "readers"}


class Permissions:
    """Uses the sandbox's ``store``, ``_file`` and ``_changed``."""

    def _sharer(self, req: Request, changing: bool = True) -> DriveFile:
        f = self._file(req)
        role = self.store.role(f, req.principal)
        if role not in ("owner", "writer"):
            raise DriveError(403, "insufficientFilePermissions",
                             f"The user does not have sufficient permissions for file {f.id}.")
        if changing:
            check_share(f, role)  # writersCanShare=false
        return f

    def _perms(self, f: DriveFile) -> list[dict[str, Any]]:
        """``f``'s permissions; in a shared drive, its members' and its own (``members.py``)."""
        drive = self.store.drive_of(f)
        return f.permissions() if drive is None else self.item_permissions(f, drive)

    def _find(self, f: DriveFile, perm_id: str) -> dict[str, Any]:
        found = next((p for p in self._perms(f) if p["id"] == perm_id), None)
        if found is None:
            raise DriveError(404, "notFound", f"Permission not found: {perm_id}.", location="permissionId")
        return found

    def list_permissions(self, req: Request) -> Response:
        if req.params["file_id"] in self.store.drives:  # a shared drive: its members
            return self.member_call(req, "list")
        f = self._sharer(req, changing=False)
        found, token = page(req, self._perms(f), 100, 100)
        body: dict[str, Any] = {"kind": "drive#permissionList", "permissions": found}
        if token:
            body["nextPageToken"] = token
        return json_response(select(body, "permissionList", req.query.get("fields")))

    def get_permission(self, req: Request) -> Response:
        if req.params["file_id"] in self.store.drives:  # a shared drive: its members
            return self.member_call(req, "get")
        f = self._file(req)
        return json_response(select(self._find(f, req.params["perm_id"]), "permission", req.query.get("fields")))

    def create_permission(self, req: Request) -> Response:
        if req.params["file_id"] in self.store.drives:  # a shared drive: its members
            return self.member_call(req, "create")
        f = self._sharer(req)
        body = req.json() or {}
        kind, role = body.get("type"), body.get("role")
        for name, value, allowed in (("type", kind, TYPES), ("role", role, ROLES)):
            if not value:
                raise DriveError(400, "required", f"Required parameter: permission.{name}",
                                 location=f"permission.{name}")
            if value not in allowed:
                raise DriveError(400, "invalid", f"Invalid value for: permission.{name}: {value}",
                                 location=f"permission.{name}")
        if kind in ("user", "group"):
            email = str(body.get("emailAddress") or "")
            if "@" not in email:
                raise DriveError(400, "invalidSharingRequest", "Bad Request. User message: \"You must specify "
                                 "an email address for a user or group permission.\"")
            perm = self._grant_user(f, email, role, req)
        else:
            domain = str(body.get("domain") or "")
            if kind == "domain" and not domain:
                raise DriveError(400, "required", "Required parameter: permission.domain",
                                 location="permission.domain")
            if role == "owner":
                raise DriveError(403, "invalidSharingRequest", "Bad Request. User message: \"Ownership can "
                                 "only be transferred to a user.\"")
            perm_id = "anyoneWithLink" if kind == "anyone" else permission_id(domain) + "k"
            perm = {"kind": "drive#permission", "id": perm_id, "type": kind, "role": role,
                    "allowFileDiscovery": bool(body.get("allowFileDiscovery", False))}
            if kind == "domain":
                perm.update(domain=domain, displayName=domain)
            with self.store.lock:
                f.link_shares[perm_id] = perm
        self._changed(f)
        return json_response(select(perm, "permission", req.query.get("fields")))

    def _grant_user(self, f: DriveFile, email: str, role: str, req: Request) -> dict[str, Any]:
        if role == "owner" and req.query.get("transferOwnership") != "true":
            raise DriveError(403, "forbidden", "The transferOwnership parameter must be enabled when the "
                             "permission role is 'owner'.", location="transferOwnership")
        if role == "owner" and self.store.drive_of(f) is not None:  # the drive owns its items [unc: the answer]
            raise DriveError(403, "forbidden", "Ownership transfers are not supported for files in shared drives.")
        if role in ("organizer", "fileOrganizer"):
            raise DriveError(400, "invalid", f"Invalid value for: permission.role: {role} (shared drives only)",
                             location="permission.role")
        with self.store.lock:
            self._drop_user(f, email)
            if role == "owner":
                previous, f.owner = f.owner, email
                f.writers.add(previous)  # the previous owner stays a writer, as in Drive
            else:
                getattr(f, PEOPLE[role]).add(email)
        return self._find(f, permission_id(email))

    @staticmethod
    def _drop_user(f: DriveFile, email: str) -> None:
        for people in (f.writers, f.commenters, f.readers):
            people.discard(email)

    def update_permission(self, req: Request) -> Response:
        if req.params["file_id"] in self.store.drives:  # a shared drive: its members
            return self.member_call(req, "update")
        f = self._sharer(req)
        perm = self._find(f, req.params["perm_id"])
        role = (req.json() or {}).get("role")
        if role not in ROLES:
            raise DriveError(400, "invalid", f"Invalid value for: permission.role: {role}",
                             location="permission.role")
        if perm["role"] == "owner":
            raise DriveError(403, "cannotRemoveOwner", "The owner of a file cannot be removed or downgraded.")
        if perm["type"] in ("user", "group"):
            perm = self._grant_user(f, perm["emailAddress"], role, req)
        elif role == "owner":  # as permissions.create answers an anyone / domain owner
            raise DriveError(403, "invalidSharingRequest", "Bad Request. User message: \"Ownership can only be "
                             "transferred to a user.\"")
        else:
            with self.store.lock:
                f.link_shares[perm["id"]]["role"] = role
                perm = dict(f.link_shares[perm["id"]])
        self._changed(f)
        return json_response(select(perm, "permission", req.query.get("fields")))

    def delete_permission(self, req: Request) -> Response:
        if req.params["file_id"] in self.store.drives:  # a shared drive: its members
            return self.member_call(req, "delete")
        f = self._sharer(req)
        perm = self._find(f, req.params["perm_id"])
        if perm["role"] == "owner":
            raise DriveError(403, "cannotRemoveOwner", "The owner of a file cannot be removed.")
        with self.store.lock:
            if perm["type"] in ("user", "group"):
                self._drop_user(f, perm["emailAddress"])
            else:
                f.link_shares.pop(perm["id"], None)
        self._changed(f)
        return Response(204, b"", "text/plain")

