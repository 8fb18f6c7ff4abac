"""``permissions.list/get/create/update/delete`` on a file or folder, mixed into ``DriveSandbox``.

Users (``type=user``, ``emailAddress``) become the file's writers / commenters / readers, which is what
the emulator checks on reads and writes (a folder's readers read what is inside). ``anyone`` and
``domain`` shares are kept and listed (their ids ``anyoneWithLink``, or ``anyone`` with ``allowFileDiscovery``,
as Drive names the two; ``<hash>k`` for a domain). Only the owner or a
writer may change sharing (403 insufficientFilePermissions); the owner's permission cannot be removed
or downgraded without ``transferOwnership`` (403 cannotRemoveOwner); ownership goes only to a user (403
invalidSharingRequest) and not in a shared drive (403, whose items the drive owns); an unknown id is 404 notFound on
``permissionId``; a bad ``type``/``role`` is 400 invalid, a missing one 400 required. A group's permission
lists as ``type: group``; ``expirationTime`` on user and group grants as Drive restricts it (``grants.py``).
A shared drive's id as ``fileId`` manages its members, and items in shared drives list the members'
permissions (``members.py``).

Ownership, as Drive's "Transfer file ownership" guide has it:

- only the owner transfers ownership (a writer: 403 insufficientFilePermissions [unc: the reason]), and not
  with ``sendNotificationEmail=false`` (403 forbidden on ``sendNotificationEmail``, ``NOTIFY_ONLY_PEOPLE``, Drive's
  words as a client's issue quotes them; the same answer when an ``anyone``/``domain`` share carries the
  parameter at all, true or false);
- consumer accounts (the owner a ``gmail.com`` / ``googlemail.com`` address [unc: how Google tells them])
  cannot hand a file over at once (403 consentRequiredForOwnershipTransfer "Consent is required to transfer
  ownership of a file to another user."): the owner marks a writer ``pendingOwner: true``
  (``permissions.update``; only on a user's writer permission, else 400 invalid [unc]) and that user accepts
  with ``permissions.update`` ``role=owner`` ``transferOwnership=true`` on their own permission; the old
  owner stays a writer and ``pendingOwner`` goes back to false (also when the permission is downgraded or
  removed);
- ``moveToNewOwnersRoot=true`` on a transfer moves the file to the new owner's My Drive root, all prior parents
  removed (the reference); without it the parents stay."""

from __future__ import annotations

from typing import Any

from sandbox.core.http import Request, Response, json_response
from sandbox.gdrive.errors import DriveError
from sandbox.gdrive.extras import check_share
from sandbox.gdrive.fields import select
from sandbox.gdrive.grants import expiration, forget, remember
from sandbox.gdrive.paging import page
from sandbox.gdrive.store import DriveFile, permission_id, root_id

CONSUMER = ("@gmail.com", "@googlemail.com")  # [unc] consumer accounts, as the emulator tells them

TYPES = {"user", "group", "domain", "anyone"}
ROLES = {"owner", "organizer", "fileOrganizer", "writer", "commenter", "reader"}
PEOPLE = {"writer": "writers", "commenter": "commenters", "reader": "readers"}
NOTIFY_ONLY_PEOPLE = ("The sendNotificationEmail parameter is only applicable for permissions of type 'user' or "
                      "'group', and must not be disabled for ownership transfers.")


class Permissions:
    """Uses the sandbox's ``store``, ``_file`` and ``_changed``."""

    def _sharer(self, req: Request, changing: bool = True) -> DriveFile:
        f = self._file(req, own_folder=not changing)  # root: listed, not shared [unc]
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
        f = self._file(req, own_folder=True)
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
            perm = self._grant_user(f, email, role, req, kind, expiration(body, kind, role, f, self.clock.now()))
        else:
            if "sendNotificationEmail" in req.query:  # true or false: the key itself is refused
                raise DriveError(403, "forbidden", NOTIFY_ONLY_PEOPLE, location="sendNotificationEmail")
            expiration(body, kind, role, f, self.clock.now())  # none on anyone / domain shares
            domain = str(body.get("domain") or "")
            if kind == "domain" and not domain:
                raise DriveError(400, "required", "Required parameter: permission.domain",
                                 location="permission.domain")
            if role == "owner":
                raise DriveError(403, "invalidSharingRequest", "Bad Request. User message: \"Ownership can "
                                 "only be transferred to a user.\"")
            found = bool(body.get("allowFileDiscovery", False))
            # Drive's ids for the world: ``anyone`` when search finds the file, ``anyoneWithLink`` when only a link
            # opens it [unc: from Drive's answers, not the reference; a domain's discoverable id is not known]
            perm_id = ("anyone" if found else "anyoneWithLink") if kind == "anyone" else permission_id(domain) + "k"
            perm = {"kind": "drive#permission", "id": perm_id, "type": kind, "role": role, "allowFileDiscovery": found}
            if kind == "domain":
                perm.update(domain=domain, displayName=domain)
            with self.store.lock:
                if kind == "anyone":  # one anyone permission a file: the other id gives way [unc]
                    f.link_shares.pop("anyoneWithLink" if found else "anyone", None)
                f.link_shares[perm_id] = perm
        self._changed(f)
        return json_response(select(perm, "permission", req.query.get("fields")))

    def _grant_user(self, f: DriveFile, email: str, role: str, req: Request, kind: str = "user",
                    when: str | None = None, updating: bool = False) -> dict[str, Any]:
        if role == "owner" and req.query.get("transferOwnership") != "true":
            raise DriveError(403, "forbidden", "The transferOwnership parameter must be enabled when the "
                             "permission role is 'owner'.", location="transferOwnership")
        if role == "owner" and kind == "group":  # as an anyone / domain owner is answered
            raise DriveError(403, "invalidSharingRequest", "Bad Request. User message: \"Ownership can only be "
                             "transferred to a user.\"")
        if role == "owner" and self.store.drive_of(f) is not None:  # the drive owns its items [unc: the answer]
            raise DriveError(403, "forbidden", "Ownership transfers are not supported for files in shared drives.")
        if role in ("organizer", "fileOrganizer"):
            raise DriveError(400, "invalid", f"Invalid value for: permission.role: {role} (shared drives only)",
                             location="permission.role")
        if role == "owner":
            self._may_transfer(f, email, req)
        with self.store.lock:
            pending = role == "writer" and email in f.pending_owners  # still a writer: still offered
            self._drop_user(f, email)
            f.pending_owners.update([email] if pending else [])
            if role == "owner":
                previous, f.owner = f.owner, email
                f.writers.add(previous)  # the previous owner stays a writer, as in Drive
                f.pending_owners.clear()
                if req.query.get("moveToNewOwnersRoot") == "true" and self.store.drive_of(f) is None:
                    f.parents, f.parent_trashed = [root_id(email)], False  # all prior parents removed
                forget(f, email)  # an owner's access does not expire [unc]
            else:
                getattr(f, PEOPLE[role]).add(email)
                remember(f, email, kind, when, req, updating)
        return self._find(f, permission_id(email))

    @staticmethod
    def _may_transfer(f: DriveFile, email: str, req: Request) -> None:
        """An ownership transfer to ``email``: by the owner (consumer accounts: only through a pending owner),
        or the pending owner's own acceptance."""
        if req.query.get("sendNotificationEmail") == "false":
            raise DriveError(403, "forbidden", NOTIFY_ONLY_PEOPLE, location="sendNotificationEmail")
        accepting = req.principal == email and email in f.pending_owners
        if req.principal != f.owner and not accepting:  # [unc] the reason
            raise DriveError(403, "insufficientFilePermissions", "The user does not have sufficient permissions "
                             f"for file {f.id}.")
        if f.owner.lower().endswith(CONSUMER) and not accepting:
            raise DriveError(403, "consentRequiredForOwnershipTransfer", "Consent is required to transfer "
                             "ownership of a file to another user.")

    def _offer(self, f: DriveFile, perm: dict[str, Any], role: str, pending: bool, req: Request) -> None:
        """``pendingOwner`` on permissions.update: the owner offers (True) or withdraws (False) ownership."""
        if req.principal != f.owner:  # [unc] the reason
            raise DriveError(403, "insufficientFilePermissions", "The user does not have sufficient permissions "
                             f"for file {f.id}.")
        if pending and (perm["type"] != "user" or role != "writer" or self.store.drive_of(f) is not None):
            raise DriveError(400, "invalid", "Only a user with the writer role can be made a pending owner "
                             "of a file outside shared drives.", location="permission.pendingOwner")  # [unc]
        with self.store.lock:
            (f.pending_owners.add if pending else f.pending_owners.discard)(perm["emailAddress"])

    @staticmethod
    def _drop_user(f: DriveFile, email: str) -> None:
        for people in (f.writers, f.commenters, f.readers):
            people.discard(email)
        f.pending_owners.discard(email)

    def update_permission(self, req: Request) -> Response:
        if req.params["file_id"] in self.store.drives:  # a shared drive: its members
            return self.member_call(req, "update")
        f = self._sharer(req)
        perm = self._find(f, req.params["perm_id"])
        body = req.json() or {}
        role = body.get("role") or perm["role"]  # [unc] a body without role keeps it (a pendingOwner change)
        if role not in ROLES:
            raise DriveError(400, "invalid", f"Invalid value for: permission.role: {role}",
                             location="permission.role")
        if perm["role"] == "owner":
            raise DriveError(403, "cannotRemoveOwner", "The owner of a file cannot be removed or downgraded.")
        if "pendingOwner" in body and role != "owner":
            self._offer(f, perm, role, bool(body["pendingOwner"]), req)
        if perm["type"] in ("user", "group"):
            perm = self._grant_user(f, perm["emailAddress"], role, req, perm["type"],
                                    expiration(body, perm["type"], role, f, self.clock.now()), updating=True)
        else:
            expiration(body, perm["type"], role, f, self.clock.now())  # none on anyone / domain shares
            if role == "owner":  # as permissions.create answers an anyone / domain owner
                raise DriveError(403, "invalidSharingRequest", "Bad Request. User message: \"Ownership can only "
                                 "be transferred to a user.\"")
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
                forget(f, perm["emailAddress"])
            else:
                f.link_shares.pop(perm["id"], None)
        self._changed(f)
        return Response(204, b"", "text/plain")

