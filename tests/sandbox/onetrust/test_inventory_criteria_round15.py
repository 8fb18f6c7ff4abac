"""`POST /api/inventory/v2/inventories/{schemaName}/criteria` (Get List of Inventories by Criteria, in
OneTrust's Data Mapping Automation OAS) with raw `requests`; it was a 405 before round 15."""

from __future__ import annotations

import pytest
import requests

from sandbox.onetrust.app import TOKEN_PATH
from tests.sandbox.onetrust.helpers import bearer_session

VENDORS = "/api/inventory/v2/inventories/vendors"


@pytest.fixture
def sb(make_onetrust_sandbox):
    return make_onetrust_sandbox(size=40)


@pytest.fixture
def s(sb):
    with bearer_session(sb) as session:
        yield session


def _criteria(s, *filters, **params):
    return s.post(s.base_url + VENDORS + "/criteria", params=params, json={"filters": list(filters)})


def test_criteria_filter_and_the_get_list_envelope(s, sb):
    word = sb.vendors()[0]["name"].split()[0].lower()
    r = _criteria(s, {"attributeKey": "name", "operator": "CONTAINS", "values": [word]},
                  {"attributeKey": "status.key", "operator": "EQ", "values": ["active"]})
    assert r.status_code == 200, r.text
    body = r.json()
    want = sorted(v["name"] for v in sb.vendors() if word in v["name"].lower()
                  and (v.get("status") or {}).get("key") == "active")
    assert [v["name"] for v in body["data"]] == want[:20]
    page = body["meta"]["page"]
    assert page["totalElements"] == len(want) and page["sort"] == [{"direction": "ASC", "property": "name"}]
    assert page["first"] and page["number"] == 0


def test_criteria_operators_and_uuid_case(s, sb):
    v = sb.vendors()[5]
    org = v["organization"]["id"]
    same_org = _criteria(s, {"attributeKey": "organization.id", "operator": "EQUAL_TO", "values": [org.upper()]})
    assert {x["organization"]["id"] for x in same_org.json()["data"]} == {org}
    between = _criteria(s, {"attributeKey": "number", "operator": "IN_BETWEEN", "values": ["3", "7"]}, size=50)
    assert sorted(x["number"] for x in between.json()["data"]) == [n for n in range(3, 8)
                                                                    if any(r["number"] == n for r in sb.vendors())]
    ge = _criteria(s, {"attributeKey": "number", "operator": "FilterOperator.GE(description=GreaterThanOrEquals)",
                       "values": ["38"]}, size=50)
    assert all(x["number"] >= 38 for x in ge.json()["data"]) and ge.json()["data"]
    none = _criteria(s, {"attributeKey": "name", "operator": "DOES_NOT_CONTAIN", "values": [""]})
    assert none.json()["meta"]["page"]["totalElements"] == 0
    everyone = s.post(s.base_url + VENDORS + "/criteria", json={}, params={"size": 500}).json()["meta"]["page"]
    assert everyone["size"] == 50 and everyone["totalElements"] == len(sb.vendors())


@pytest.mark.parametrize("body", [
    {"filters": {"attributeKey": "name"}}, {"filters": ["name"]},
    {"filters": [{"attributeKey": "name", "operator": "LIKE", "values": ["a"]}]},
    {"filters": [{"attributeKey": "name", "operator": "EQ"}]},
    {"filters": [{"operator": "EQ", "values": ["a"]}]},
])
def test_bad_criteria_are_400(s, body):
    r = s.post(s.base_url + VENDORS + "/criteria", json=body)
    assert r.status_code == 400 and r.json()["status"] == 400


def test_criteria_scopes_and_other_schemas(s, sb):
    assert s.post(s.base_url + "/api/inventory/v2/inventories/assets/criteria", json={}).json()["data"] == []
    assert s.post(s.base_url + "/api/inventory/v2/inventories/nope/criteria", json={}).status_code == 404
    sb.add_client("risk-only", "secret", {"RISK"})
    token = requests.post(sb.url + TOKEN_PATH, timeout=10, data={
        "grant_type": "client_credentials", "client_id": "risk-only", "client_secret": "secret"}).json()
    denied = requests.post(sb.url + VENDORS + "/criteria", json={}, timeout=10,
                           headers={"Authorization": "Bearer " + token["access_token"]})
    assert denied.status_code == 403
