"""Round 31: the ServiceNow sandbox's Table API and Attachment API wire contract, as documented
(/work/shared/reference/vendor-apis.md §1.3-1.8) and as pysnc reads it.

- ``sysparm_display_value=all``: every field (dot-walks, empty references, dates) is a ``{display_value, value}`` pair,
  references also ``link`` unless ``sysparm_exclude_reference_link=true``; list, single record, and the POST/PATCH
  answers alike.
- ``X-Total-Count`` is the match count on every page (GET and HEAD), and on the attachment list.
- ``Link``: first/prev/next/last repeating the request's parameters; following ``next`` reads every match once;
  no ``next`` on the last page; no header on a single page or with ``sysparm_suppress_pagination_header``.
- Errors (400, 403, 404, 405, on both APIs) are ``{"error": {"message", "detail"}, "status": "failure"}``, JSON.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

AUTH = ("integration.user", "sandbox-password")
SIZE = 40


@pytest.fixture
def sn(make_servicenow_sandbox, monkeypatch):
    """(TLS sandbox, requests session): requests prefers REQUESTS_CA_BUNDLE over ``verify``, so it names the CA."""
    sb = make_servicenow_sandbox(size=SIZE, tls=True)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sb.ca_bundle)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with requests.Session() as s:
        s.auth, s.verify = AUTH, sb.ca_bundle
        s.headers["Accept"] = "application/json"
        yield sb, s


def _links(response) -> dict[str, dict[str, list[str]]]:
    out = {}
    for part in response.headers["Link"].split(","):
        url, rel = part.split(";")
        url = url.strip()[1:-1]
        assert url.startswith("https://"), url
        out[rel.split("=")[1].strip('"')] = parse_qs(urlsplit(url).query)
    return out


def _is_failure(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "status"} and body["status"] == "failure"
    assert set(body["error"]) == {"message", "detail"} and body["error"]["message"]
    return body["error"]


def test_display_value_all_pairs_and_reference_links(sn):
    sb, s = sn
    inc = next(r for r in sb.records("incident") if r["assigned_to"] and not r["problem_id"])
    user = sb.get("sys_user", inc["assigned_to"])
    url = f"{sb.url}/api/now/table/incident/{inc['sys_id']}"
    fields = "sys_id,assigned_to,problem_id,assigned_to.name,opened_at,priority"

    both = s.get(url, params={"sysparm_display_value": "all", "sysparm_fields": fields}).json()["result"]
    assert set(both) == set(fields.split(","))
    for name, pair in both.items():
        assert isinstance(pair, dict) and {"display_value", "value"} <= set(pair), name
    assert both["assigned_to"] == {"display_value": user["name"], "value": user["sys_id"],
                                   "link": f"{sb.url}/api/now/table/sys_user/{user['sys_id']}"}
    assert both["problem_id"] == {"display_value": "", "value": ""}, "an empty reference: a pair, no link"
    assert both["assigned_to.name"] == {"display_value": user["name"], "value": user["name"]}
    assert both["priority"]["value"] == inc["priority"] and both["priority"]["display_value"].startswith(
        inc["priority"] + " - ")
    assert both["opened_at"]["value"] == inc["opened_at"]

    bare = s.get(url, params={"sysparm_display_value": "all", "sysparm_exclude_reference_link": "true",
                              "sysparm_fields": fields}).json()["result"]
    assert bare["assigned_to"] == {"display_value": user["name"], "value": user["sys_id"]}
    raw = s.get(url, params={"sysparm_exclude_reference_link": "true", "sysparm_fields": fields}).json()["result"]
    assert raw["assigned_to"] == user["sys_id"] and raw["problem_id"] == "" and raw["priority"] == inc["priority"]
    linked = s.get(url, params={"sysparm_fields": fields}).json()["result"]
    assert linked["assigned_to"] == {"link": f"{sb.url}/api/now/table/sys_user/{user['sys_id']}",
                                     "value": user["sys_id"]} and linked["problem_id"] == ""
    shown = s.get(url, params={"sysparm_display_value": "true", "sysparm_exclude_reference_link": "true",
                               "sysparm_fields": fields}).json()["result"]
    assert shown["assigned_to"] == user["name"] and shown["priority"] == both["priority"]["display_value"]


def test_writes_answer_in_the_asked_display_form(sn):
    sb, s = sn
    url = f"{sb.url}/api/now/table/incident"
    params = {"sysparm_display_value": "all", "sysparm_exclude_reference_link": "true"}
    made = s.post(url, params=params, json={"short_description": "r31", "priority": "2"})
    assert made.status_code == 201 and made.headers["Location"].endswith(made.json()["result"]["sys_id"]["value"])
    rec = made.json()["result"]
    assert rec["priority"] == {"display_value": "2 - High", "value": "2"}
    assert rec["short_description"] == {"display_value": "r31", "value": "r31"}
    patched = s.patch(f"{url}/{rec['sys_id']['value']}", params=params, json={"priority": "3"})
    assert patched.status_code == 200 and patched.json()["result"]["priority"] == {"display_value": "3 - Moderate",
                                                                                   "value": "3"}
    assert sb.get("incident", rec["sys_id"]["value"])["priority"] == "3"


def test_total_count_and_link_pages_read_every_match_once(sn):
    sb, s = sn
    url = f"{sb.url}/api/now/table/incident"
    query = "short_descriptionISNOTEMPTY^ORDERBYnumber"
    want = sorted(r["number"] for r in sb.records("incident") if r["short_description"])
    assert len(want) > 14
    params = {"sysparm_query": query, "sysparm_limit": "7", "sysparm_offset": "0", "sysparm_fields": "number"}
    seen, pages = [], 0
    while True:
        page = s.get(url, params=params)
        pages += 1
        assert page.headers["X-Total-Count"] == str(len(want))
        seen += [r["number"] for r in page.json()["result"]]
        links = _links(page)
        assert links["first"]["sysparm_offset"] == ["0"] and links["first"]["sysparm_query"] == [query]
        assert links["last"]["sysparm_offset"] == [str(len(want) - 7)]  # total - limit, as observed
        assert links["first"]["sysparm_fields"] == ["number"] and links["first"]["sysparm_limit"] == ["7"]
        if "next" not in links:
            break
        assert int(links["next"]["sysparm_offset"][0]) == int(params["sysparm_offset"]) + 7
        params = {k: v[0] for k, v in links["next"].items()}
    assert seen == want and pages == -(-len(want) // 7)

    head = s.head(url, params={"sysparm_query": query, "sysparm_limit": "7"})
    assert head.status_code == 200 and head.headers["X-Total-Count"] == str(len(want)) and head.content == b""
    single = s.get(url, params={"sysparm_query": query})
    assert "Link" not in single.headers and len(single.json()["result"]) == len(want)
    quiet = s.get(url, params={"sysparm_query": query, "sysparm_limit": "7",
                               "sysparm_suppress_pagination_header": "true"})
    assert "Link" not in quiet.headers and quiet.headers["X-Total-Count"] == str(len(want))


def test_attachment_list_counts_and_pages(sn):
    sb, s = sn
    inc = sb.records("incident")[2]["sys_id"]
    for i in range(5):
        up = s.post(f"{sb.url}/api/now/attachment/file", data=f"file {i}".encode(),
                    headers={"Content-Type": "text/plain"},
                    params={"table_name": "incident", "table_sys_id": inc, "file_name": f"f{i}.txt"})
        assert up.status_code == 201 and up.headers["Location"].endswith(up.json()["result"]["sys_id"])
    params = {"sysparm_query": f"table_sys_id={inc}^file_nameSTARTSWITHf^ORDERBYfile_name", "sysparm_limit": "2"}
    first = s.get(f"{sb.url}/api/now/attachment", params=params)
    assert first.headers["X-Total-Count"] == "5" and len(first.json()["result"]) == 2
    assert _links(first)["next"]["sysparm_offset"] == ["2"] and _links(first)["last"]["sysparm_offset"] == ["3"]
    meta = first.json()["result"][0]
    assert meta["file_name"] == "f0.txt" and meta["size_bytes"] == "6" and meta["table_sys_id"] == inc
    assert s.get(meta["download_link"], headers={"Accept": "*/*"}).content == b"file 0"
    last = s.get(f"{sb.url}/api/now/attachment", params={**params, "sysparm_offset": "4"})
    assert [a["file_name"] for a in last.json()["result"]] == ["f4.txt"] and "next" not in _links(last)


def test_error_bodies_have_the_documented_shape(sn):
    sb, s = sn
    table = f"{sb.url}/api/now/table"
    att = f"{sb.url}/api/now/attachment"
    missing = "0" * 32
    _is_failure(s.get(f"{table}/no_such_table"), 400)
    _is_failure(s.get(f"{table}/incident", params={"sysparm_limit": "x"}), 400)
    _is_failure(s.post(f"{table}/incident", data="{not json", headers={"Content-Type": "application/json"}), 400)
    assert _is_failure(s.get(f"{table}/incident/{missing}"), 404)["message"] == "No Record found"
    _is_failure(s.patch(f"{table}/incident/{missing}", json={"priority": "1"}), 404)
    _is_failure(s.delete(f"{table}/incident/{missing}"), 404)
    _is_failure(s.get(f"{sb.url}/api/now/v1/table/incident", params={"sysparm_query": "number=NONE"}), 404)
    _is_failure(s.put(f"{table}/incident", json={}), 405)
    _is_failure(s.get(f"{att}/{missing}"), 404)
    _is_failure(s.get(f"{att}/{missing}/file"), 404)
    _is_failure(s.delete(f"{att}/{missing}"), 404)
    _is_failure(s.post(f"{att}/file", data=b"x", headers={"Content-Type": "text/plain"},
                       params={"table_name": "incident", "table_sys_id": missing, "file_name": "x.txt"}), 404)
    _is_failure(s.post(f"{att}/file", data=b"x", headers={"Content-Type": "text/plain"},
                       params={"table_name": "incident"}), 400)

    sb.add_user("r31.reader", "R31-reader-pw!", roles=())
    with requests.Session() as ess:
        ess.auth, ess.verify, ess.headers["Accept"] = ("r31.reader", "R31-reader-pw!"), sb.ca_bundle, "application/json"
        inc = sb.records("incident")[0]["sys_id"]
        before = sb.get("incident", inc)
        denied = _is_failure(ess.patch(f"{table}/incident/{inc}", json={"priority": "1"}), 403)
        assert "ACL" in denied["detail"]
        _is_failure(ess.delete(f"{table}/incident/{inc}"), 403)
    assert sb.get("incident", inc) == before, "refused: nothing written"
    _is_failure(requests.get(f"{table}/incident", auth=("integration.user", "wrong"), verify=sb.ca_bundle,
                             headers={"Accept": "application/json"}), 401)
