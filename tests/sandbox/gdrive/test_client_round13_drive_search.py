"""drives.list ``q`` with Drive's shared-drive search terms through google-api-python-client: an administrator
(``useDomainAdminAccess=true``) filters on ``memberCount``, ``organizerCount``, ``orgUnitId`` and
``createdTime`` beside ``name`` and ``hidden``; without the parameter those admin-only terms are refused."""

from __future__ import annotations

from sandbox.gdrive.drives import ROOT_ORG_UNIT, add_shared_drive
from tests.sandbox.gdrive.calls import refused
from tests.sandbox.gdrive.test_client_probe import drive
from tests.sandbox.gdrive.test_client_probe_round2 import _as

__all__ = ["drive"]
FULL = ["https://www.googleapis.com/auth/drive"]
ADMIN = "grc-admin@example.com"


def _names(call) -> list[str]:
    return sorted(d["name"] for d in call.execute()["drives"])


def test_admin_search_terms(drive, gdrive):
    gdrive.sandbox.accounts.delegate(gdrive.client_email)
    gdrive.sandbox.domain_admins.add(ADMIN)
    admin = _as(gdrive, FULL, ADMIN)
    store = gdrive.sandbox.store
    add_shared_drive(store, "Orphan Confidential", "gone@example.com").members.clear()  # no organizer left
    add_shared_drive(store, "Confidential Legal", "a@example.com",
                     {"b@example.com": "writer", "c@example.com": "reader", "d@example.com": "organizer"})
    sales = add_shared_drive(store, "Sales", "e@example.com", {"f@example.com": "reader"})
    sales.org_unit = "03ph8a2z1sales"
    listing = admin.drives()

    def q(text: str) -> list[str]:
        return _names(listing.list(useDomainAdminAccess=True, q=text, fields="drives(name)"))

    assert q("organizerCount = 0") == ["Orphan Confidential"]
    assert q("name contains 'confidential' and memberCount >= 3") == ["Confidential Legal"]
    assert q("organizerCount > 1 or memberCount = 2") == ["Confidential Legal", "Sales"]
    assert q("not memberCount != 0") == ["Orphan Confidential"]
    assert q("orgUnitId = '03ph8a2z1sales'") == ["Sales"]
    assert q(f"orgUnitId != '{ROOT_ORG_UNIT}'") == ["Sales"]
    assert q("createdTime > '2017-06-01T12:00:00' and (organizerCount > 1 or memberCount > 1)") == [
        "Confidential Legal", "Sales"]
    assert q("createdTime < '2017-06-01T12:00:00'") == []
    assert q("hidden = false and name = 'Sales'") == ["Sales"]
    units = listing.list(useDomainAdminAccess=True, q="name = 'Sales'", fields="drives(name,orgUnitId)").execute()
    assert units == {"drives": [{"name": "Sales", "orgUnitId": "03ph8a2z1sales"}]}
    for bad in ("memberCount = 'x'", "memberCount contains 1", "orgUnitId > 'a'", "colour = 'red'"):
        status, detail = refused(listing.list(useDomainAdminAccess=True, q=bad))
        assert (status, detail["reason"], detail["location"]) == (400, "invalid", "q"), bad


def test_admin_only_terms_need_domain_admin_access(drive):
    drive.drives().create(requestId="srch-1", body={"name": "Team Search"}).execute()
    listing = drive.drives()
    for term in ("memberCount > 0", "organizerCount = 1", "orgUnitId = 'x'", "createdTime > '2017-06-01T12:00:00'"):
        status, detail = refused(listing.list(q=term))
        assert (status, detail["reason"], detail["location"]) == (400, "invalid", "q"), term
    assert _names(listing.list(q="name contains 'team' and hidden = false")) == ["Team Search"]
    assert "orgUnitId" not in listing.list(fields="drives").execute()["drives"][0]  # admin listings only
