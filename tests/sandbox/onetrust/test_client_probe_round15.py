"""OneTrust probe round 15, with raw `requests` as a caller following developer.onetrust.com writes it.
Fixed here: a JSON endpoint took a body declared `text/plain` (a vendor was created, 201) or as a form
(400 "Malformed JSON"); Spring answers 415 for a `@RequestBody` of an unsupported type [unc]."""

from __future__ import annotations

import pytest
import requests

from sandbox.onetrust.app import TOKEN_PATH
from tests.sandbox.onetrust.helpers import bearer_session, spring_error

RISKS = "/api/risk/v2/risks"
VENDORS = "/api/inventory/v2/inventories/vendors"


@pytest.fixture
def sb(make_onetrust_sandbox):
    return make_onetrust_sandbox(size=20)


@pytest.fixture
def s(sb):
    with bearer_session(sb) as session:
        yield session



# --- 415 for bodies that are not declared as JSON -------------------------------------------------------
@pytest.mark.parametrize("kwargs", [
    {"data": '{"name": "Plain Vendor"}', "headers": {"Content-Type": "text/plain"}},
    {"data": {"name": "Form Vendor"}},
    {"data": "<vendor><name>X</name></vendor>", "headers": {"Content-Type": "application/xml"}},
])
def test_vendor_create_with_a_non_json_body_is_415_and_creates_nothing(s, sb, kwargs):
    before = len(sb.vendors())
    body = spring_error(s.post(s.base_url + VENDORS, **kwargs), 415)
    assert body["error"] == "Unsupported Media Type" and "not supported" in body["message"]
    assert len(sb.vendors()) == before


def test_other_json_endpoints_refuse_non_json_bodies_too(s, sb):
    plain = {"Content-Type": "text/plain;charset=UTF-8"}
    spring_error(s.post(s.base_url + RISKS, data='{"name": "x"}', headers=plain), 415)
    spring_error(s.post(s.base_url + RISKS + "/pages", data="{}", headers=plain), 415)
    vendor = sb.vendors()[0]["id"]
    spring_error(s.patch(s.base_url + f"{VENDORS}/{vendor}", data={"name": "x"}), 415)
    spring_error(s.post(s.base_url + "/api/assessment/v2/assessments", data="x=1",
                         headers={"Content-Type": "application/x-www-form-urlencoded"}), 415)


def test_json_bodies_still_work_with_charset_suffix_or_no_content_type(s, sb):
    made = s.post(s.base_url + VENDORS, data=b'{"name": "Charset Vendor"}',
                  headers={"Content-Type": "application/json; charset=utf-8"})
    assert made.status_code == 201 and made.json()["data"]["name"] == "Charset Vendor"
    bare = requests.Request("POST", s.base_url + RISKS + "/pages", data=b"{}", headers=dict(s.headers)).prepare()
    bare.headers.pop("Content-Type", None)
    assert s.send(bare).status_code == 200
    assert s.post(s.base_url + RISKS + "/pages").status_code == 200  # no body at all: filters {}


# --- Spring Data sort: several keys ---------------------------------------------------------------------
ASSESSMENTS = "/api/assessment/v2/assessments"


def _ordered(rows: list[dict], *keys: tuple[str, bool]) -> list[dict]:
    out = list(rows)
    for key, desc in reversed(keys):
        out.sort(key=lambda r, k=key: r[k], reverse=desc)
    return out


def test_repeated_sort_parameters_are_all_applied(s):
    params = [("sort", "status,asc"), ("sort", "number,DESC"), ("size", "2000")]
    rows = s.get(s.base_url + ASSESSMENTS, params=params).json()["content"]
    assert len({r["status"] for r in rows}) > 1
    assert [r["number"] for r in rows] == [r["number"] for r in _ordered(rows, ("status", False), ("number", True))]
    risks = s.post(s.base_url + RISKS + "/pages", json={}, params=[("sort", "name"), ("sort", "number,desc"),
                                                                    ("size", "100")]).json()["content"]
    assert [r["number"] for r in risks] == [r["number"] for r in _ordered(risks, ("name", False), ("number", True))]


def test_one_sort_parameter_may_name_several_properties(s):
    rows = s.get(s.base_url + ASSESSMENTS, params={"sort": "status,number,desc", "size": 2000}).json()["content"]
    assert [r["number"] for r in rows] == [r["number"] for r in _ordered(rows, ("status", True), ("number", True))]
    blank = s.get(s.base_url + ASSESSMENTS, params=[("sort", ""), ("size", "5")]).json()["content"]
    assert [a["createDt"] for a in blank] == sorted((a["createDt"] for a in blank), reverse=True)
    spring_error(s.get(s.base_url + ASSESSMENTS, params=[("sort", "number,desc"), ("sort", "bogus")]), 400)


def test_ignore_sort_still_serves_the_default_for_several_keys(make_onetrust_sandbox):
    sb = make_onetrust_sandbox(size=20, ignore_sort=True)
    token = requests.post(sb.url + TOKEN_PATH, timeout=10, data={
        "grant_type": "client_credentials", "client_id": sb.client_id, "client_secret": sb.client_secret}).json()
    rows = requests.get(sb.url + ASSESSMENTS, params=[("sort", "number,asc"), ("sort", "name,asc")], timeout=10,
                        headers={"Authorization": "Bearer " + token["access_token"]}).json()["content"]
    assert [a["createDt"] for a in rows] == sorted((a["createDt"] for a in rows), reverse=True)
