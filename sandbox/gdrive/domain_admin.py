"""``useDomainAdminAccess=true`` on ``drives.list/get/update/delete`` and ``permissions.*``, mixed into
``DriveSandbox`` ahead of ``Drives``, ``Permissions`` and ``DriveMembers``.

The emulator's notion of a Workspace administrator is ``sb.domain_admins`` (a set of emails, empty by
default; a test adds e.g. ``grc-admin@example.com`` and calls as that user through domain-wide delegation,
``accounts.delegate``). As Drive's reference says, the parameter issues the request "as a domain
administrator":

- from anyone else, every such call is 403: ``drives.list`` with ``noListTeamDrivesAdministratorPrivilege``
  "The requesting user does not have the administrator privilege required to list or manage all shared
  drives." (the answer GAM and others handle for drives.list); ``drives.get``/``update``/``delete`` with
  ``noManageTeamDriveAdministratorPrivilege`` and ``permissions.*`` with ``insufficientAdministratorPrivileges``
  [unc: those two reasons are in Google's error vocabulary (GAM handles both), their messages are guessed];
- from an administrator: ``drives.list`` lists every shared drive, member or not, with its ``orgUnitId``
  ("only populated on drives.list responses when the useDomainAdminAccess parameter is set to true"), and
  takes the admin-only ``q`` terms (``memberCount``, ``organizerCount``, ``orgUnitId``, ``createdTime``:
  ``drive_search.py``) (the emulator is one
  organization: every drive is the admin's domain's [unc: a service account's drives belong to its project's
  organization on Drive]);
  ``drives.get``/``update``/``delete`` reach any drive (the admin manages it as an organizer would; ``delete``
  with ``allowItemDeletion=true`` takes the drive's untrashed items with it, as the reference says); and
  ``permissions.*`` with a shared drive's id as ``fileId`` manage its members without membership. On an
  ordinary file the parameter grants nothing more (the reference: access is granted "if the file ID
  parameter refers to a shared drive").

The admin is not a member: the drive's resource shows them no member capabilities and ``hidden`` false."""

from __future__ import annotations

from typing import Any

from sandbox.core.http import Request, Response, json_response
from sandbox.gdrive.drive_search import drive_query
from sandbox.gdrive.drives import SharedDrive
from sandbox.gdrive.errors import DriveError
from sandbox.gdrive.fields import select
from sandbox.gdrive.listing import all_drives
from sandbox.gdrive.paging import page

LIST_REFUSED = ("noListTeamDrivesAdministratorPrivilege", "The requesting user does not have the administrator "
                "privilege required to list or manage all shared drives.")
MANAGE_REFUSED = ("noManageTeamDriveAdministratorPrivilege", "The requesting user does not have the administrator "
                  "privilege required to manage this shared drive.")  # message [unc]
PERMISSION_REFUSED = ("insufficientAdministratorPrivileges", "The user does not have sufficient administrator "
                      "privileges for this request.")  # message [unc]


class DomainAdmin:
    """Uses the sandbox's ``store`` and ``domain_admins``; defers to the mixins after it otherwise."""

    def _as_admin(self, req: Request, refused: tuple[str, str]) -> bool:
        """True when the request asks for domain administrator access and the caller has it; 403 when it
        asks without having it; False when it does not ask."""
        if req.query.get("useDomainAdminAccess") != "true":
            return False
        if req.principal not in self.domain_admins:
            raise DriveError(403, refused[0], refused[1])
        return True

    def _domain_drive(self, req: Request, drive_id: str) -> SharedDrive:
        drive = self.store.drives.get(drive_id)
        if drive is None:
            raise DriveError(404, "notFound", f"Shared drive not found: {drive_id}", location="driveId")
        return drive

    # -- drives ---------------------------------------------------------------------------------
    def list_drives(self, req: Request) -> Response:
        if not self._as_admin(req, LIST_REFUSED):
            return super().list_drives(req)
        match = drive_query(req.query.get("q") or "", admin=True)
        with self.store.lock:
            found = [d for d in self.store.drives.values() if match(d, req.principal)]
            chunk, token = page(req, found, 10, 100)
            body: dict[str, Any] = {"kind": "drive#driveList", "drives": [
                {**d.resource(req.principal), "orgUnitId": d.org_unit} for d in chunk]}
        if token:
            body["nextPageToken"] = token
        return json_response(select(body, "driveList", req.query.get("fields")))

    def get_drive(self, req: Request) -> Response:
        if not self._as_admin(req, MANAGE_REFUSED):
            return super().get_drive(req)
        return self._drive_answer(self._domain_drive(req, req.params["drive_id"]), req)

    def update_drive(self, req: Request) -> Response:
        if not self._as_admin(req, MANAGE_REFUSED):
            return super().update_drive(req)
        drive = self._domain_drive(req, req.params["drive_id"])
        self._edit_drive(drive, (req.json() if req.body else None) or {})
        return self._drive_answer(drive, req)

    def delete_drive(self, req: Request) -> Response:
        """An administrator deletes any drive of the domain, and with ``allowItemDeletion=true`` its untrashed
        items too (the reference: "only supported when useDomainAdminAccess is also set to true"; without it
        the flag changes nothing here [unc: Drive may refuse it outright])."""
        if not self._as_admin(req, MANAGE_REFUSED):
            return super().delete_drive(req)
        drive = self._domain_drive(req, req.params["drive_id"])
        return self._remove_drive(drive, with_items=req.query.get("allowItemDeletion") == "true")

    # -- permissions ----------------------------------------------------------------------------
    def _member_drive(self, req: Request, organizer: bool = False):
        """A shared drive's id as ``fileId``: an administrator (``useDomainAdminAccess=true``, checked by the
        permissions methods below) manages its members as its organizers do."""
        if (req.query.get("useDomainAdminAccess") == "true" and req.principal in self.domain_admins
                and all_drives(req) and "/permissions" in req.path):  # files.get takes no admin access
            return self._domain_drive(req, req.params["file_id"])
        return super()._member_drive(req, organizer)

    def list_permissions(self, req: Request) -> Response:
        self._as_admin(req, PERMISSION_REFUSED)
        return super().list_permissions(req)

    def get_permission(self, req: Request) -> Response:
        self._as_admin(req, PERMISSION_REFUSED)
        return super().get_permission(req)

    def create_permission(self, req: Request) -> Response:
        self._as_admin(req, PERMISSION_REFUSED)
        return super().create_permission(req)

    def update_permission(self, req: Request) -> Response:
        self._as_admin(req, PERMISSION_REFUSED)
        return super().update_permission(req)

    def delete_permission(self, req: Request) -> Response:
        self._as_admin(req, PERMISSION_REFUSED)
        return super().delete_permission(req)
