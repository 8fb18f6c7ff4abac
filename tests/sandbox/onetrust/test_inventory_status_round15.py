"""`PUT /api/inventory/v2/inventories/{schemaName}/{id}/status` (Update Inventory Status, OneTrust's Data
Mapping Automation OAS) with raw `requests`; it was a 404/405 before round 15."""

from __future__ import annotations

import uuid

import pytest
import requests

from sandbox.onetrust.app import TOKEN_PATH

VENDORS = "/api/inventory/v2/inventories/vendors"


@pytest.fixture
def sb(make_onetrust_sandbox):
    return make_onetrust_sandbox(size=10)


def _session(sb, client_id=None, secret=None) -> requests.Session:
    session = requests.Session()
    token = requests.post(sb.url + TOKEN_PATH, timeout=10, data={
        "grant_type": "client_credentials", "client_id": client_id or sb.client_id,
        "client_secret": secret or sb.client_secret}).json()
    session.headers["Authorization"] = "Bearer " + token["access_token"]
    return session


def test_status_change_is_read_back_and_moves_last_updated(sb):
    s, vendor = _session(sb), sb.vendors()[2]
    r = s.put(sb.url + f"{VENDORS}/{vendor['id'].upper()}/status", json={"key": "inactive", "name": "Inactive"})
    assert r.status_code == 200 and r.content == b""
    after = s.get(sb.url + f"{VENDORS}/{vendor['id']}").json()["data"]
    assert after["status"] == {"key": "inactive", "value": "Inactive"}
    assert after["lastUpdatedDate"] >= vendor["lastUpdatedDate"] and after["name"] == vendor["name"]
    by_key = s.put(sb.url + f"{VENDORS}/{vendor['id']}/status", json={"key": "under_review"})
    assert by_key.status_code == 200
    assert s.get(sb.url + f"{VENDORS}/{vendor['id']}").json()["data"]["status"]["value"] == "Under review"


def test_status_errors_and_scopes(sb):
    s, vendor = _session(sb), sb.vendors()[0]
    url = sb.url + f"{VENDORS}/{vendor['id']}/status"
    for bad in ({}, {"key": ""}, {"key": 3}, {"key": "active", "name": ["x"]}):
        assert s.put(url, json=bad).status_code == 400
    assert s.put(sb.url + f"{VENDORS}/{uuid.uuid4()}/status", json={"key": "active"}).status_code == 404
    assert s.put(sb.url + "/api/inventory/v2/inventories/nope/x/status", json={"key": "a"}).status_code == 404
    sb.add_client("status-only", "secret", {"DATA_MAPPING_INVENTORY_CHANGE_STATUS"})
    sb.add_client("read-only", "secret", {"INVENTORY_READ"})
    assert _session(sb, "status-only", "secret").put(url, json={"key": "active"}).status_code == 200
    assert _session(sb, "read-only", "secret").put(url, json={"key": "active"}).status_code == 403
