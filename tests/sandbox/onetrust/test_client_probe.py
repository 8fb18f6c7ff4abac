"""OneTrust as a customer script drives it with requests, exactly per the documented shapes: the token
(form, multipart, HTTP Basic), the three paging envelopes walked to the end, clamped sizes, error
bodies and the 429 headers."""

from __future__ import annotations

import requests

from sandbox.onetrust.app import TOKEN_PATH


def _session(sb) -> requests.Session:
    s = requests.Session()
    token = requests.post(sb.url + TOKEN_PATH, files={"grant_type": (None, "client_credentials"),
                                                      "client_id": (None, sb.client_id),
                                                      "client_secret": (None, sb.client_secret)}, timeout=10)
    assert token.status_code == 200 and token.json()["token_type"].lower() == "bearer"
    basic = requests.post(sb.url + TOKEN_PATH, data={"grant_type": "client_credentials"},
                          auth=(sb.client_id, sb.client_secret), timeout=10)
    assert basic.status_code == 200
    s.headers["Authorization"] = "Bearer " + token.json()["access_token"]
    return s


def test_paging_envelopes_walked_to_the_end(make_onetrust_sandbox):
    sb = make_onetrust_sandbox(size=70)
    s, base = _session(sb), sb.url
    seen, page = [], 0
    while True:  # assessments: content + page{number,size,totalElements,totalPages}
        body = s.get(f"{base}/api/assessment/v2/assessments", params={"page": page, "size": 20,
                                                                       "assessmentArchivalState": "ALL"}).json()
        seen += [a["assessmentId"] for a in body["content"]]
        page += 1
        if page >= body["page"]["totalPages"]:
            break
    assert sorted(seen) == sorted(a["assessmentId"] for a in sb.assessments())
    assert body["page"]["totalElements"] == len(seen)
    seen, page = [], 0
    while True:  # risks: a flat Spring Page, POST with a search body
        body = s.post(f"{base}/api/risk/v2/risks/pages", params={"page": page, "size": 25},
                      json={"filters": {}, "fullTextSearch": ""}).json()
        seen += [r["id"] for r in body["content"]]
        if body["last"]:
            break
        page += 1
    assert sorted(seen) == sorted(r["id"] for r in sb.risks()) and body["totalElements"] == len(seen)
    seen, page = [], 0
    while True:  # inventory: data + meta.page{first,last,...}; size over 50 is clamped
        body = s.get(f"{base}/api/inventory/v2/inventories/vendors", params={"page": page, "size": 500}).json()
        assert body["meta"]["page"]["size"] == 50
        seen += [v["id"] for v in body["data"]]
        if body["meta"]["page"]["last"]:
            break
        page += 1
    assert sorted(seen) == sorted(v["id"] for v in sb.vendors())


def test_error_bodies_and_rate_limit(make_onetrust_sandbox):
    sb = make_onetrust_sandbox(size=10)
    s, base = _session(sb), sb.url
    gone = s.get(f"{base}/api/risk/v2/risks/00000000-0000-0000-0000-000000000000")
    assert gone.status_code == 404 and set(gone.json()) == {"timestamp", "status", "error", "message", "path"}
    unknown = s.get(f"{base}/api/assessment/v2/nothing-here")  # was 400 (ServiceNow's answer), Spring says 404
    assert unknown.status_code == 404 and unknown.json()["error"] == "Not Found"
    assert unknown.json()["path"] == "/api/assessment/v2/nothing-here"
    assert requests.get(f"{base}/api/assessment/v2/assessments", timeout=10).status_code == 401
    limited = make_onetrust_sandbox(size=10, rate_limit_per_minute=2)
    s2 = _session(limited)  # two token calls fill the minute
    r = s2.get(f"{limited.url}/api/assessment/v2/assessments")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert r.headers["ot-period"] == "MINUTE" and r.headers["ot-requests-allowed"] == "2"
