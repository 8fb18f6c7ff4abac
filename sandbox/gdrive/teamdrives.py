"""``teamdrives.*`` (Drive v3's deprecated name for shared drives) and ``apps.list``, mixed into ``DriveSandbox``.

- ``teamdrives.list/get/create/update/delete`` are ``drives.*`` (``drives.py``: the same drives, members,
  ``requestId`` and errors) answered in the old shape: ``kind: "drive#teamDrive"`` / ``"drive#teamDriveList"``
  with ``teamDrives``, no ``hidden``, the capabilities ``canRenameTeamDrive``, ``canDeleteTeamDrive``,
  ``canChangeTeamDriveBackground``, ``canChangeTeamMembersOnlyRestriction``, ``canResetTeamDriveRestrictions``
  and ``canRemoveChildren``, the restriction ``teamMembersOnly`` (``driveMembersOnly``), as the discovery
  document's TeamDrive has them. A drive made through one name is seen through the other.
- ``apps.list``: the apps the user installed: none for a service account (``items: []``) [unc: the
  ``defaultAppIds`` / ``selfLink`` Drive gives it].
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from urllib.parse import urlencode

from sandbox.core.http import Request, Response, json_response
from sandbox.gdrive.fields import DEFAULTS, RESOURCES, select

TEAMDRIVES = r"/drive/v3/teamdrives"
ONE = TEAMDRIVES + r"/(?P<drive_id>[A-Za-z0-9_-]+)"
TEAMDRIVE_ROUTES = (("GET", TEAMDRIVES, "list_teamdrives"), ("POST", TEAMDRIVES, "create_teamdrive"),
                    ("GET", ONE, "get_teamdrive"), ("PATCH", ONE, "update_teamdrive"),
                    ("DELETE", ONE, "delete_teamdrive"), ("GET", r"/drive/v3/apps", "list_apps"))
CAPS = {"canRenameDrive": "canRenameTeamDrive", "canDeleteDrive": "canDeleteTeamDrive",
        "canChangeDriveBackground": "canChangeTeamDriveBackground",
        "canChangeDriveMembersOnlyRestriction": "canChangeTeamMembersOnlyRestriction",
        "canResetDriveRestrictions": "canResetTeamDriveRestrictions"}
TEAM_DRIVE = dict.fromkeys(("kind", "id", "name", "themeId", "colorRgb", "backgroundImageFile", "backgroundImageLink",
                            "capabilities", "createdTime", "restrictions", "orgUnitId"))
RESOURCES.update(teamDrive=TEAM_DRIVE, teamDriveList={"kind": None, "nextPageToken": None, "teamDrives": TEAM_DRIVE},
                 appList=dict.fromkeys(("kind", "selfLink", "defaultAppIds", "items")))
DEFAULTS.update(teamDrive="kind,id,name", teamDriveList="kind,nextPageToken,teamDrives(kind,id,name)",
                appList="kind,selfLink,defaultAppIds,items")


def as_team_drive(drive: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in drive.items() if k != "hidden"}
    out["kind"] = "drive#teamDrive"
    if "capabilities" in out:
        caps = {CAPS.get(k, k): v for k, v in out["capabilities"].items()}
        caps["canRemoveChildren"] = caps.get("canDeleteChildren", False)
        out["capabilities"] = caps
    if "restrictions" in out:
        out["restrictions"] = {("teamMembersOnly" if k == "driveMembersOnly" else k): v
                               for k, v in out["restrictions"].items()}
    return out


def _unfielded(req: Request, body: dict[str, Any] | None = None) -> Request:
    """``req`` asking for every field (selected afterwards in the old shape) and with a drives.* body."""
    pairs = [(k, v) for k, v in req.query_pairs if k != "fields"] + [("fields", "*")]
    changes: dict[str, Any] = {"raw_query": urlencode(pairs)}
    if body is not None:
        changes["body"] = json.dumps(body).encode()
    return dataclasses.replace(req, **changes)


def _drive_body(req: Request) -> dict[str, Any] | None:
    if not req.body:
        return None
    body = req.json() or {}
    restrictions = body.get("restrictions")
    if isinstance(restrictions, dict) and "teamMembersOnly" in restrictions:
        body["restrictions"] = {("driveMembersOnly" if k == "teamMembersOnly" else k): v
                                for k, v in restrictions.items()}
    return body


class TeamDrives:
    """Uses ``Drives``' handlers (``drives.py``)."""

    def _team_answer(self, answer: Response, req: Request) -> Response:
        if answer.status != 200 or not answer.body:
            return answer
        return json_response(select(as_team_drive(json.loads(answer.body)), "teamDrive", req.query.get("fields")))

    def list_teamdrives(self, req: Request) -> Response:
        select({}, "teamDriveList", req.query.get("fields"))  # a bad selection is refused first
        answer = json.loads(self.list_drives(_unfielded(req)).body)
        body: dict[str, Any] = {"kind": "drive#teamDriveList",
                                "teamDrives": [as_team_drive(d) for d in answer["drives"]]}
        if answer.get("nextPageToken"):
            body["nextPageToken"] = answer["nextPageToken"]
        return json_response(select(body, "teamDriveList", req.query.get("fields")))

    def create_teamdrive(self, req: Request) -> Response:
        select({}, "teamDrive", req.query.get("fields"))
        return self._team_answer(self.create_drive(_unfielded(req, _drive_body(req))), req)

    def get_teamdrive(self, req: Request) -> Response:
        return self._team_answer(self.get_drive(_unfielded(req)), req)

    def update_teamdrive(self, req: Request) -> Response:
        return self._team_answer(self.update_drive(_unfielded(req, _drive_body(req))), req)

    def delete_teamdrive(self, req: Request) -> Response:
        return self.delete_drive(req)

    def list_apps(self, req: Request) -> Response:
        body = {"kind": "drive#appList", "selfLink": f"{req.base_url}/drive/v3/apps", "defaultAppIds": [],
                "items": []}
        return json_response(select(body, "appList", req.query.get("fields")))
