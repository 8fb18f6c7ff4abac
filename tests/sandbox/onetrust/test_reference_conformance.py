"""OneTrust sandbox against vendor-apis.md §3/§6, one test per documented behaviour, all over HTTP with
plain `requests` as a customer script would. Most were missing or wrong before; a few guard behaviour
that already held (marked "guard")."""

from __future__ import annotations

import uuid

import pytest
import requests

from sandbox.onetrust import OneTrustSandbox
from sandbox.onetrust.app import TOKEN_PATH

ASSESSMENTS = "/api/assessment/v2/assessments"
RISKS = "/api/risk/v2/risks"
VENDORS = "/api/inventory/v2/inventories/vendors"


@pytest.fixture
def sb(make_onetrust_sandbox):
    return make_onetrust_sandbox(size=30)


def _token(sb, **extra) -> requests.Response:
    return requests.post(sb.url + TOKEN_PATH, timeout=10, files={
        "grant_type": (None, "client_credentials"), "client_id": (None, sb.client_id),
        "client_secret": (None, sb.client_secret), **extra})


@pytest.fixture
def s(sb):
    with requests.Session() as session:
        session.headers["Authorization"] = "Bearer " + _token(sb).json()["access_token"]
        session.headers["Accept"] = "application/json"
        session.base_url = sb.url  # type: ignore[attr-defined]
        yield session


# --- 3.2 authentication ------------------------------------------------------------------------------------
def test_token_lifetime_defaults_to_the_documented_year_and_cannot_exceed_it(sb):
    body = _token(sb).json()
    assert body["expires_in"] == 31535999 and "refresh_token" not in body
    with pytest.raises(ValueError):
        OneTrustSandbox(token_ttl_seconds=31_536_001)


def test_token_names_scopes_both_ways_the_oas_does(sb):
    body = _token(sb).json()
    assert body["ot-scopes"] == body["ot_scopes"] and "ASSESSMENT" in body["ot_scopes"].split(",")
    assert isinstance(body["tenantId"], int) and body["user_name"] == f"{body['tenantGuid']}@api.onetrust.com"


def test_token_errors_400_for_grant_type_401_for_credentials(sb):  # guard
    url = sb.url + TOKEN_PATH
    assert requests.post(url, data={"grant_type": "refresh_token", "refresh_token": "x"}, timeout=10).status_code == 400
    bad = requests.post(url, data={"grant_type": "client_credentials", "client_id": sb.client_id,
                                   "client_secret": "nope"}, timeout=10)
    assert bad.status_code == 401


def test_at_most_500_client_credentials_per_account(sb):
    for n in range(499):
        sb.add_client(f"c{n}", "s", {"RISK"})
    with pytest.raises(ValueError):
        sb.add_client("one-too-many", "s", {"RISK"})


# --- ids: UUIDs ---------------------------------------------------------------------------------------------
def test_uuid_path_ids_and_filters_ignore_case(sb, s):
    risk, vendor, assessment = sb.risks()[0], sb.vendors()[0], sb.assessments()[0]
    assert s.get(sb.url + f"{RISKS}/{risk['id'].upper()}").json()["id"] == risk["id"]
    assert s.get(sb.url + f"{VENDORS}/{vendor['id'].upper()}").json()["data"]["id"] == vendor["id"]
    export = s.get(sb.url + f"{ASSESSMENTS}/{assessment['assessmentId'].upper()}/export")
    assert export.status_code == 200 and export.json()["assessmentId"] == assessment["assessmentId"]
    pred = {"predicates": [{"field": "id", "operator": "EQUAL_TO", "value": risk["id"].upper()}]}
    assert [r["id"] for r in s.post(sb.url + RISKS + "/pages", json=pred).json()["content"]] == [risk["id"]]
    org = s.post(sb.url + RISKS + "/pages", json={"filters": {"orgGroup.id": risk["orgGroup"]["id"].upper()}}).json()
    assert org["totalElements"] > 0 and {r["orgGroup"]["id"] for r in org["content"]} == {risk["orgGroup"]["id"]}


# --- 3.7 rate limits ----------------------------------------------------------------------------------------
def test_production_limits_by_default_and_hourly_429_says_hour(make_onetrust_sandbox):
    sb = make_onetrust_sandbox(size=5)
    assert (sb.rate_limit_per_minute, sb.rate_limit_per_hour) == (20_000, 200_000)
    hourly = make_onetrust_sandbox(size=5, rate_limit_per_minute=None, rate_limit_per_hour=2)
    _token(hourly)
    _token(hourly)
    r = _token(hourly)  # the token endpoint is rate limited too
    assert r.status_code == 429 and r.headers["ot-period"] == "HOUR"
    assert 60 < int(r.headers["Retry-After"]) <= 3600 and r.headers["ot-requests-allowed"] == "2"
    assert r.headers["ot-request-made"] == "3" and uuid.UUID(r.headers["ot-ratelimit-event-id"])


def test_minute_429_carries_all_five_headers(make_onetrust_sandbox):  # guard
    sb = make_onetrust_sandbox(size=5, rate_limit_per_minute=1)
    _token(sb)
    r = _token(sb)
    assert r.status_code == 429 and r.headers["ot-period"] == "MINUTE" and int(r.headers["Retry-After"]) <= 60
    assert {"ot-ratelimit-event-id", "ot-request-made", "ot-requests-allowed"} <= {k.lower() for k in r.headers}


# --- 3.3 assessments --------------------------------------------------------------------------------------
def test_every_documented_assessment_sort_is_accepted(s):
    for prop in ("number", "status", "name", "result", "orgGroupName", "deadline", "openRiskCount",
                 "openInfoRequestCount", "createdDate"):
        for direction in ("asc", "desc"):
            r = s.get(s.base_url + ASSESSMENTS, params={"sort": f"{prop},{direction}", "size": 5})
            assert r.status_code == 200, (prop, direction, r.text)
    assert s.get(s.base_url + ASSESSMENTS, params={"sort": "bogus,asc"}).status_code == 400  # guard


def test_assessment_page_defaults_and_clamp(s):  # guard
    body = s.get(s.base_url + ASSESSMENTS, params={"size": 5000}).json()
    assert set(body) == {"content", "page"} and set(body["page"]) == {"number", "size", "totalElements", "totalPages"}
    assert body["page"]["size"] == 2000 and body["page"]["number"] == 0
    assert s.get(s.base_url + ASSESSMENTS).json()["page"]["size"] == 20


def test_assessment_tags_list(s):
    tags = s.get(s.base_url + "/api/assessment/v2/assessment-tags")
    assert tags.status_code == 200 and isinstance(tags.json(), list) and {"id", "name"} <= set(tags.json()[0])


def test_launch_assessment_then_answer_a_section(sb, s):
    seeded = sb.assessments()[0]
    launched = s.post(s.base_url + ASSESSMENTS, json={
        "name": "Launched over the API", "templateRootVersionId": seeded["templateRootVersionId"],
        "orgGroupId": sb.risks()[0]["orgGroup"]["id"], "deadline": "2027-01-31T00:00:00.000Z",
        "respondents": [{"respondentId": str(uuid.uuid4()), "respondentName": "Ext Person"}],
        "creationSource": "API", "checkForInFlightAssessments": False})
    assert launched.status_code == 201
    aid = launched.json()["assessmentId"]
    listed = s.get(s.base_url + ASSESSMENTS, params={"size": 2000, "sort": "createdDate,desc"}).json()["content"]
    assert listed[0]["assessmentId"] == aid and listed[0]["status"] == "Not Started"
    export = s.get(s.base_url + f"{ASSESSMENTS}/{aid}/export").json()
    assert export["status"] == "NOT_STARTED" and export["template"]["id"] == seeded["templateId"]
    section = export["sections"][0]
    question = section["questions"][0]["question"]
    url = s.base_url + f"{ASSESSMENTS}/{aid}/sections/{section['header']['sectionId']}/questions/responses"
    answered = s.post(url, json=[{"questionId": question["id"], "responses": [{"response": question["options"][0]}],
                                  "justification": "per DPA"}])
    assert answered.status_code == 200
    export = s.get(s.base_url + f"{ASSESSMENTS}/{aid}/export", params={"ExcludeSkippedQuestions": "true"}).json()
    assert export["status"] == "IN_PROGRESS"
    kept = [q for sec in export["sections"] for q in sec["questions"]]
    assert [q["question"]["id"] for q in kept] == [question["id"]]
    assert kept[0]["questionResponses"][0]["responses"][0]["response"] == question["options"][0]
    assert s.post(s.base_url + ASSESSMENTS, json={"name": "no template"}).status_code == 400
    assert s.post(url, json=[{"questionId": str(uuid.uuid4()), "responses": [{"response": "x"}]}]).status_code == 404


def test_export_carries_the_richer_view_fields(sb, s):
    export = s.get(s.base_url + f"{ASSESSMENTS}/{sb.assessments()[0]['assessmentId']}/export").json()
    assert {"attestationRequired", "attestationCompleted", "assessmentDeleteStatus", "deletedDT", "updatedDT",
            "workflowName", "approvalStageName"} <= set(export)
    assert export["assessmentDeleteStatus"] in ("ACTIVE", "SOFT_DELETED", "HARD_DELETED")


# --- 3.4 risks -------------------------------------------------------------------------------------------
def test_risk_information_fields(sb, s):
    risk = s.get(s.base_url + f"{RISKS}/{sb.risks()[0]['id']}").json()
    assert {"id", "number", "name", "description", "level", "probabilityLevel", "impactLevel", "levelId",
            "probabilityLevelId", "impactLevelId", "riskScore", "state", "previousState", "type", "riskType",
            "riskSourceType", "sourceType", "source", "recommendation", "remediationProposal", "requestedException",
            "mitigation", "justification", "deadline", "mitigatedDate", "orgGroup", "riskOwnersId", "riskOwnersName",
            "riskApproversId", "references", "createdUTCDateTime", "lastModifiedUTCDateTime", "createdBy",
            "updatedBy", "inherentRiskLevel", "residualRiskLevel", "targetRiskLevel", "categories"} <= set(risk)
    assert {"levelId", "level", "impactLevel", "probabilityLevel", "riskScore", "levelGuid",
            "colorCode"} <= set(risk["inherentRiskLevel"])


def test_v2_create_requires_type_source_inventory_and_org_group(sb, s):
    org = sb.risks()[0]["orgGroup"]["id"]
    full = {"orgGroupId": org, "type": "VENDORS", "name": "v2 risk", "source": {"type": "INVENTORY"},
            "associatedInventory": {"id": sb.vendors()[0]["id"]}}
    for key in ("type", "source", "associatedInventory", "orgGroupId"):
        assert s.post(s.base_url + RISKS, json={k: v for k, v in full.items() if k != key}).status_code == 400, key
    made = s.post(s.base_url + RISKS, json=full)
    assert made.status_code == 201 and made.json()["name"] == "v2 risk"
    v3 = s.post(s.base_url + "/api/risk/v3/risks", json={"orgGroupId": org})  # guard: v3 needs only orgGroupId
    assert v3.status_code == 201 and uuid.UUID(v3.json())


def test_risk_grid_is_a_spring_page_on_both_grid_endpoints(s):
    for path in (RISKS + "/pages", RISKS + "/views/pages"):
        body = s.post(s.base_url + path, params={"size": 500}, json={}).json()
        assert body["size"] == 100 and body["pageable"]["pageSize"] == 100 and body["first"] is True, path
        assert set(body["sort"]) == {"empty", "sorted", "unsorted"}


def test_risk_settings_linked_risks_and_unlink(sb, s):
    for kind in ("matrix", "standard"):
        assert s.get(s.base_url + f"/api/risk/v2/risk-settings/{kind}").status_code == 200
    risk = next(r for r in sb.risks() if r["type"] == "VENDORS")
    vendor = risk["source"]["id"]
    url = s.base_url + f"{RISKS}/VENDORS/{vendor}/risks"
    assert risk["id"] in {r["id"] for r in s.post(url, json={}).json()["content"]}
    gone = s.post(s.base_url + "/api/risk/v2/entities/risks/unlink", json={"entityId": vendor, "riskIds": [risk["id"]]})
    assert gone.status_code in (200, 204)
    assert risk["id"] not in {r["id"] for r in s.post(url, json={}).json()["content"]}
    assert s.post(s.base_url + f"{RISKS}/NOPE/{vendor}/risks", json={}).status_code == 400


# --- 3.5 inventory and TPRM, 3.6 controls, 3.9 webhooks -----------------------------------------------------
def test_inventory_page_envelope_and_cap(s):  # guard
    body = s.get(s.base_url + VENDORS, params={"size": 80}).json()
    assert set(body) == {"data", "meta"} and body["meta"]["page"]["size"] == 50
    assert {"first", "last", "number", "size", "totalElements", "totalPages", "sort"} == set(body["meta"]["page"])
    assert {"id", "name", "organization", "type", "status", "number", "isParent"} <= set(body["data"][0])


def test_inventory_attachment_upload(sb, s):
    vendor = sb.vendors()[0]["id"]
    up = s.post(s.base_url + f"/api/inventory/v2/inventories/{vendor}/attachments",
                files={"file": ("dpa.pdf", b"%PDF", "application/pdf")})
    assert up.status_code == 201 and up.json()["fileName"] == "dpa.pdf"
    missing = s.post(s.base_url + f"/api/inventory/v2/inventories/{uuid.uuid4()}/attachments",
                     files={"file": ("a", b"a")})
    assert missing.status_code == 404


def test_tprm_contracts_add_and_list_as_flat_spring_page(sb, s):
    vendor = sb.vendors()[1]["id"]
    for n in range(3):
        made = s.post(s.base_url + "/api/vendor/v1/contracts/add", json={"name": f"MSA {n}", "vendorId": vendor})
        assert made.status_code in (200, 201)
    page = s.post(s.base_url + f"/api/vendor/v1/contracts/vendors/{vendor}/contracts", params={"size": 5000}).json()
    assert {"content", "first", "last", "number", "numberOfElements", "size", "sort", "totalElements", "totalPages",
            "empty"} <= set(page)
    assert page["size"] == 2000 and page["totalElements"] == 3 and page["last"] is True


def test_controls_library_create_update_delete_and_entity_types(s):
    made = s.post(s.base_url + "/api/controls/v1/controls", json={
        "identifier": "PX-1", "name": "Quarterly access review", "status": "Pending",
        "implementationGuidance": "Review all admin grants", "attributes": {"owner": "IT"}})
    assert made.status_code in (200, 201)
    cid = made.json()["id"]
    assert s.post(s.base_url + "/api/controls/v1/controls", json={"name": "x", "status": "Done"}).status_code == 400
    updated = s.put(s.base_url + f"/api/controls/v1/controls/{cid}", json={"status": "Active"})
    assert updated.json()["status"] == "Active"
    listed = s.post(s.base_url + "/api/controls/v1/controls/pages",
                    params={"size": 2000, "sort": "lastModifiedDate,desc"}).json()
    assert listed["content"][0]["id"] == cid and {"implementationGuidance", "attributes"} <= set(listed["content"][0])
    assert s.delete(s.base_url + f"/api/controls/v1/controls/{cid}").status_code in (200, 204)
    assert s.get(s.base_url + "/api/controls/v2/control-entity-types").status_code == 200


def test_integration_manager_webhook_takes_the_bearer_as_header_or_query(sb, s):
    hook = sb.url + f"/integrationmanager/api/v1/webhook/{uuid.uuid4()}"
    token = s.headers["Authorization"].split(" ", 1)[1]
    assert requests.post(hook, json={"event": "a"}, timeout=10).status_code == 401
    assert requests.post(hook, json={"event": "b"}, headers={"Authorization": f"Bearer {token}"},
                         timeout=10).status_code == 200
    assert requests.post(hook + f"?Authorization=Bearer%20{token}", json={"event": "c"}, timeout=10).status_code == 200
    assert [c["payload"]["event"] for c in sb.webhook_calls] == ["b", "c"]


def test_missing_module_scope_is_403_everywhere_in_that_module(sb):  # guard
    sb.add_client("no-risk", "pw", {"ASSESSMENT_READ"})
    token = requests.post(sb.url + TOKEN_PATH, data={"grant_type": "client_credentials", "client_id": "no-risk",
                                                     "client_secret": "pw"}, timeout=10).json()["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    assert requests.post(sb.url + RISKS + "/pages", json={}, headers=h, timeout=10).status_code == 403
    assert requests.get(sb.url + f"{RISKS}/{sb.risks()[0]['id']}", headers=h, timeout=10).status_code == 403
    assert requests.get(sb.url + ASSESSMENTS, headers=h, timeout=10).status_code == 200
