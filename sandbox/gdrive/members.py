"""A shared drive's id as a file id, as Drive takes it (with ``supportsAllDrives=true``; without it, or for
a drive the caller is not a member of, 404 notFound as for any file):

- ``files.get(fileId=driveId)``: the drive's top folder (its name, ``driveId``, no ``parents``, no
  ``owners``);
- ``permissions.*`` on it manage the drive's members: ``list``/``get`` for any member, ``create`` /
  ``update`` / ``delete`` for organizers only (403 insufficientFilePermissions); roles ``organizer``,
  ``fileOrganizer``, ``writer``, ``commenter``, ``reader`` (``owner`` is 400 invalid: shared drives have no
  owner; the message is guessed); members are ``type: user``;
- the permissions of an item in a shared drive are the drive's members (``permissionDetails``:
  ``permissionType: member``, ``inherited: true``, ``inheritedFrom`` the drive) and the item's own shares;
  no ``owner`` (shared drive items have none)."""

from __future__ import annotations

from typing import Any

from sandbox.core.http import Request, Response, json_response
from sandbox.gdrive.capabilities import complete
from sandbox.gdrive.errors import DriveError
from sandbox.gdrive.fields import select
from sandbox.gdrive.listing import all_drives
from sandbox.gdrive.paging import page
from sandbox.gdrive.store import DRIVE_ROLES, FOLDER, DriveFile, display_name, permission_id

MEMBER_ROLES = ("organizer", "fileOrganizer", "writer", "commenter", "reader")


def member_permission(email: str, role: str, drive_id: str, inherited: bool) -> dict[str, Any]:
    details: dict[str, Any] = {"permissionType": "member", "role": role, "inherited": inherited}
    if inherited:
        details["inheritedFrom"] = drive_id
    return {"kind": "drive#permission", "id": permission_id(email), "type": "user", "emailAddress": email,
            "role": role, "displayName": display_name(email), "deleted": False, "pendingOwner": False,
            "permissionDetails": [details]}


class DriveMembers:
    """Uses the sandbox's ``store`` and ``_view``; Permissions and ``get_file`` hand drive ids here."""

    def _member_drive(self, req: Request, organizer: bool = False):
        drive_id = req.params["file_id"]
        role = self.store.member_role(drive_id, req.principal)
        if role is None or not all_drives(req):
            raise DriveError(404, "notFound", f"File not found: {drive_id}.", location="fileId")
        if organizer and role != "organizer":
            raise DriveError(403, "insufficientFilePermissions",
                             f"The user does not have sufficient permissions for file {drive_id}.")
        return self.store.drives[drive_id]

    def drive_root(self, req: Request) -> dict[str, Any]:
        drive = self._member_drive(req)
        role = DRIVE_ROLES[drive.members[req.principal]]
        view = DriveFile(drive.id, drive.name, FOLDER, [], req.principal, created=drive.created).resource(
            req.principal, req.base_url, role, drive.id)
        view.pop("parents", None)
        complete(view["capabilities"], role, True, True)
        view["permissions"] = self._drive_permissions(drive.id, inherited=False)
        view["permissionIds"] = [p["id"] for p in view["permissions"]]
        return view

    def _drive_permissions(self, drive_id: str, inherited: bool) -> list[dict[str, Any]]:
        members = self.store.drives[drive_id].members
        return [member_permission(email, role, drive_id, inherited) for email, role in
                sorted(members.items(), key=lambda m: (MEMBER_ROLES.index(m[1]), m[0]))]

    def item_permissions(self, f: DriveFile, drive_id: str) -> list[dict[str, Any]]:
        """An item in a shared drive: the drive's members, then its own shares (no owner)."""
        members = self._drive_permissions(drive_id, inherited=True)
        ids = {p["id"] for p in members}
        return members + [p for p in f.permissions() if p["role"] != "owner" and p["id"] not in ids]

    def member_call(self, req: Request, action: str) -> Response:
        """permissions.<action> with fileId = a shared drive's id."""
        drive = self._member_drive(req, organizer=action in ("create", "update", "delete"))
        fields = req.query.get("fields")
        if action == "list":
            found, token = page(req, self._drive_permissions(drive.id, False), 100, 100)
            body = {"kind": "drive#permissionList", "permissions": found, **({"nextPageToken": token} if token else {})}
            return json_response(select(body, "permissionList", fields))
        if action == "create":
            body = req.json() or {}
            email, role = str(body.get("emailAddress") or ""), body.get("role")
            if body.get("type") not in ("user", "group") or "@" not in email:
                raise DriveError(400, "invalidSharingRequest", "Bad Request. User message: \"You must specify "
                                 "an email address for a user or group permission.\"")
        else:
            email = next((e for e in drive.members if permission_id(e) == req.params["perm_id"]), "")
            if not email:
                raise DriveError(404, "notFound", f"Permission not found: {req.params['perm_id']}.",
                                 location="permissionId")
            if action == "get":
                return json_response(select(member_permission(email, drive.members[email], drive.id, False),
                                            "permission", fields))
            if action == "delete":  # the member's change log says the drive is gone for them (listing.py)
                with self.store.lock:
                    drive.members.pop(email, None)
                    self.store.record_drive(drive.id, removed=True, audience={email})
                return Response(204, b"", "text/plain")
            role = (req.json() or {}).get("role")
        if role not in MEMBER_ROLES:
            raise DriveError(400, "invalid", f"Invalid value for: permission.role: {role} (shared drive members "
                             "are organizer, fileOrganizer, writer, commenter or reader)", location="permission.role")
        with self.store.lock:
            drive.join(email, role, self.store)
        return json_response(select(member_permission(email, role, drive.id, False), "permission", fields))
