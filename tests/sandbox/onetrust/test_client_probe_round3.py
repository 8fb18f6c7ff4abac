"""OneTrust probe round 3: vendor-apis.md §3 and §6 walked line by line with raw `requests`, as an
integrator following OneTrust's developer docs writes it. Fixed here (each answered 500 before):
a `RiskSearchRequest` whose `filters` is not an object or whose `predicates` is not an array of objects
(or has a non-string `field`), a risk create with a non-string `type`, a non-object `source` or
non-string `categoryIds`, and a token request whose form body is not UTF-8. The token response now
carries `Cache-Control: no-store` (RFC 6749 §5.1). The rest guards what already held, including the
edges the reference leaves open (app.py docstring, [unc])."""

from __future__ import annotations

import uuid

import pytest
import requests

from sandbox.onetrust.app import TOKEN_PATH
from tests.sandbox.onetrust.helpers import bearer_session, spring_error

ASSESSMENTS = "/api/assessment/v2/assessments"
RISKS = "/api/risk/v2/risks"
VENDORS = "/api/inventory/v2/inventories/vendors"


@pytest.fixture
def sb(make_onetrust_sandbox):
    return make_onetrust_sandbox(size=30)


@pytest.fixture
def s(sb):
    with bearer_session(sb) as session:
        yield session



# --- 3.2 token endpoint ---------------------------------------------------------------------------------
def test_token_response_is_not_cacheable_and_has_documented_fields(sb):
    r = requests.post(sb.url + TOKEN_PATH, timeout=10, headers={"Accept": "application/json"}, files={
        "grant_type": (None, "client_credentials"), "client_id": (None, sb.client_id),
        "client_secret": (None, sb.client_secret)})
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store" and r.headers["Pragma"] == "no-cache"
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 31535999 and body["scope"] == "read"
    assert "refresh_token" not in body and body["email"] == f"{body['tenantGuid']}@api.onetrust.com"
    assert isinstance(body["tenantId"], int) and body["role"] == "Api Key User"


def test_token_errors_per_bad_input(sb):
    url, ok = sb.url + TOKEN_PATH, {"client_id": sb.client_id, "client_secret": sb.client_secret}
    bad_secret = requests.post(url, data={"grant_type": "client_credentials", "client_id": sb.client_id,
                                          "client_secret": "wrong"}, timeout=10)
    assert bad_secret.status_code == 401 and bad_secret.json()["error"] == "invalid_client"
    refresh = requests.post(url, data={"grant_type": "refresh_token", "refresh_token": "x", **ok}, timeout=10)
    assert refresh.status_code == 400 and refresh.json()["error"] == "unsupported_grant_type"
    missing = requests.post(url, data=ok, timeout=10)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    latin1 = requests.post(url, data=b"grant_type=client_credentials&client_id=caf\xe9", timeout=10,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert latin1.status_code == 400 and latin1.json()["error"] == "invalid_request"  # was a 500
    assert requests.get(url, timeout=10).headers["Allow"] == "POST"


# --- 3.4 risk search bodies -----------------------------------------------------------------------------
@pytest.mark.parametrize("body", [
    {"filters": "state=IDENTIFIED"}, {"filters": [{"field": "state"}]}, {"filters": True},
    {"predicates": 5}, {"predicates": {"field": "name"}}, {"predicates": ["name"]},
    {"predicates": [{"field": ["name"], "operator": "EQUAL_TO", "value": "x"}]},
])
def test_malformed_risk_search_body_is_400_not_500(s, body):
    for path in ("/pages", "/views/pages"):
        spring_error(s.post(s.base_url + RISKS + path, json=body), 400)


def test_well_formed_risk_search_still_filters(s, sb):
    risk = sb.risks()[0]
    body = {"filters": {}, "fullTextSearch": "", "visibleColumns": ["name"],
            "includeHierarchicalChildInventoryRisks": False,
            "predicates": [{"field": "id", "operator": "EQUAL_TO", "value": risk["id"].upper()}]}
    page = s.post(s.base_url + RISKS + "/pages", params={"page": 0, "size": 10, "sort": "createdDate,desc"},
                  json=body).json()
    assert [r["id"] for r in page["content"]] == [risk["id"]] and page["totalElements"] == 1
    assert page["first"] and page["last"] and page["number"] == 0 and page["numberOfElements"] == 1


@pytest.mark.parametrize("change", [{"type": ["VENDORS"]}, {"type": {"id": 1}}, {"source": "register"},
                                   {"source": 7}, {"categoryIds": [{"id": "x"}]}, {"categoryIds": "x"}])
def test_risk_create_with_wrongly_typed_fields_is_400_not_500(s, sb, change):
    vendor, org = sb.vendors()[0], sb.store.seeder.org_groups[0]["id"]
    body = {"type": "VENDORS", "source": {"id": vendor["id"], "name": vendor["name"]},
            "associatedInventory": [{"id": vendor["id"]}], "orgGroupId": org, "name": "Probe risk", **change}
    before = s.post(s.base_url + RISKS + "/pages", json={}).json()["totalElements"]
    spring_error(s.post(s.base_url + RISKS, json=body), 400)
    assert s.post(s.base_url + RISKS + "/pages", json={}).json()["totalElements"] == before
    linked = s.post(s.base_url + f"{RISKS}/VENDORS/{vendor['id']}/risks", json={})
    assert linked.status_code == 200


# --- paging, sort and filters over the three envelopes ------------------------------------------------
def test_out_of_range_pages_are_empty_with_totals_kept(s):
    a = s.get(s.base_url + ASSESSMENTS, params={"page": 999}).json()
    assert a["content"] == [] and a["page"]["number"] == 999 and a["page"]["totalElements"] > 0
    r = s.post(s.base_url + RISKS + "/pages", params={"page": 999}, json={}).json()
    assert r["content"] == [] and r["last"] and not r["first"] and r["empty"] and r["totalElements"] > 0
    v = s.get(s.base_url + VENDORS, params={"page": 999}).json()["meta"]["page"]
    assert v["last"] and not v["first"] and v["totalElements"] > 0
    for bad in ({"page": -1}, {"size": 0}, {"size": "1.5"}):
        spring_error(s.get(s.base_url + ASSESSMENTS, params=bad), 400)


def test_documented_maximum_page_sizes_are_clamped(s, sb):
    assert s.get(s.base_url + VENDORS, params={"size": 500}).json()["meta"]["page"]["size"] == 50
    assert s.post(s.base_url + RISKS + "/pages", params={"size": 500}, json={}).json()["size"] == 100
    assert s.get(s.base_url + ASSESSMENTS, params={"size": 5000}).json()["page"]["size"] == 2000
    assert s.post(s.base_url + "/api/controls/v1/controls/pages", params={"size": 5000}, json={}).json()["size"] == 2000
    contracts = s.post(s.base_url + f"/api/vendor/v1/contracts/vendors/{sb.vendors()[0]['id'].upper()}/contracts",
                       params={"size": 5000}, json={})
    assert contracts.status_code == 200 and contracts.json()["size"] == 2000


def test_assessment_filters_and_sort_as_documented(s):
    done = s.get(s.base_url + ASSESSMENTS, params={"assessmentStatuses": "COMPLETED", "size": 2000}).json()
    assert done["content"] and {a["status"] for a in done["content"]} == {"Completed"}
    both = s.get(s.base_url + ASSESSMENTS, params=[("templateTypes", "PIA"), ("templateTypes", "VENDOR")]).json()
    comma = s.get(s.base_url + ASSESSMENTS, params={"templateTypes": "PIA,VENDOR"}).json()
    assert both["page"]["totalElements"] == comma["page"]["totalElements"] > 0
    everything = s.get(s.base_url + ASSESSMENTS, params={"assessmentArchivalState": "ALL"}).json()["page"]
    live = s.get(s.base_url + ASSESSMENTS).json()["page"]
    assert everything["totalElements"] >= live["totalElements"]
    newest = s.get(s.base_url + ASSESSMENTS, params={"size": 5}).json()["content"]
    assert [a["createDt"] for a in newest] == sorted((a["createDt"] for a in newest), reverse=True)
    spring_error(s.get(s.base_url + ASSESSMENTS, params={"templateTypes": "NOPE"}), 400)


def test_inventory_search_text_filter(s, sb):
    name = sb.vendors()[3]["name"]
    page = s.get(s.base_url + VENDORS, params={"filter": f"searchText={name}"}).json()
    assert page["data"] and all(name.lower() in v["name"].lower() for v in page["data"])
    assert page["meta"]["page"]["sort"] == [{"direction": "ASC", "property": "name"}]


# --- HTTP edges the reference leaves open ([unc], app.py docstring) -------------------------------------
def test_http_edges_kept_as_documented_unc(s, sb):
    url = s.base_url + ASSESSMENTS
    assert s.get(url, params={"unknownParam": "x"}).status_code == 200
    xml = s.get(url, headers={"Accept": "application/xml"})
    assert xml.status_code == 200 and xml.headers["Content-Type"].startswith("application/json")
    head = s.head(url)
    assert head.status_code == 200 and head.content == b""
    options = s.options(url)  # Spring MVC's default since round 16 (was 405): test_paging_options_round16.py
    assert options.status_code == 200 and "GET" in options.headers["Allow"].split(",")
    spring_error(s.get(url + "/"), 404)
    spring_error(s.put(url, json={}), 405)
    spring_error(s.get(s.base_url + f"{RISKS}/not-a-uuid"), 404)
    missing = spring_error(s.get(s.base_url + f"{RISKS}/{uuid.uuid4()}"), 404)
    assert missing["path"].startswith(RISKS)


def test_error_bodies_per_status(make_onetrust_sandbox):
    sb = make_onetrust_sandbox(size=5)
    sb.add_client("assessments-only", "secret", {"ASSESSMENT_READ"})
    token = requests.post(sb.url + TOKEN_PATH, timeout=10, data={
        "grant_type": "client_credentials", "client_id": "assessments-only", "client_secret": "secret"}).json()
    headers = {"Authorization": "Bearer " + token["access_token"]}
    spring_error(requests.post(sb.url + RISKS + "/pages", json={}, headers=headers, timeout=10), 403)
    anonymous = requests.get(sb.url + ASSESSMENTS, timeout=10)
    assert anonymous.status_code == 401 and set(anonymous.json()) == {"error", "error_description"}
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    upload = requests.post(sb.url + f"/api/inventory/v2/inventories/{sb.vendors()[0]['id']}/attachments",
                           json={}, headers={"Authorization": "Bearer " + _full_token(sb)}, timeout=10)
    spring_error(upload, 415)
    sb.faults.set(rate_5xx=1.0, status_5xx=500)
    spring_error(requests.get(sb.url + ASSESSMENTS, headers=headers, timeout=10), 500)
    sb.faults.replace()
    sb.faults.set(rate_429=1.0)
    limited = requests.get(sb.url + ASSESSMENTS, headers=headers, timeout=10)
    spring_error(limited, 429)
    assert {"retry-after", "ot-period", "ot-ratelimit-event-id", "ot-request-made", "ot-requests-allowed"} <= {
        k.lower() for k in limited.headers}


def _full_token(sb) -> str:
    return requests.post(sb.url + TOKEN_PATH, timeout=10, data={
        "grant_type": "client_credentials", "client_id": sb.client_id,
        "client_secret": sb.client_secret}).json()["access_token"]


# --- 3.5 vendors and contracts: wrongly typed ids and names -------------------------------------------
def test_vendor_name_and_contract_vendor_id_must_be_strings(s, sb):
    vendor = sb.vendors()[0]
    spring_error(s.post(s.base_url + VENDORS, json={"name": ["Acme"]}), 400)  # was stored as a list
    spring_error(s.patch(s.base_url + f"{VENDORS}/{vendor['id']}", json={"name": {"value": "Acme"}}), 400)
    assert s.get(s.base_url + f"{VENDORS}/{vendor['id']}").json()["data"]["name"] == vendor["name"]
    add = s.base_url + "/api/vendor/v1/contracts/add"
    spring_error(s.post(add, json={"name": "MSA", "vendorId": {"id": vendor["id"]}}), 400)  # was a 404
    made = s.post(add, json={"name": "MSA", "vendorId": vendor["id"].upper()})
    assert made.status_code == 201 and made.json()["vendorId"] == vendor["id"]
