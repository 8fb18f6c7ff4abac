"""Offset paging: X-Total-Count, Link header, v1/v2 empty results, ties on sys_updated_on."""

from __future__ import annotations

import operator
from collections import Counter

DELTA = "sys_updated_on>=2026-08-01 00:00:00^ORDERBYsys_updated_on^ORDERBYsys_id"


def test_link_header_and_total(servicenow_sandbox, sn_session):
    sb = servicenow_sandbox
    url = f"{sb.url}/api/now/table/incident"
    r = sn_session.get(url, params={"sysparm_limit": 30, "sysparm_offset": 60, "sysparm_query": "ORDERBYnumber"})
    assert r.status_code == 200
    assert r.headers["X-Total-Count"] == "200"
    links = r.links
    assert set(links) == {"first", "prev", "next", "last"}
    assert "sysparm_offset=0" in links["first"]["url"]
    assert "sysparm_offset=30" in links["prev"]["url"]
    assert "sysparm_offset=90" in links["next"]["url"]
    assert "sysparm_offset=170" in links["last"]["url"]
    assert "sysparm_query=ORDERBYnumber" in links["next"]["url"]
    numbers = [x["number"] for x in r.json()["result"]]
    assert numbers == [f"INC{i:07d}" for i in range(10061, 10091)]


def test_following_next_reads_everything_once(servicenow_sandbox, sn_session):
    sb = servicenow_sandbox
    url, params, seen = f"{sb.url}/api/now/table/incident", {"sysparm_limit": 17, "sysparm_query": DELTA}, []
    while url:
        r = sn_session.get(url, params=params)
        seen += [(x["sys_updated_on"], x["sys_id"]) for x in r.json()["result"]]
        url, params = r.links.get("next", {}).get("url"), None
    expected = sorted((x["sys_updated_on"], x["sys_id"]) for x in sb.records("incident")
                      if x["sys_updated_on"] >= "2026-08-01 00:00:00")
    assert seen == expected
    assert len(set(seen)) == len(seen)


def test_many_records_share_one_second(servicenow_sandbox):
    counts = Counter(r["sys_updated_on"] for r in servicenow_sandbox.records("incident"))
    assert max(counts.values()) > 17, "ties across page boundaries are the hazard connectors must survive"


def test_last_page_has_no_next_and_single_page_has_no_link(servicenow_sandbox, sn_session):
    url = f"{servicenow_sandbox.url}/api/now/table/incident"
    last = sn_session.get(url, params={"sysparm_limit": 50, "sysparm_offset": 150})
    assert "next" not in last.links and "prev" in last.links
    single = sn_session.get(url, params={"sysparm_limit": 500})
    assert "Link" not in single.headers
    assert len(single.json()["result"]) == 200
    assert sn_session.get(url).headers["X-Total-Count"] == "200"  # default limit 10000 covers all


def test_suppress_header_and_no_count(servicenow_sandbox, sn_session):
    url = f"{servicenow_sandbox.url}/api/now/table/incident"
    r = sn_session.get(url, params={"sysparm_limit": 5, "sysparm_suppress_pagination_header": "true",
                                    "sysparm_no_count": "true"})
    assert "Link" not in r.headers and "X-Total-Count" not in r.headers
    assert len(r.json()["result"]) == 5


def test_v1_empty_is_404_v2_is_empty_list(servicenow_sandbox, sn_session):
    base = servicenow_sandbox.url
    q = {"sysparm_query": "number=NOPE"}
    v1 = sn_session.get(f"{base}/api/now/v1/table/incident", params=q)
    assert v1.status_code == 404 and v1.json()["error"]["message"] == "No Record found"
    v2 = sn_session.get(f"{base}/api/now/v2/table/incident", params=q)
    assert v2.status_code == 200 and v2.json() == {"result": []}
    assert v2.headers["X-Total-Count"] == "0"


def test_index_plan_matches_scan_plan(servicenow_sandbox, sn_session):
    """The bisect path (ORDERBYsys_updated_on) must agree with a full scan + sort."""
    url = f"{servicenow_sandbox.url}/api/now/table/incident"
    ops = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "=": operator.eq}
    counts = Counter(r["sys_updated_on"] for r in servicenow_sandbox.records("incident"))
    literal = counts.most_common(1)[0][0]  # a tied second makes the boundary handling matter
    for op, fn in ops.items():
        fast = sn_session.get(url, params={"sysparm_query": f"sys_updated_on{op}{literal}^ORDERBYsys_updated_on"
                                           "^ORDERBYsys_id", "sysparm_fields": "sys_id"}).json()["result"]
        expected = sorted((r["sys_updated_on"], r["sys_id"]) for r in servicenow_sandbox.records("incident")
                          if fn(r["sys_updated_on"], literal))
        assert expected
        assert [x["sys_id"] for x in fast] == [sid for _, sid in expected], op


def test_head_and_invalid_table(servicenow_sandbox, sn_session):
    url = f"{servicenow_sandbox.url}/api/now/table/incident"
    head = sn_session.head(url, params={"sysparm_limit": 3})
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["Content-Length"]) > 0 and head.headers["X-Total-Count"] == "200"
    bad = sn_session.get(f"{servicenow_sandbox.url}/api/now/table/no_such_table")
    assert bad.status_code == 400 and bad.json()["status"] == "failure"
    neg = sn_session.get(url, params={"sysparm_offset": -1})
    assert neg.status_code == 400
