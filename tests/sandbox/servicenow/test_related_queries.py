"""Encoded queries across tables: JOIN, RLQUERY and SUBQUERY, through pysnc 1.2.1 (add_join_query,
add_rl_query) and plain requests, against expectations computed from the sandbox's own records."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pysnc
import pytest
import requests
from pysnc.exceptions import RequestException

from sandbox.servicenow.query import Condition, Join, parse

AUTH = ("integration.user", "sandbox-password")
NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def env(make_servicenow_sandbox, monkeypatch):
    sb = make_servicenow_sandbox(size=120, tls=True)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sb.ca_bundle)
    monkeypatch.setenv("SSL_CERT_FILE", sb.ca_bundle)
    session = requests.Session()
    session.auth, session.verify = AUTH, sb.ca_bundle
    return sb, pysnc.ServiceNowClient(sb.url, AUTH, verify=sb.ca_bundle), session


def _ids(session, sb, table, query):
    r = session.get(f"{sb.url}/api/now/table/{table}", params={"sysparm_query": query, "sysparm_fields": "sys_id"})
    assert r.status_code == 200, r.text
    return {x["sys_id"] for x in r.json()["result"]}


def _callers(sb, test=lambda i: True):
    return {i["caller_id"] for i in sb.records("incident") if i["caller_id"] and test(i)}


def test_parse_join_and_related_segments():
    q = parse("active=true^JOINsys_user.sys_id=incident.caller_id!priority=1^^ORpriority=2^ORDERBYname", NOW)
    assert q.joins == (Join("sys_user", "sys_id", "incident", "caller_id",
                            ((Condition("priority", "=", "1"), Condition("priority", "=", "2")),)),)
    assert q.blocks == (((Condition("active", "=", "true"),), (Condition("sys_id", "JOIN", "", 0),)),)
    assert q.order == (("name", False),)
    rl = parse("active=true^RLQUERYsys_user_group.manager,>=2,m2m^active=true^ENDRLQUERY^name=x", NOW)
    assert rl.blocks == (((Condition("active", "=", "true"),), (Condition("name", "=", "x"),)),)
    (rel,) = rl.related
    assert (rel.kind, rel.other, rel.other_field, rel.op, rel.count) == ("RL", "sys_user_group", "manager", ">=", 2)
    assert rel.where == (((Condition("active", "=", "true"),),),)
    # the documented comma form of the related-list condition
    assert parse("^RLQUERYincident.problem_id,>=1,priority=1^ENDRLQUERY", NOW).related[0].where == \
        (((Condition("priority", "=", "1"),),),)


def test_pysnc_join_query(env):
    sb, client, _ = env
    gr = client.GlideRecord("sys_user")
    join = gr.add_join_query("incident", join_table_field="caller_id")
    join.add_query("priority", "1")
    assert gr.get_encoded_query() == "JOINsys_user.sys_id=incident.caller_id!priority=1"
    gr.query()
    got = {r.sys_id.get_value() for r in gr}
    expected = _callers(sb, lambda i: i["priority"] == "1")
    assert got == expected and 0 < len(expected) < len(sb.records("sys_user"))
    assert len(gr) == len(expected)


def test_pysnc_join_with_main_conditions(env):
    sb, client, _ = env
    gr = client.GlideRecord("sys_user", batch_size=5)
    gr.add_query("active", "true")
    gr.add_join_query("sys_user_group", join_table_field="manager").add_query("active", "true")
    gr.query()
    managers = {g["manager"] for g in sb.records("sys_user_group") if g["active"] == "true"}
    expected = sorted(u["sys_id"] for u in sb.records("sys_user") if u["active"] == "true" and u["sys_id"] in managers)
    assert [r.sys_id.get_value() for r in gr] == expected and expected


def test_pysnc_rl_query_counts_related_records(env):
    sb, client, _ = env
    gr = client.GlideRecord("sys_user")
    gr.add_query("active", "true")
    gr.add_rl_query("incident", "caller_id", ">=2", False).add_query("active", "true")
    assert gr.get_encoded_query() == "active=true^RLQUERYincident.caller_id,>=2^active=true^ENDRLQUERY^ORDERBYsys_id"
    gr.query()
    counts = Counter(i["caller_id"] for i in sb.records("incident") if i["active"] == "true")
    expected = {u["sys_id"] for u in sb.records("sys_user") if u["active"] == "true" and counts[u["sys_id"]] >= 2}
    assert [r.sys_id.get_value() for r in gr] == sorted(expected) and expected


def test_rl_query_on_attachments_and_its_complement(env):
    sb, client, session = env
    with_files = {a["table_sys_id"] for a in sb.records("sys_attachment")}
    incidents = {i["sys_id"] for i in sb.records("incident")}
    gr = client.GlideRecord("incident")
    gr.add_encoded_query("RLQUERYsys_attachment.table_sys_id,>=1^ENDRLQUERY")
    gr.query()
    have = {r.sys_id.get_value() for r in gr}
    assert have == incidents & with_files and have
    assert _ids(session, sb, "incident", "RLQUERYsys_attachment.table_sys_id,=0^ENDRLQUERY") == incidents - with_files
    assert _ids(session, sb, "incident", "RLQUERYsys_attachment.table_sys_id,<1") == incidents - with_files


def test_or_and_nq_interplay_with_joins(env):
    sb, _, session = env
    users = sb.records("sys_user")
    callers, p1 = _callers(sb), _callers(sb, lambda i: i["priority"] == "1")
    outsider = next(u for u in users if u["sys_id"] in callers and u["sys_id"] not in p1)
    stranger = next(u for u in users if u["sys_id"] not in callers)
    got = _ids(session, sb, "sys_user",
               f"name={outsider['name']}^ORJOINsys_user.sys_id=incident.caller_id!priority=1")
    assert got == p1 | {outsider["sys_id"]}
    # the join applies even to the ^OR'ed name: a user who called nothing is not returned
    assert stranger["sys_id"] not in _ids(session, sb, "sys_user",
                                          f"name={stranger['name']}^ORJOINsys_user.sys_id=incident.caller_id!priority=1")
    managers = {g["manager"] for g in sb.records("sys_user_group") if g["manager"]}
    active_mgrs = {g["manager"] for g in sb.records("sys_user_group") if g["manager"] and g["active"] == "true"}
    got = _ids(session, sb, "sys_user", "JOINsys_user.sys_id=incident.caller_id!priority=1"
                                        "^NQJOINsys_user.sys_id=sys_user_group.manager!active=true")
    assert got == (callers & managers) & (p1 | active_mgrs)
    # ^^ separates AND'ed conditions on the joined table; a single ^ returns to the queried table
    both = _callers(sb, lambda i: i["priority"] == "1" and i["active"] == "true")
    assert _ids(session, sb, "sys_user", "JOINsys_user.sys_id=incident.caller_id!priority=1^^active=true") == both
    active_users = {u["sys_id"] for u in users if u["active"] == "true"}
    assert _ids(session, sb, "sys_user", "JOINsys_user.sys_id=incident.caller_id!priority=1^active=true") == \
        p1 & active_users


def test_subquery_and_aggregate_api(env):
    sb, _, session = env
    assignees = {i["assigned_to"] for i in sb.records("incident") if i["active"] == "true" and i["assigned_to"]}
    assert _ids(session, sb, "sys_user", "SUBQUERYsys_id,assigned_to,incident^active=true^ENDSUBQUERY") == assignees
    rl = "RLQUERYincident.caller_id,>=1,priority=1^ENDRLQUERY"
    r = session.get(f"{sb.url}/api/now/stats/sys_user", params={"sysparm_query": rl, "sysparm_count": "true"})
    p1_callers = _callers(sb, lambda i: i["priority"] == "1")
    assert r.status_code == 200 and r.json()["result"]["stats"]["count"] == str(len(p1_callers))


def test_results_follow_writes_to_the_joined_table(env):
    sb, _, session = env
    query = "JOINsys_user.sys_id=incident.caller_id!priority=1"
    before = _ids(session, sb, "sys_user", query)
    newcomer = next(u for u in sb.records("sys_user") if u["sys_id"] not in before)
    r = session.post(f"{sb.url}/api/now/table/incident",
                     json={"short_description": "join probe", "caller_id": newcomer["sys_id"], "priority": "1"})
    assert r.status_code == 201, r.text
    assert _ids(session, sb, "sys_user", query) == before | {newcomer["sys_id"]}


@pytest.mark.parametrize(("query", "needle"), [
    ("JOINsys_user_group.sys_id=incident.assignment_group!active=true", "chained joins"),
    ("JOINsys_user.sys_id=nope.caller_id!", "unknown table 'nope'"),
    ("JOINsys_user.sys_id=incident.nope!", "no field 'nope'"),
    ("JOINsys_user.sys_id=incident.caller_id", "the ! is required"),
    ("RLQUERYincident.caller_id,>=x^ENDRLQUERY", "RLQUERY<table>.<field>"),
    ("RLQUERYincident.caller_id,>=1^JOINincident.sys_id=task.parent!^ENDRLQUERY", "cannot be nested"),
])
def test_unsupported_or_malformed_segments_answer_400(env, query, needle):
    sb, client, session = env
    r = session.get(f"{sb.url}/api/now/table/sys_user", params={"sysparm_query": query})
    assert r.status_code == 400
    body = r.json()
    assert body["status"] == "failure" and body["error"]["message"] == "Invalid encoded query"
    assert needle in body["error"]["detail"]
    gr = client.GlideRecord("sys_user")
    gr.add_encoded_query(query)
    with pytest.raises(RequestException):
        gr.query()
