"""Round 32: ServiceNow's REST API rate limit rules (`sys_rate_limit_rules`) in the sandbox.

An admin's rule caps one caller's requests per hour to one REST API: each request it applies to answers
X-RateLimit-Limit / X-RateLimit-Reset / X-RateLimit-Rule, and past the limit the request is not run and
answers 429 with Retry-After (seconds to the reset) and the documented error body. Before this round the
table did not exist (400 "Invalid table") and nothing was ever limited. pysnc (its urllib3 Retry honours
Retry-After on a 429) recovers by itself once the hour turns.
"""

from __future__ import annotations

import base64
import json
import time

import pysnc
import pytest
import requests

ADMIN = ("r32rl.admin", "R32-admin-pw")
AUTH = ("integration.user", "sandbox-password")
RULES = "/api/now/table/sys_rate_limit_rules"


@pytest.fixture
def sb(make_servicenow_sandbox):
    sandbox = make_servicenow_sandbox(size=20)
    sandbox.add_user(*ADMIN, roles=("admin",))
    return sandbox


def _session(sb, auth=AUTH) -> requests.Session:
    s = requests.Session()
    s.auth, s.headers["Accept"] = auth, "application/json"
    return s


def _rule(sb, **fields) -> str:
    got = _session(sb, ADMIN).post(sb.url + RULES, json=fields)
    assert got.status_code == 201, got.text
    return got.json()["result"]["sys_id"]


def _reset_of(sb) -> int:
    now = int(sb.clock.now().timestamp())
    return now - now % 3600 + 3600


def test_a_table_api_rule_limits_the_hour_with_headers_429_and_the_documented_body(sb):
    rule = _rule(sb, name="Table API cap", rest_api="Table API", rate_limit="3", type="all")
    s = _session(sb)
    url = sb.url + "/api/now/table/incident"
    for _ in range(3):
        ok = s.get(url, params={"sysparm_limit": "1", "sysparm_fields": "number"})
        assert ok.status_code == 200, ok.text
        assert ok.headers["X-RateLimit-Limit"] == "3" and ok.headers["X-RateLimit-Rule"] == rule
        assert int(ok.headers["X-RateLimit-Reset"]) == _reset_of(sb)
    before = len(sb.records("incident"))
    refused = s.post(url, json={"short_description": "r32 over the limit"})
    assert refused.status_code == 429
    assert refused.json() == {"error": {"message": "Rate limit exceeded",
                                        "detail": "Rate limit of 3 requests per hour for Table API exceeded"},
                              "status": "failure"}
    assert refused.headers["X-RateLimit-Limit"] == "3" and refused.headers["X-RateLimit-Rule"] == rule
    wait = int(refused.headers["Retry-After"])
    assert 1 <= wait <= 3600 and abs(wait - (_reset_of(sb) - int(sb.clock.now().timestamp()))) <= 2
    assert len(sb.records("incident")) == before, "a refused write is not run"
    # one rule, one API: the Aggregate API is not limited and carries no rate limit headers
    stats = s.get(sb.url + "/api/now/stats/incident", params={"sysparm_count": "true"})
    assert stats.status_code == 200 and "X-RateLimit-Limit" not in stats.headers
    # the refusals are recorded, one violation row for the rule, user and hour
    s.get(url, params={"sysparm_limit": "1"})
    violations = sb.records("sys_rate_limit_violations")
    assert [(v["rule"], v["rest_api"], v["count"]) for v in violations] == [(rule, "Table API", "2")]
    # the next hour starts a new count
    sb.clock.advance(_reset_of(sb) - sb.clock.now().timestamp() + 1)
    again = s.get(url, params={"sysparm_limit": "1"})
    assert again.status_code == 200 and int(again.headers["X-RateLimit-Reset"]) == _reset_of(sb)


def test_rules_apply_by_user_role_and_method_and_the_most_specific_one_wins(sb):
    itil = sb.add_user("r32rl.itil", "R32-itil-pw", roles=("itil",))
    everyone = _rule(sb, name="all users", rest_api="Table API", rate_limit="50", type="all")
    mine = _rule(sb, name="integration user", rest_api="Table API", rate_limit="2", type="user",
                 user=_user_id(sb, AUTH[0]))
    writes = _rule(sb, name="itil writes", rest_api="Table API", rate_limit="1", type="role", role="itil",
                   http_method="POST")
    url = sb.url + "/api/now/table/incident"
    me, other = _session(sb), _session(sb, ("r32rl.itil", "R32-itil-pw"))
    assert [me.get(url, params={"sysparm_limit": "1"}).status_code for _ in range(3)] == [200, 200, 429]
    got = other.get(url, params={"sysparm_limit": "1"})
    assert got.status_code == 200 and got.headers["X-RateLimit-Rule"] == everyone  # a GET: the role rule is POST only
    first = other.post(url, json={"short_description": "r32 itil write", "caller_id": itil["sys_id"]})
    assert first.status_code == 201 and first.headers["X-RateLimit-Rule"] == writes
    second = other.post(url, json={"short_description": "r32 itil write 2", "caller_id": itil["sys_id"]})
    assert second.status_code == 429 and second.headers["X-RateLimit-Rule"] == writes
    assert me.get(url, params={"sysparm_limit": "1"}).headers["X-RateLimit-Rule"] == mine
    # an inactive rule is not applied
    admin = _session(sb, ADMIN)
    assert admin.patch(f"{sb.url}{RULES}/{mine}", json={"active": "false"}).status_code == 200
    back = me.get(url, params={"sysparm_limit": "1"})
    assert back.status_code == 200 and back.headers["X-RateLimit-Rule"] == everyone


def _user_id(sb, user_name: str) -> str:
    return next(u["sys_id"] for u in sb.records("sys_user") if u["user_name"] == user_name)


def test_unauthenticated_calls_and_batch_items_are_not_counted_and_rules_are_admin_only(sb):
    _rule(sb, name="tiny", rate_limit="2", type="all")  # no rest_api: every REST API
    url = sb.url + "/api/now/table/incident"
    for _ in range(3):
        assert requests.get(url, headers={"Accept": "application/json"}).status_code == 401
    batch = {"batch_request_id": "r32", "rest_requests": [
        {"id": str(n), "method": "GET", "url": "/api/now/table/incident?sysparm_limit=1",
         "headers": [{"name": "Accept", "value": "application/json"}]} for n in range(4)]}
    s = _session(sb)
    got = s.post(sb.url + "/api/now/v1/batch", json=batch)
    assert got.status_code == 200 and got.headers["X-RateLimit-Limit"] == "2"
    assert sorted(r["status_code"] for r in got.json()["serviced_requests"]) == [200] * 4
    assert all(json.loads(base64.b64decode(r["body"]))["result"] for r in got.json()["serviced_requests"])
    assert s.get(url, params={"sysparm_limit": "1"}).status_code == 200  # the second request of the hour
    assert s.get(sb.url + "/api/now/attachment").status_code == 429  # the third, another API: same rule
    # a caller without admin neither sees nor writes the rules (as sys_properties); the admin routes clear them
    assert requests.delete(sb.url + "/_sandbox/servicenow/rate_limits").status_code == 204
    assert "X-RateLimit-Limit" not in s.get(url, params={"sysparm_limit": "1"}).headers
    _rule(sb, name="kept", rest_api="Batch API", rate_limit="5", type="all")
    listed = s.get(sb.url + RULES)
    assert listed.status_code == 200 and listed.json()["result"] == []
    assert s.post(sb.url + RULES, json={"name": "mine", "rate_limit": "100000"}).status_code == 403
    assert [r["name"] for r in requests.get(sb.url + "/_sandbox/servicenow/rate_limits").json()["rules"]] == ["kept"]
    admin_route = sb.url + "/_sandbox/servicenow/rate_limits"
    assert requests.post(admin_route, json={"name": "bad", "rate_limit": "-1"}).status_code == 400
    added = requests.post(admin_route, json={"name": "via admin", "rest_api": "Table API", "rate_limit": 1})
    assert added.status_code == 201 and added.json()["rate_limit"] == "1"
    assert s.get(url).status_code == 200 and s.get(url).status_code == 429


def test_pysnc_waits_out_retry_after_and_reads_once_the_hour_turns(make_servicenow_sandbox, monkeypatch):
    sb = make_servicenow_sandbox(size=20, tls=True)  # pysnc refuses http://
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sb.ca_bundle)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    sb.add_user(*ADMIN, roles=("admin",))
    s = _session(sb, ADMIN)
    s.verify = sb.ca_bundle
    assert s.post(sb.url + RULES, json={"name": "one an hour", "rest_api": "Table API", "rate_limit": "1",
                                        "type": "user", "user": _user_id(sb, AUTH[0])}).status_code == 201
    client = pysnc.ServiceNowClient(sb.url, AUTH, verify=sb.ca_bundle)
    first = client.GlideRecord("incident")
    assert first.get(sb.records("incident")[0]["sys_id"])  # the hour's one request
    sb.clock.advance(_reset_of(sb) - sb.clock.now().timestamp() - 3)  # three seconds before the hour turns
    started = time.monotonic()
    gr = client.GlideRecord("incident", batch_size=50)
    gr.query()  # 429 + Retry-After: 3 (or less), which pysnc's retry waits out; then the new hour's first request
    assert len(gr) == len(sb.records("incident")) == sum(1 for _ in gr)
    statuses = [e["status"] for e in sb.request_log if e["path"] == "/api/now/table/incident"]
    assert statuses[-1] == 200 and set(statuses) <= {200, 429}, statuses
    # a machine so loaded that the query went out after the hour turned sees no 429: nothing else to check then
    assert statuses[0] == 429 or time.monotonic() - started >= 3, statuses


def test_a_table_rule_limits_its_table_only_two_role_rules_give_the_lower_and_a_new_limit_recounts(sb):
    sb.add_user("r32rl.both", "R32-both-pw", roles=("itil", "asset"))
    on_incident = _rule(sb, name="incidents", rest_api="Table API", table="incident", rate_limit="1", type="all")
    by_itil = _rule(sb, name="itil", rest_api="Attachment API", rate_limit="5", type="role", role="itil")
    by_asset = _rule(sb, name="asset", rest_api="Attachment API", rate_limit="2", type="role", role="asset")
    s, both = _session(sb), _session(sb, ("r32rl.both", "R32-both-pw"))
    incidents, problems = sb.url + "/api/now/table/incident", sb.url + "/api/now/v2/table/problem"
    assert s.get(incidents, params={"sysparm_limit": "1"}).status_code == 200
    assert s.get(incidents, params={"sysparm_limit": "1"}).status_code == 429
    other = s.get(problems, params={"sysparm_limit": "1"})
    assert other.status_code == 200 and "X-RateLimit-Rule" not in other.headers
    got = [both.get(sb.url + "/api/now/attachment", params={"sysparm_limit": "1"}) for _ in range(3)]
    assert [g.status_code for g in got] == [200, 200, 429]
    assert {g.headers["X-RateLimit-Rule"] for g in got} == {by_asset} != {by_itil}
    # a new limit starts the hour's count again
    admin = _session(sb, ADMIN)
    assert admin.patch(f"{sb.url}{RULES}/{on_incident}", json={"rate_limit": "2"}).status_code == 200
    assert [s.get(incidents, params={"sysparm_limit": "1"}).status_code for _ in range(3)] == [200, 200, 429]
