"""OneTrust sandbox: the three page shapes, writes read back, attestations, deletions and page faults."""

from __future__ import annotations

import uuid

import requests

from sandbox.onetrust.fixtures import onetrust_token

ASSESSMENTS = "/api/assessment/v2/assessments"
RISK_PAGES = "/api/risk/v2/risks/pages"
VENDORS = "/api/inventory/v2/inventories/vendors"
ATTEST = "/api/controls/v1/attestations"


def test_assessment_page_shape(onetrust_session):
    s = onetrust_session
    body = s.get(s.base_url + ASSESSMENTS, params={"size": 7, "page": 1}).json()
    assert set(body) == {"content", "page"}
    assert body["page"]["number"] == 1 and body["page"]["size"] == 7 and len(body["content"]) == 7
    assert body["page"]["totalPages"] == -(-body["page"]["totalElements"] // 7)
    row = body["content"][0]
    assert {"assessmentId", "number", "name", "status", "createDt", "lastUpdated", "primaryInventoryDetails",
            "residualRiskScore", "openRiskCount", "templateName"} <= set(row)
    assert not any(k.startswith("_") for k in row)
    dates = [r["createDt"] for r in body["content"]]
    assert dates == sorted(dates, reverse=True)  # default createdDate,desc
    vendor_only = s.get(s.base_url + ASSESSMENTS, params={"templateTypes": "VENDOR", "size": 2000}).json()
    assert all(r["templateName"] in ("Vendor Security & Privacy Assessment",
                                     "Third-Party Due Diligence Questionnaire") for r in vendor_only["content"])
    completed = s.get(s.base_url + ASSESSMENTS, params={"assessmentStatuses": "COMPLETED"}).json()
    assert {r["status"] for r in completed["content"]} == {"Completed"}


def test_assessment_export_has_responses_and_risk_level(onetrust_session, onetrust_sandbox):
    s = onetrust_session
    rec = next(a for a in onetrust_sandbox.assessments() if a["status"] == "Completed")
    export = s.get(s.base_url + f"{ASSESSMENTS}/{rec['assessmentId']}/export").json()
    assert export["assessmentId"] == rec["assessmentId"] and export["status"] == "COMPLETED"
    assert export["riskLevel"] == rec["_riskLevel"] in ("Low", "Medium", "High", "Very High")
    question = export["sections"][0]["questions"][0]
    assert question["questionResponses"][0]["responses"][0]["response"] in question["question"]["options"]
    assert export["approvers"][0]["approvalState"] in ("APPROVED", "REJECTED")


def test_risk_pages_are_flat_spring_pages_clamped_to_100(onetrust_session):
    s = onetrust_session
    body = s.post(s.base_url + RISK_PAGES, params={"size": 500}, json={"filters": {}, "fullTextSearch": ""}).json()
    assert {"content", "totalElements", "totalPages", "size", "number", "numberOfElements", "first", "last",
            "empty", "sort", "pageable"} <= set(body)
    assert body["size"] == 100 and body["numberOfElements"] == 100 and body["totalElements"] == 200
    assert body["first"] and not body["last"] and body["pageable"]["pageSize"] == 100
    high = s.post(s.base_url + RISK_PAGES, json={"filters": {"level": ["High", "Very High"]}}).json()
    assert high["totalElements"] and {r["level"] for r in high["content"]} <= {"High", "Very High"}


def test_vendor_inventory_pages_at_most_50_and_walk_all(make_onetrust_sandbox):
    sb = make_onetrust_sandbox(size=120)
    h = {"Authorization": f"Bearer {onetrust_token(sb)}"}
    seen, page = [], 0
    while True:
        body = requests.get(sb.url + VENDORS, params={"page": page, "size": 500}, headers=h, timeout=10).json()
        assert set(body) == {"data", "meta"} and body["meta"]["page"]["size"] == 50
        assert len(body["data"]) <= 50 and body["meta"]["page"]["sort"] == [{"direction": "ASC", "property": "name"}]
        seen += [v["id"] for v in body["data"]]
        if body["meta"]["page"]["last"]:
            break
        page += 1
    assert page == 2 and len(seen) == len(set(seen)) == 120
    assert {v["id"] for v in sb.vendors()} == set(seen)


def test_incremental_sync_sees_touched_risks(onetrust_session, onetrust_sandbox):
    s, sb = onetrust_session, onetrust_sandbox
    cursor = max(r["lastModifiedUTCDateTime"] for r in sb.risks())
    pred = {"predicates": [{"field": "lastModifiedUTCDateTime", "operator": "GREATER_THAN", "value": cursor}]}
    assert s.post(s.base_url + RISK_PAGES, json=pred).json()["totalElements"] == 0
    touched = sb.touch("risks", 3)
    changed = s.post(s.base_url + RISK_PAGES, json=pred).json()
    assert {r["id"] for r in changed["content"]} == set(touched)


def test_risk_upsert_create_and_update_read_back(onetrust_session, onetrust_sandbox):
    s = onetrust_session
    org = onetrust_sandbox.risks()[0]["orgGroup"]["id"]
    rid = str(uuid.uuid4())
    created = s.put(s.base_url + f"/api/risk/v2/risks/{rid}",
                    json={"orgGroupId": org, "name": "Sandbox risk", "type": "VENDORS", "level": "High"})
    assert created.status_code == 201 and created.json()["id"] == rid
    updated = s.put(s.base_url + f"/api/risk/v2/risks/{rid}", json={"name": "Renamed", "state": "REDUCED"})
    assert updated.status_code == 200
    got = s.get(s.base_url + f"/api/risk/v2/risks/{rid}").json()
    assert got["name"] == "Renamed" and got["state"] == "REDUCED" and got["level"] == "High"
    assert got["lastModifiedUTCDateTime"] >= got["createdUTCDateTime"]
    listed = s.post(s.base_url + RISK_PAGES, json={"fullTextSearch": "renamed"}).json()
    assert [r["id"] for r in listed["content"]] == [rid]
    v2 = s.post(s.base_url + "/api/risk/v2/risks", json={"orgGroupId": org, "type": "GENERAL", "name": "v2",
                                                         "source": {"type": "GENERIC"},
                                                         "associatedInventory": {"id": org}})
    assert v2.status_code == 201 and v2.json()["name"] == "v2"
    v3 = s.post(s.base_url + "/api/risk/v3/risks", json={"orgGroupId": org, "name": "v3"})
    assert v3.status_code == 201 and isinstance(v3.json(), str)
    assert s.get(s.base_url + f"/api/risk/v2/risks/{v3.json()}").json()["name"] == "v3"
    assert s.post(s.base_url + "/api/risk/v2/risks", json={"type": "GENERAL"}).status_code == 400
    assert s.delete(s.base_url + f"/api/risk/v2/risks/{rid}").status_code == 204
    assert s.get(s.base_url + f"/api/risk/v2/risks/{rid}").status_code == 404


def test_vendor_create_update_and_soft_delete(onetrust_session, onetrust_sandbox):
    s = onetrust_session
    made = s.post(s.base_url + VENDORS, json={"name": "Zeta Sandbox Ltd", "criticality": {"value": "High"}})
    assert made.status_code == 201
    vid = made.json()["data"]["id"]
    s.patch(s.base_url + f"{VENDORS}/{vid}", json={"tier": {"value": "Tier 1"}})
    assert s.get(s.base_url + f"{VENDORS}/{vid}").json()["data"]["tier"] == {"value": "Tier 1"}
    found = s.get(s.base_url + VENDORS, params={"filter": "searchText=zeta sandbox"}).json()
    assert [v["id"] for v in found["data"]] == [vid]
    assert s.delete(s.base_url + f"{VENDORS}/{vid}").status_code == 204
    assert s.get(s.base_url + VENDORS, params={"filter": "searchText=zeta sandbox"}).json()["data"] == []
    marked = s.get(s.base_url + VENDORS, params={"filter": "searchText=zeta sandbox", "markForDelete": "true"})
    assert marked.json()["data"][0]["markForDelete"] is True
    assert vid not in {v["id"] for v in onetrust_sandbox.vendors()}


def test_attestation_write_read_back_and_idempotent_external_id(onetrust_session, onetrust_sandbox):
    s, sb = onetrust_session, onetrust_sandbox
    body = {"controlIdentifier": "ISO-A.8.32", "result": "EFFECTIVE", "externalId": "snow:CHG0031337",
            "attestedBy": {"name": "Amelia Hart", "email": "amelia.hart@projectx.example"},
            "comment": "Change process evidence", "evidence": [{"name": "CHG0031337", "url": "https://x/chg"}],
            "source": "ServiceNow"}
    first = s.post(s.base_url + ATTEST, json=body)
    assert first.status_code == 201 and first.json()["version"] == 1 and first.json()["controlName"]
    aid = first.json()["id"]
    assert s.get(s.base_url + f"{ATTEST}/{aid}").json()["externalId"] == "snow:CHG0031337"
    again = s.post(s.base_url + ATTEST, json={**body, "result": "INEFFECTIVE"})
    assert again.status_code == 200 and again.json()["id"] == aid and again.json()["version"] == 2
    page = s.get(s.base_url + ATTEST, params={"externalId": "snow:CHG0031337"}).json()
    assert page["totalElements"] == 1 and page["content"][0]["result"] == "INEFFECTIVE"
    assert any(a["id"] == aid and a["result"] == "INEFFECTIVE" for a in sb.attestations())
    assert s.post(s.base_url + ATTEST, json={**body, "controlIdentifier": "NOPE-1"}).status_code == 400
    assert s.post(s.base_url + ATTEST, json={**body, "result": "MAYBE"}).status_code == 400


def test_attestation_path_is_configurable(make_onetrust_sandbox):
    sb = make_onetrust_sandbox(attestation_path="/api/grc/v1/control-attestations")
    h = {"Authorization": f"Bearer {onetrust_token(sb)}"}
    resp = requests.post(sb.url + "/api/grc/v1/control-attestations", headers=h, timeout=10,
                         json={"controlIdentifier": "SOC2-CC6.1", "result": "EFFECTIVE"})
    assert resp.status_code == 201
    assert requests.post(sb.url + ATTEST, headers=h, json={}, timeout=10).status_code in (400, 404, 405)


def test_deleted_assessments_leave_the_list_and_enter_the_audit_log(onetrust_session, onetrust_sandbox):
    s, sb = onetrust_session, onetrust_sandbox
    victim = sb.assessments()[5]["assessmentId"]
    before = s.get(s.base_url + ASSESSMENTS, params={"size": 2000}).json()["page"]["totalElements"]
    assert sb.delete("assessments", [victim]) == 1
    after = s.get(s.base_url + ASSESSMENTS, params={"size": 2000}).json()
    assert after["page"]["totalElements"] == before - 1
    assert victim not in {a["assessmentId"] for a in after["content"]}
    log = s.get(s.base_url + ASSESSMENTS + "/activities/types/assessmentdelete").json()
    assert log["content"][0]["assessmentId"] == victim
    assert s.get(s.base_url + f"{ASSESSMENTS}/{victim}/export").status_code == 404


def test_page_faults_touch_delete_and_malformed(onetrust_session, onetrust_sandbox):
    s, sb = onetrust_session, onetrust_sandbox
    sb.faults.set(delete_per_page=5)
    assert s.get(s.base_url + VENDORS).json()["meta"]["page"]["totalElements"] == 195
    sb.faults.clear()
    assert s.get(s.base_url + VENDORS).json()["meta"]["page"]["totalElements"] == 195
    sb.faults.set(rate_malformed=1.0)
    rows = s.get(s.base_url + VENDORS, params={"size": 50}).json()["data"]
    assert all(r["lastUpdatedDate"] == "not-a-date" or r["name"] is None or r["id"] == "" for r in rows)
    sb.faults.clear()
    assert all(r["name"] and r["id"] for r in s.get(s.base_url + VENDORS, params={"size": 50}).json()["data"])


def test_touch_and_delete_over_admin_http(onetrust_session, onetrust_sandbox):
    s, sb = onetrust_session, onetrust_sandbox
    touched = requests.post(sb.url + "/_sandbox/touch", json={"kind": "vendors", "n": 2}, timeout=10).json()["ids"]
    newest = s.get(s.base_url + VENDORS, params={"sort": "lastUpdatedDate,desc", "size": 2}).json()["data"]
    assert {v["id"] for v in newest} == set(touched)
    gone = requests.post(sb.url + "/_sandbox/delete", json={"kind": "risk", "ids": [sb.risks()[0]["id"]]}, timeout=10)
    assert gone.json() == {"deleted": 1} and len(sb.risks()) == 199


def test_inventory_echoes_the_sort_it_applied_and_ignore_sort_serves_the_default(make_onetrust_sandbox):
    """`meta.page.sort` names the order actually served; with `ignore_sort` on, every list serves (and
    the inventory echoes) its default order whatever `sort` asks: a tenant that ignores the sort."""
    sb = make_onetrust_sandbox(size=30)
    sb.touch("vendors", 3)
    h = {"Authorization": f"Bearer {onetrust_token(sb)}"}

    def get(path, sort):
        return requests.get(sb.url + path, params={"sort": sort, "size": 50}, headers=h, timeout=10).json()
    by_change = get(VENDORS, "lastUpdatedDate,desc")
    stamps = [v["lastUpdatedDate"] for v in by_change["data"]]
    assert stamps == sorted(stamps, reverse=True)
    assert by_change["meta"]["page"]["sort"] == [{"direction": "DESC", "property": "lastUpdatedDate"}]
    sb.ignore_sort = True
    ignored = get(VENDORS, "lastUpdatedDate,desc")
    names = [v["name"] for v in ignored["data"]]
    assert names == sorted(names) and [v["lastUpdatedDate"] for v in ignored["data"]] != stamps
    assert ignored["meta"]["page"]["sort"] == [{"direction": "ASC", "property": "name"}]
    created = [a["createDt"] for a in get(ASSESSMENTS, "lastUpdated,desc")["content"]]
    assert created == sorted(created, reverse=True), "assessments: the default createdDate,desc"
    assert sb.describe()["ignore_sort"] is True
    sb.ignore_sort = False
    assert get(VENDORS, "lastUpdatedDate,desc")["data"] == by_change["data"]
