"""``useDomainAdminAccess=true`` through google-api-python-client: refused (403, Drive's reasons) for a caller
who is not a domain administrator, on drives.list/get/update and permissions; an administrator
(``sb.domain_admins``, called through domain-wide delegation) lists, reads and renames any shared drive and
manages its members without being one."""

from __future__ import annotations

import requests

from tests.sandbox.gdrive.calls import refused
from tests.sandbox.gdrive.test_client_probe import drive
from tests.sandbox.gdrive.test_client_probe_round2 import _as

__all__ = ["drive"]
FULL = ["https://www.googleapis.com/auth/drive"]
ADMIN = "grc-admin@example.com"


def test_domain_admin_access_is_refused_to_a_non_admin(drive, gdrive):
    team = drive.drives().create(requestId="adm-1", body={"name": "Mine"}, fields="id").execute()["id"]
    status, detail = refused(drive.drives().list(useDomainAdminAccess=True))
    assert (status, detail["reason"]) == (403, "noListTeamDrivesAdministratorPrivilege")
    assert "administrator privilege" in detail["message"]
    for call in (drive.drives().get(driveId=team, useDomainAdminAccess=True),
                 drive.drives().update(driveId=team, body={"name": "x"}, useDomainAdminAccess=True)):
        assert refused(call)[:1] == (403,)  # even the drive's own organizer, without the privilege
    assert refused(drive.drives().get(driveId=team, useDomainAdminAccess=True))[1]["reason"] == \
        "noManageTeamDriveAdministratorPrivilege"
    status, detail = refused(drive.permissions().list(fileId=team, supportsAllDrives=True, useDomainAdminAccess=True))
    assert (status, detail["reason"]) == (403, "insufficientAdministratorPrivileges")
    mine = drive.files().create(body={"name": "m.txt", "parents": [gdrive.evidence_folder]}).execute()["id"]
    assert refused(drive.permissions().create(fileId=mine, useDomainAdminAccess=True, body={
        "type": "user", "role": "reader", "emailAddress": "a@example.com"}))[0] == 403
    assert drive.drives().get(driveId=team).execute()["name"] == "Mine"  # without the parameter: as before


def test_an_admin_reaches_every_drive_of_the_domain(drive, gdrive):
    gdrive.sandbox.accounts.delegate(gdrive.client_email)
    gdrive.sandbox.domain_admins.add(ADMIN)
    admin = _as(gdrive, FULL, ADMIN)
    team = drive.drives().create(requestId="adm-2", body={"name": "Audit FY26"}, fields="id").execute()["id"]

    assert admin.drives().list().execute()["drives"] == []  # not a member: nothing without the parameter
    listed = admin.drives().list(useDomainAdminAccess=True, fields="drives(id,name)").execute()["drives"]
    assert {"id": team, "name": "Audit FY26"} in listed
    assert refused(admin.drives().get(driveId=team))[0] == 404
    got = admin.drives().get(driveId=team, useDomainAdminAccess=True, fields="name").execute()
    assert got == {"name": "Audit FY26"}
    admin.drives().update(driveId=team, body={"name": "Audit FY27"}, useDomainAdminAccess=True).execute()
    assert drive.drives().get(driveId=team, fields="name").execute() == {"name": "Audit FY27"}

    # members of a drive the admin is not in: listed and added through the admin access
    assert refused(admin.permissions().list(fileId=team, supportsAllDrives=True))[0] == 404
    members = admin.permissions().list(fileId=team, supportsAllDrives=True, useDomainAdminAccess=True,
                                       fields="permissions(emailAddress,role)").execute()["permissions"]
    assert members == [{"emailAddress": gdrive.client_email, "role": "organizer"}]
    admin.permissions().create(fileId=team, supportsAllDrives=True, useDomainAdminAccess=True, body={
        "type": "user", "role": "reader", "emailAddress": "auditor@example.com"}).execute()
    roles = {p["emailAddress"]: p["role"] for p in drive.permissions().list(
        fileId=team, supportsAllDrives=True, fields="permissions(emailAddress,role)").execute()["permissions"]}
    assert roles == {gdrive.client_email: "organizer", "auditor@example.com": "reader"}
    assert ADMIN not in roles  # the admin did not become a member
    # files.get takes no useDomainAdminAccess: the drive's top folder stays out of a non-member's reach
    token = gdrive.sandbox.tokens.issue(ADMIN, ADMIN, "")["access_token"]
    got = requests.get(f"{gdrive.sandbox.url}/drive/v3/files/{team}", headers={"Authorization": f"Bearer {token}"},
                       params={"supportsAllDrives": "true", "useDomainAdminAccess": "true"},
                       verify=gdrive.sandbox.ca_bundle, timeout=10)
    assert got.status_code == 404
