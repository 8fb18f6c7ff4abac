"""Round 26: numbers in request bodies (JSON and form) no vendor parser takes as the integer it wants: 5,000 digits
(a JSON literal that Python's json refuses with ValueError, or a string), 20 digits, negatives, 1e999 and -1e999
(inf to Python's json), NaN, Infinity, 1.5, true, a string of digits and '²'. Each emulator answers its vendor's
4xx (or clamps, or ignores as before), never a 500, a hang or a dropped connection. Failures before the fixes are
noted per test. Fixtures as in test_round26_bigdigits.py."""

from __future__ import annotations

import pytest
import requests

from sandbox.core.numbers import json_int
from sandbox.sharepoint.app import GraphSandbox
from sandbox.sharepoint.world import seed_world as seed_sharepoint
from tests.sandbox.test_round26_bigdigits import drive, jira, onetrust, slack, sn

__all__ = ["drive", "jira", "onetrust", "slack", "sn"]

BODY = ["9" * 5000, "9" * 20, "-1", "-" + "9" * 20, "1e999", "-1e999", "NaN", "Infinity", "1.5", "true", '"42"',
        '"' + "9" * 5000 + '"', '"\u00b2"']
BODY_IDS = ["5000digits", "20digits", "minus1", "minus20digits", "1e999", "minus1e999", "nan", "inf", "float",
            "bool", "digitstring", "5000digitstring", "superscript2"]


def _ok(resp: requests.Response) -> requests.Response:
    """The emulator answered, and not with a 5xx."""
    assert resp.status_code < 500, resp.text[:300]
    return resp


def _raw(template: str, value: str, name: str = "") -> bytes:
    """A JSON body with ``value`` (JSON text, as is) in place of ``$`` and ``name`` in place of ``"N"``."""
    return template.replace('"N"', f'"{name}"').replace("$", value).encode()


def test_json_int():
    assert json_int(10**5000, cap=1000) == 1000 and json_int(-(10**30), signed=True, cap=7) == -7
    assert json_int("0042") == 42 and json_int(42) == 42 and json_int("42", strings=False) is None
    for bad in (True, 1.5, float("inf"), float("nan"), "\u00b2", None, [], -1, "-1", "1e999"):
        assert json_int(bad) is None, bad


@pytest.fixture(scope="module")
def sp(tmp_path_factory):
    sb = GraphSandbox().start()
    w = seed_sharepoint(sb, tmp_path_factory.mktemp("sp"))
    sessions = []
    for scope in ("https://graph.microsoft.com/.default", "https://contoso.sharepoint.com/.default"):
        s = requests.Session()
        s.trust_env, s.verify = False, sb.ca_bundle  # the environment's CA bundle would win over verify
        r = s.post(f"{sb.url}/{w.tenant_id}/oauth2/v2.0/token", timeout=10, data={
            "grant_type": "client_credentials", "client_id": w.client_id, "client_secret": w.client_secret,
            "scope": scope})
        s.headers.update({"Authorization": "Bearer " + r.json()["access_token"], "Content-Type": "application/json",
                          "Accept": "application/json;odata=nometadata"})
        sessions.append(s)
    yield sessions[0], sb.graph_url, sessions[1], f"{sb.url}/sites/GRC/_api"
    sb.stop()


@pytest.mark.parametrize("value", BODY, ids=BODY_IDS)
def test_sharepoint_search_and_change_bodies(sp, value):
    """Before: postquery StartRow/RowLimit, Graph search from/size and GetChanges FetchLimit of 1e999, -1e999 or
    Infinity answered 500 (OverflowError), Graph search NaN, '²' and a 5,000-digit string too (ValueError)."""
    s, graph_url, rest, site = sp
    for name in ("StartRow", "RowLimit"):
        _ok(rest.post(f"{site}/search/postquery", data=_raw('{"request":{"Querytext":"a","N":$}}', value, name),
                      timeout=10))
        _ok(rest.get(f"{site}/search/query", params={"querytext": "'a'", name.lower(): value.strip('"')}, timeout=10))
    for name in ("from", "size"):
        body = _raw('{"requests":[{"entityTypes":["driveItem"],"query":{"queryString":"a"},"region":"NAM","N":$}]}',
                    value, name)
        r = _ok(s.post(f"{graph_url}/search/query", data=body, timeout=10))
        if value in ("1e999", "NaN", "1.5", '"\u00b2"'):
            assert r.status_code == 400 and r.json()["error"]["code"] == "BadRequest"
    _ok(rest.post(f"{site}/web/getchanges", data=_raw('{"query":{"Item":true,"FetchLimit":$}}', value), timeout=10))
    _ok(rest.post(f"{site}/web/getrecyclebinitems", data=_raw('{"rowLimit":$}', value), timeout=10))


@pytest.mark.parametrize("value", BODY, ids=BODY_IDS)
def test_jira_search_worklog_and_sprint_bodies(jira, value):
    """Before: POST search/jql maxResults and worklog timeSpentSeconds (add and edit) of 1e999, -1e999 or Infinity
    answered 500 (OverflowError); POST sprint originBoardId and sprint swap sprintToSwapWith of a 5,000-digit
    string too (int()'s ValueError)."""
    sb, s = jira
    jql = '{"jql":"project is not EMPTY order by key","fields":["key"],"maxResults":$}'
    r = _ok(s.post(f"{sb.url}/rest/api/3/search/jql", data=_raw(jql, value), timeout=10,
                   headers={"Content-Type": "application/json"}))
    if value in ("1e999", "-1e999", "NaN", "Infinity", "true", '"\u00b2"'):
        assert r.status_code == 400 and r.json()["errorMessages"], r.text[:200]
    if value == '"42"':
        assert r.status_code == 200 and r.json()["issues"]
    key = s.post(f"{sb.url}/rest/api/3/search/jql", json={"jql": "project is not EMPTY order by key", "maxResults": 1},
                 timeout=10).json()["issues"][0]["id"]
    worklog = s.post(f"{sb.url}/rest/api/3/issue/{key}/worklog", json={"timeSpentSeconds": 60}, timeout=10).json()["id"]
    for method, path in (("POST", f"/issue/{key}/worklog"), ("PUT", f"/issue/{key}/worklog/{worklog}")):
        r = _ok(s.request(method, f"{sb.url}/rest/api/3{path}", data=_raw('{"timeSpentSeconds":$}', value),
                          headers={"Content-Type": "application/json"}, timeout=10))
        if value in ("1e999", "NaN", "Infinity", "true", '"\u00b2"', "-1"):
            assert r.status_code == 400 and "timeLogged" in r.json()["errors"], r.text[:200]
    for path, template in (("/sprint", '{"name":"x","originBoardId":$}'), ("/sprint/1/swap", '{"sprintToSwapWith":$}')):
        r = _ok(s.post(f"{sb.url}/rest/agile/1.0{path}", data=_raw(template, value), timeout=10,
                       headers={"Content-Type": "application/json"}))
        assert r.status_code == (404 if value == '"42"' else 400), (path, r.text[:200])


@pytest.mark.parametrize("value", BODY, ids=BODY_IDS)
def test_servicenow_catalog_quantity_and_record_count(sn, value):
    """Before: order_now and add_to_cart sysparm_quantity of 1e999, -1e999 or Infinity answered 500 (OverflowError);
    JSONv2 sysparm_record_count of 20 or 5,000 digits too (int()'s ValueError). Table POST/PATCH of numeric
    fields (impact, urgency, reassignment_count, ...) and the batch API already held."""
    sb, s = sn
    item = next(x for x in sb.records("sc_cat_item") if x["active"] == "true")["sys_id"]
    for action in ("order_now", "add_to_cart"):
        r = _ok(s.post(f"{sb.url}/api/sn_sc/servicecatalog/items/{item}/{action}", timeout=10,
                       data=_raw('{"sysparm_quantity":$}', value), headers={"Content-Type": "application/json"}))
        if value in ("1e999", "-1e999", "NaN", "Infinity", "true", '"\u00b2"', "-1"):
            assert r.status_code == 400 and r.json()["error"]["message"] == "Invalid quantity", r.text[:200]
    inc = s.get(f"{sb.url}/api/now/table/incident", params={"sysparm_limit": "1"}, timeout=10).json()["result"][0]
    for name in ("impact", "urgency", "reassignment_count"):
        _ok(s.patch(f"{sb.url}/api/now/table/incident/{inc['sys_id']}", data=_raw('{"N":$}', value, name),
                    headers={"Content-Type": "application/json"}, timeout=10))
    count = value.strip('"')
    r = _ok(s.get(f"{sb.url}/incident.do?JSONv2&sysparm_action=getRecords&sysparm_record_count={count}", timeout=10))
    if count in ("9" * 20, "9" * 5000):
        assert len(r.json()["records"]) == 20


@pytest.mark.parametrize("value", ["9" * 5000, "9" * 20, "-" + "9" * 20, "-" + "9" * 5000, "\u0663"],
                         ids=["5000digits", "20digits", "minus20digits", "minus5000digits", "arabic3"])
def test_servicenow_relative_date_counts(sn, value):
    """Before: gs.daysAgo(n), gs.beginningOfLast<n>Days(), RELATIVEGT@day@ago@n and DATEPART values of 20 or
    5,000 digits answered 500 on the table API and stats (ValueError, or OverflowError from timedelta); now a
    count past datetime's years is not understood (the condition is ignored, or the literal compared)."""
    sb, s = sn
    queries = [f"opened_at>javascript:gs.daysAgo({value})", f"opened_at>javascript:gs.beginningOfLast{value}Days()",
               f"opened_atRELATIVEGT@day@ago@{value}", f"opened_atONLast {value} days@@",
               f"opened_atDATEPARTx@javascript:gs.datePart('month','{value}','EE')",
               f"resolved_atMORETHANopened_at@hour@after@{value}"]
    for query in queries:
        for path in ("/api/now/table/incident", "/api/now/stats/incident"):
            _ok(s.get(sb.url + path, params={"sysparm_query": query, "sysparm_count": "true"}, timeout=10))


@pytest.mark.parametrize("value", BODY, ids=BODY_IDS)
def test_slack_json_and_form_numbers(slack, value):
    """Before: calls.add date_start of 1e999, Infinity or 5,000 digits (form or JSON) and calls.end duration of
    1e999 (JSON) answered 500 (OverflowError). Paging (limit, count, page), ts arguments and files.list ts_from
    in JSON bodies already held."""
    sb, s, channel = slack
    added = s.post(f"{sb.url}/api/calls.add", json={"external_unique_id": "r26", "join_url": "https://x"}, timeout=10)
    call = added.json()["call"]["id"]
    for method, name in (("calls.add", "date_start"), ("calls.end", "duration"), ("conversations.history", "limit"),
                         ("conversations.history", "oldest"), ("files.list", "count"), ("files.list", "ts_from"),
                         ("search.messages", "count"), ("users.list", "limit")):
        base = '{"channel":"C","query":"a","id":"I","external_unique_id":"u","join_url":"https://x","N":$}'
        body = _raw(base.replace('"C"', f'"{channel}"').replace('"I"', f'"{call}"'), value, name)
        for kwargs in ({"data": body, "headers": {"Content-Type": "application/json"}},
                       {"data": {"channel": channel, "id": call, "external_unique_id": "u", "join_url": "https://x",
                                 "query": "a", name: value.strip('"')}}):
            r = _ok(s.post(f"{sb.url}/api/{method}", timeout=10, **kwargs))
            assert "ok" in r.json()
            if name == "date_start" and value in ("1e999", "Infinity", "NaN"):
                assert r.json()["error"] == "invalid_start_time"


@pytest.mark.parametrize("value", BODY, ids=BODY_IDS)
def test_onetrust_search_and_create_bodies(onetrust, value):
    """OneTrust's POST searches and creates (filters' values, page, size, numeric fields) already held."""
    sb, s = onetrust
    for path, template in (("/api/risk/v2/risks/pages", '{"filters":[{"field":"riskScore","operator":"GREATER_THAN",'
                                                       '"value":$}],"page":$,"size":$}'),
                           ("/api/controls/v1/controls/pages", '{"page":$,"size":$}'),
                           ("/api/risk/v2/risks", '{"name":"r","probabilityLevelId":$,"riskScore":$}')):
        _ok(s.post(sb.url + path, data=_raw(template, value), headers={"Content-Type": "application/json"}, timeout=10))


@pytest.mark.parametrize("value", ["9" * 5000, "9" * 20, "-1", "1e999", "nan", "\u00b2", "\u0663"],
                         ids=["5000digits", "20digits", "minus1", "1e999", "nan", "superscript2", "arabic3"])
def test_gdrive_generate_ids_count(drive, value):
    """Before: files/generateIds?count=<5,000 digits> answered 500 (isdecimal() then int()'s ValueError)."""
    sb, s, _ = drive
    r = _ok(s.get(f"{sb.url}/drive/v3/files/generateIds", params={"count": value}, timeout=10))
    assert r.status_code == 400 and r.json()["error"]["errors"][0]["location"] == "count", r.text[:200]
