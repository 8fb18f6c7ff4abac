"""OneTrust round 18, with raw `requests` as an integrator writes them: dates a client writes into a risk or
an assessment launch are read as Jackson reads them (400 for an unreadable one, which was stored as sent) and
served back in the one format of every OneTrust timestamp (so `sort=deadline` orders launched assessments);
boolean query flags are bound as Spring binds a `boolean` (`markForDelete=maybe` was silently false); the token
endpoint's optional `scope` is validated as Spring Security OAuth2 does (an unknown scope was ignored)."""

from __future__ import annotations

import pytest
import requests

from sandbox.onetrust.app import TOKEN_PATH
from tests.sandbox.onetrust.helpers import bearer_session, spring_error

ASSESSMENTS = "/api/assessment/v2/assessments"
RISKS_V3 = "/api/risk/v3/risks"
RISK = "/api/risk/v2/risks/"
VENDORS = "/api/inventory/v2/inventories/vendors"


@pytest.fixture
def sb(make_onetrust_sandbox):
    return make_onetrust_sandbox(size=12)


@pytest.fixture
def s(sb):
    with bearer_session(sb) as session:
        yield session


def _org(sb):
    return sb.store.seeder.org_groups[0]["id"]


@pytest.mark.parametrize(("sent", "served"), [
    ("2027-01-01T00:00:00Z", "2027-01-01T00:00:00.000Z"),
    ("2027-01-01T00:00:00.123+02:00", "2026-12-31T22:00:00.123Z"),
    ("2027-01-01T10:30:00", "2027-01-01T10:30:00.000Z"),
    ("2027-01-01", "2027-01-01T00:00:00.000Z"),
    (1798761600000, "2027-01-01T00:00:00.000Z"),
])
def test_risk_dates_are_served_in_onetrusts_format(s, sb, sent, served):
    made = s.post(s.base_url + RISKS_V3, json={"orgGroupId": _org(sb), "name": "d", "deadline": sent})
    assert made.status_code == 201, made.text
    got = s.get(s.base_url + RISK + made.json()).json()
    assert got["deadline"] == served
    put = s.put(s.base_url + RISK + made.json(), json={"mitigatedDate": sent})
    assert put.status_code == 200 and put.json()["mitigatedDate"] == served and put.json()["deadline"] == served


@pytest.mark.parametrize("bad", ["01/02/2027", "soon", "", True, {"date": "2027-01-01"}])
def test_unreadable_risk_dates_are_400_and_nothing_is_stored(s, sb, bad):
    before = len(sb.risks())
    body = spring_error(s.post(s.base_url + RISKS_V3, json={"orgGroupId": _org(sb), "name": "d", "deadline": bad}),
                        400)
    assert "deadline" in body["message"] and body["path"] == RISKS_V3
    assert len(sb.risks()) == before
    rid = sb.risks()[0]["id"]
    spring_error(s.put(s.base_url + RISK + rid, json={"mitigatedDate": bad}), 400)
    assert s.get(s.base_url + RISK + rid).json()["mitigatedDate"] == sb.risks()[0]["mitigatedDate"]


def test_null_deadline_clears_it(s, sb):
    rid = s.post(s.base_url + RISKS_V3, json={"orgGroupId": _org(sb), "deadline": "2027-01-01"}).json()
    assert s.put(s.base_url + RISK + rid, json={"deadline": None}).json()["deadline"] is None


def test_launched_assessment_deadline_is_normalised_and_sorts(s, sb):
    root = s.get(s.base_url + ASSESSMENTS).json()["content"][0]["templateRootVersionId"]
    made = s.post(s.base_url + ASSESSMENTS, json={"name": "late", "templateRootVersionId": root,
                                                  "deadline": "2099-01-01T05:00:00+05:00"})
    assert made.status_code == 201, made.text
    first = s.get(s.base_url + ASSESSMENTS, params={"sort": "deadline,desc", "size": 1}).json()["content"][0]
    assert (first["assessmentId"], first["deadline"]) == (made.json()["assessmentId"], "2099-01-01T00:00:00.000Z")
    assert s.get(s.base_url + ASSESSMENTS + "/" + first["assessmentId"] + "/export").json()["deadline"] == \
        "2099-01-01T00:00:00.000Z"
    spring_error(s.post(s.base_url + ASSESSMENTS, json={"name": "x", "templateRootVersionId": root,
                                                        "deadline": "31/12/2099"}), 400)


def test_boolean_flags_bind_as_spring_binds_a_boolean(s, sb):
    gone = sb.vendors()[0]["id"]
    sb.delete("vendors", gone)
    live = s.get(s.base_url + VENDORS, params={"size": 50}).json()["meta"]["page"]["totalElements"]
    for word in ("true", "TRUE", "on", "yes", "1"):
        page = s.get(s.base_url + VENDORS, params={"size": 50, "markForDelete": word}).json()["meta"]["page"]
        assert page["totalElements"] == live + 1, word
    for word in ("false", "off", "no", "0", ""):
        page = s.get(s.base_url + VENDORS, params={"size": 50, "markForDelete": word}).json()["meta"]["page"]
        assert page["totalElements"] == live, word
    body = spring_error(s.get(s.base_url + VENDORS, params={"markForDelete": "maybe"}), 400)
    assert "Invalid boolean value 'maybe'" in body["message"]
    spring_error(s.post(s.base_url + VENDORS + "/criteria", params={"markForDelete": "2"}, json={}), 400)
    aid = sb.assessments()[0]["assessmentId"]
    spring_error(s.get(s.base_url + ASSESSMENTS + f"/{aid}/export", params={"ExcludeSkippedQuestions": "y"}), 400)
    assert s.get(s.base_url + ASSESSMENTS + f"/{aid}/export", params={"ExcludeSkippedQuestions": "yes"}).ok


def test_engagement_dates_are_read_and_normalised(s, sb):
    url = s.base_url + "/api/vendor/v1/vendor-engagements"
    vendor = {"id": sb.vendors()[0]["id"]}
    made = s.post(url, json={"name": "e", "vendor": vendor, "startDate": "2027-01-01T00:00:00.5+02:00"})
    assert made.status_code == 201 and made.json()["startDate"] == "2026-12-31T22:00:00.500Z"
    one = s.base_url + "/api/vendor/v1/engagements/" + made.json()["engagementId"]
    assert s.patch(one, json={"endDate": "2027-06-30"}).json()["endDate"] == "2027-06-30T00:00:00.000Z"
    spring_error(s.patch(one, json={"endDate": "30/06/2027"}), 400)
    assert s.get(one).json()["endDate"] == "2027-06-30T00:00:00.000Z"  # the refused write changed nothing
    spring_error(s.post(url, json={"name": "e", "vendor": vendor, "startDate": "tomorrow"}), 400)


def test_contract_dates_are_read_normalised_and_sort(s, sb):
    vendor = sb.vendors()[0]["id"]
    add = s.base_url + "/api/vendor/v1/contracts/add"
    # "offset" reads later as text but is the earlier instant: sorting the strings as sent got it wrong
    for name, expires in (("offset", "2028-01-01T01:00:00+02:00"), ("utc", "2027-12-31T23:30:00Z")):
        made = s.post(add, json={"name": name, "vendorId": vendor, "expirationDate": expires})
        assert made.status_code == 201, made.text
    listed = s.post(s.base_url + f"/api/vendor/v1/contracts/vendors/{vendor}/contracts",
                    params={"sort": "expirationDate,asc"}, json={}).json()["content"]
    assert [(c["name"], c["expirationDate"]) for c in listed] == [
        ("offset", "2027-12-31T23:00:00.000Z"), ("utc", "2027-12-31T23:30:00.000Z")]
    spring_error(s.post(add, json={"name": "x", "vendorId": vendor, "effectiveDate": "01.01.2027"}), 400)


def test_token_scope_parameter_is_validated_like_spring_oauth2(sb):
    form = {"grant_type": "client_credentials", "client_id": sb.client_id, "client_secret": sb.client_secret}
    for ok in ("read", "RISK_READ ASSESSMENT", "read,INVENTORY_READ", ""):
        got = requests.post(sb.url + TOKEN_PATH, data={**form, "scope": ok}, timeout=10)
        assert got.status_code == 200 and got.json()["scope"] == "read", ok
    bad = requests.post(sb.url + TOKEN_PATH, data={**form, "scope": "read BOGUS"}, timeout=10)
    assert bad.status_code == 400
    assert bad.json() == {"error": "invalid_scope", "error_description": "Invalid scope: BOGUS", "scope": "read"}
    sb.add_client("ro", "s", ("ASSESSMENT_READ",))
    narrow = requests.post(sb.url + TOKEN_PATH, timeout=10, data={
        "grant_type": "client_credentials", "client_id": "ro", "client_secret": "s", "scope": "RISK"})
    assert narrow.status_code == 400 and narrow.json()["error_description"] == "Invalid scope: RISK"


def test_assessment_enum_filters_bind_leniently_as_spring_boot(s):
    def total(params):
        got = s.get(s.base_url + ASSESSMENTS, params=params)
        assert got.status_code == 200, got.text
        return got.json()["page"]["totalElements"]

    assert total({"templateTypes": "vendor"}) == total({"templateTypes": "VENDOR"})
    assert total({"assessmentStatuses": "in-progress,Completed"}) == \
        total({"assessmentStatuses": "IN_PROGRESS,COMPLETED"})
    assert total({"assessmentArchivalState": "non_archived"}) == total({})
    assert total({"assessmentArchivalState": "all"}) == total({"assessmentArchivalState": "ALL"})
    for bad in ({"templateTypes": "VENDORS"}, {"assessmentStatuses": "DONE"}, {"assessmentArchivalState": "x"}):
        spring_error(s.get(s.base_url + ASSESSMENTS, params=bad), 400)


def test_risk_date_predicates_need_dates(s):
    url = s.base_url + "/api/risk/v2/risks/pages"

    def total(pred):
        got = s.post(url, json={"predicates": [pred]})
        assert got.status_code == 200, got.text
        return got.json()["totalElements"]

    field = "lastModifiedUTCDateTime"
    utc = total({"field": field, "operator": "GREATER_THAN", "value": "2026-10-01T00:00:00.000Z"})
    for same in ("2026-10-01T00:00:00Z", "2026-10-01T02:00:00+02:00", "2026-10-01"):
        assert total({"field": field, "operator": "GREATER_THAN", "value": same}) == utc, same
    for bad in ({"field": field, "operator": "GREATER_THAN", "value": "yesterday"},
                {"field": "createdUTCDateTime", "operator": "LESS_THAN", "value": 12},
                {"field": "deadline", "operator": "BETWEEN", "value": "2026-01-01", "toValue": "soon"},
                {"field": "number", "operator": "BETWEEN", "value": 1}):
        body = spring_error(s.post(url, json={"predicates": [bad]}), 400)
        assert body["message"].startswith("Invalid predicate"), bad
    assert total({"field": "number", "operator": "BETWEEN", "value": 1, "toValue": 3}) == 3


def test_every_json_post_list_refuses_text_bodies(s, sb):
    vendor = sb.vendors()[0]["id"]
    for path in ("/api/controls/v1/controls/pages", f"/api/vendor/v1/contracts/vendors/{vendor}/contracts"):
        spring_error(s.post(s.base_url + path, data="hello", headers={"Content-Type": "text/plain"}), 415)
        spring_error(s.post(s.base_url + path, data="{", headers={"Content-Type": "application/json"}), 400)
        assert s.post(s.base_url + path).status_code == 200  # no body at all, as callers send
        assert s.post(s.base_url + path, json={}).status_code == 200
