"""OneTrust probe round 2, with requests as OneTrust's developer docs show: TPRM engagements (the
Third-Party Risk Management OAS's Engagements tag), which answered 404 before, and vendors' organizations
(an unknown one was stored as sent, a missing one left the record without any)."""

from __future__ import annotations

import requests

BASE = "/api/vendor/v1"


def _vendor(session: requests.Session) -> dict:
    return session.get(f"{session.base_url}/api/inventory/v2/inventories/vendors", params={"size": 1}).json()["data"][0]


def test_engagement_create_read_update_status_delete(onetrust_session, onetrust_sandbox):
    s, url = onetrust_session, onetrust_session.base_url + BASE
    vendor = _vendor(s)
    owner = onetrust_sandbox.store.seeder.people[0]
    made = s.post(f"{url}/vendor-engagements", json={
        "name": "Cloud hosting renewal", "vendor": {"id": vendor["id"]}, "type": "ServiceEngagement",
        "internalOwnerEmail": owner["email"].upper(), "startDate": "2026-01-01", "scope": "EU hosting"})
    assert made.status_code == 201, made.text
    eng = made.json()
    assert eng["vendor"]["id"] == vendor["id"] and eng["orgGroupId"] == vendor["organization"]["id"]
    assert eng["engagementStatus"] == "ACTIVE" and eng["workflow"]["stageName"] == "New"
    assert eng["internalOwnerId"] == owner["id"] and eng["riskLevel"] is None
    got = s.get(f"{url}/engagements/{eng['engagementId'].upper()}")
    assert got.status_code == 200 and got.json() == eng
    patched = s.patch(f"{url}/engagements/{eng['engagementId']}", json={"notes": "renew by March"}).json()
    assert patched["notes"] == "renew by March" and patched["scope"] == "EU hosting"
    put = s.put(f"{url}/engagements/{eng['engagementId']}", json={"name": "Cloud hosting", "type": "VendorEngagement"})
    assert put.status_code == 200 and put.json()["scope"] is None and put.json()["name"] == "Cloud hosting"
    assert s.put(f"{url}/engagements/{eng['engagementId']}/status", json={"status": "ARCHIVED"}).status_code == 200
    assert s.get(f"{url}/engagements/{eng['engagementId']}").json()["engagementStatus"] == "ARCHIVED"
    bad = s.put(f"{url}/engagements/{eng['engagementId']}/status", json={"status": "CLOSED"})
    assert bad.status_code == 400 and set(bad.json()) == {"timestamp", "status", "error", "message", "path"}
    assert s.delete(f"{url}/engagements/{eng['engagementId']}").status_code == 204
    assert s.get(f"{url}/engagements/{eng['engagementId']}").status_code == 404


def test_engagement_create_errors_and_scopes(onetrust_session, onetrust_sandbox):
    s, url = onetrust_session, onetrust_session.base_url + BASE
    vendor = _vendor(s)
    for body in ({"vendor": {"id": vendor["id"]}}, {"name": "x"}, {"name": "x" * 501, "vendor": {"id": vendor["id"]}},
                 {"name": "x", "vendor": {"id": vendor["id"]}, "type": "Other"},
                 {"name": "x", "vendor": {"id": vendor["id"]}, "orgGroupId": "00000000-0000-4000-8000-000000000000"}):
        assert s.post(f"{url}/vendor-engagements", json=body).status_code == 400, body
    assert requests.post(f"{url}/vendor-engagements", json={}, timeout=10).status_code == 401
    onetrust_sandbox.add_client("read-only", "secret-ro", {"VRM_READ"})
    token = requests.post(onetrust_sandbox.url + "/api/access/v1/oauth/token", timeout=10, data={
        "grant_type": "client_credentials", "client_id": "read-only", "client_secret": "secret-ro"}).json()
    reader = {"Authorization": "Bearer " + token["access_token"]}
    denied = requests.post(f"{url}/vendor-engagements", json={"name": "x", "vendor": {"id": vendor["id"]}},
                           headers=reader, timeout=10)
    assert denied.status_code == 403
    assert requests.post(f"{url}/engagements-search", json={}, headers=reader, timeout=10).status_code == 200


def test_engagements_search_pages_sorts_and_filters(onetrust_session):
    s, url = onetrust_session, onetrust_session.base_url + BASE
    vendor = _vendor(s)
    for name in ("Charlie audit", "alpha onboarding", "Bravo renewal"):
        assert s.post(f"{url}/vendor-engagements", json={"name": name, "vendor": {"id": vendor["id"]}}).ok
    first = s.post(f"{url}/engagements-search", params={"size": 2}, json={}).json()
    assert [e["name"] for e in first["content"]] == ["alpha onboarding", "Bravo renewal"]
    assert first["totalElements"] == 3 and first["totalPages"] == 2 and not first["last"]
    assert first["sort"][0] == {"direction": "ASC", "property": "name", "ignoreCase": False,
                                "nullHandling": "NATIVE", "ascending": True, "descending": False}
    second = s.post(f"{url}/engagements-search", params={"size": 2, "page": 1}, json={}).json()
    assert [e["name"] for e in second["content"]] == ["Charlie audit"] and second["last"]
    desc = s.post(f"{url}/engagements-search", params={"sort": "name,desc"}, json={}).json()["content"]
    assert desc[0]["name"] == "Charlie audit"
    found = s.post(f"{url}/engagements-search", json={"fullText": "RENEW"}).json()["content"]
    assert [e["name"] for e in found] == ["Bravo renewal"]
    by_vendor = s.post(f"{url}/engagements-search", json={"filters": [
        {"field": "vendorId", "operator": "EQUAL_TO", "value": [vendor["id"].upper()]},
        {"field": "workflowName", "operator": "EQUAL_TO", "value": ["Default Engagement Workflow"]}]}).json()
    assert by_vendor["totalElements"] == 3
    assert s.post(f"{url}/engagements-search", json={"filters": [{"field": "colour"}]}).status_code == 400
    assert s.post(f"{url}/engagements-search", params={"sort": "risk,asc"}, json={}).status_code == 400
    schema = s.get(f"{url}/engagement-schemas").json()
    assert {"name", "startDate", "aggregateRiskLevel"} <= {a["fieldName"] for a in schema}
    assert all(a["schemaName"] == "EngagementSchema" for a in schema)


def test_vendor_organization_is_checked_and_defaulted(onetrust_session, onetrust_sandbox):
    s, url = onetrust_session, onetrust_session.base_url + "/api/inventory/v2/inventories/vendors"
    orgs = onetrust_sandbox.store.seeder.org_groups
    bad = s.post(url, json={"name": "Probe Vendor", "organization": {"id": "00000000-0000-4000-8000-000000000000"}})
    assert bad.status_code == 400 and bad.json()["error"] == "Bad Request"
    plain = s.post(url, json={"name": "Probe Vendor"})
    assert plain.status_code == 201 and plain.json()["data"]["organization"] == {"id": orgs[0]["id"],
                                                                                 "value": orgs[0]["name"]}
    chosen = s.post(url, json={"name": "Probe Two", "organization": {"id": orgs[2]["id"].upper(), "value": "?"}})
    assert chosen.json()["data"]["organization"] == {"id": orgs[2]["id"], "value": orgs[2]["name"]}
    vid = plain.json()["data"]["id"]
    assert s.patch(f"{url}/{vid}", json={"organization": {"id": "nope"}}).status_code == 400
    assert s.patch(f"{url}/{vid}", json={"name": "Renamed"}).json()["data"]["organization"]["id"] == orgs[0]["id"]
    eng = s.post(onetrust_session.base_url + BASE + "/vendor-engagements", json={"name": "x", "vendor": {"id": vid}})
    assert eng.status_code == 201 and eng.json()["orgGroupName"] == orgs[0]["name"]
