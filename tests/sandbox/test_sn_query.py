"""Encoded-query parsing (pure) and evaluation over HTTP against Python-computed expectations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sandbox.servicenow.query import Condition, parse, resolve_value

NOW = datetime(2026, 11, 1, 12, 30, tzinfo=UTC)


def test_parse_and_or_nq_orderby():
    q = parse("active=true^priority=1^ORpriority=2^NQstate=8^ORDERBYnumber^ORDERBYDESCsys_id^EQ", NOW)
    assert q.blocks == (
        ((Condition("active", "=", "true"),),
         (Condition("priority", "=", "1"), Condition("priority", "=", "2"))),
        ((Condition("state", "=", "8"),),),
    )
    assert q.order == (("number", False), ("sys_id", True))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stateNOT IN6,7", Condition("state", "NOT IN", "6,7")),
        ("stateIN1,2", Condition("state", "IN", "1,2")),
        ("short_descriptionNOTLIKEvpn", Condition("short_description", "NOTLIKE", "vpn")),
        ("numberSTARTSWITHINC", Condition("number", "STARTSWITH", "INC")),
        ("numberENDSWITH01", Condition("number", "ENDSWITH", "01")),
        ("assigned_toISEMPTY", Condition("assigned_to", "ISEMPTY", "")),
        ("assigned_toISNOTEMPTY", Condition("assigned_to", "ISNOTEMPTY", "")),
        ("priority!=1", Condition("priority", "!=", "1")),
        ("priority>=2", Condition("priority", ">=", "2")),
        ("priority<=2", Condition("priority", "<=", "2")),
        ("sys_updated_on>2026-01-01 00:00:00", Condition("sys_updated_on", ">", "2026-01-01 00:00:00")),
        ("caller_id.user_name=abel.tuter", Condition("caller_id.user_name", "=", "abel.tuter")),
    ],
)
def test_parse_operators(text, expected):
    assert parse(text, NOW).blocks == (((expected,),),)


def test_parse_caret_escape_and_garbage_ignored():
    q = parse("short_description=a^^b^%%%^^ORDERBY", NOW)
    assert q.blocks == (((Condition("short_description", "=", "a^b"),),),)


def test_javascript_values_resolve_to_utc_literals():
    assert resolve_value("javascript:gs.dateGenerate('2026-01-02','03:04:05')", NOW) == "2026-01-02 03:04:05"
    assert resolve_value("javascript:gs.minutesAgoStart(30)", NOW) == "2026-11-01 12:00:00"
    assert resolve_value("javascript:gs.daysAgoStart(1)", NOW) == "2026-10-31 00:00:00"
    assert resolve_value("plain", NOW) == "plain"


def _numbers(session, sb, query, table="incident"):
    r = session.get(f"{sb.url}/api/now/table/{table}", params={"sysparm_query": query,
                                                               "sysparm_fields": "number,sys_id"})
    assert r.status_code == 200, r.text
    assert int(r.headers["X-Total-Count"]) == len(r.json()["result"])
    return [x["number"] for x in r.json()["result"]]


CASES = [
    ("priority=1", lambda r: r["priority"] == "1"),
    ("priority!=1", lambda r: r["priority"] != "1"),
    ("priority>3", lambda r: int(r["priority"]) > 3),
    ("priority<=2", lambda r: int(r["priority"]) <= 2),
    ("stateIN6,7", lambda r: r["state"] in ("6", "7")),
    ("stateNOT IN6,7", lambda r: r["state"] not in ("6", "7")),
    ("short_descriptionLIKEvpn", lambda r: "vpn" in r["short_description"].lower()),
    ("short_descriptionNOTLIKEvpn", lambda r: "vpn" not in r["short_description"].lower()),
    ("short_descriptionSTARTSWITHunable", lambda r: r["short_description"].lower().startswith("unable")),
    ("short_descriptionENDSWITHdown", lambda r: r["short_description"].lower().endswith("down")),
    ("assigned_toISEMPTY", lambda r: r["assigned_to"] == ""),
    ("assigned_toISNOTEMPTY", lambda r: r["assigned_to"] != ""),
    ("priority=1^ORpriority=2^active=true", lambda r: r["priority"] in ("1", "2") and r["active"] == "true"),
    ("priority=1^NQstate=8", lambda r: r["priority"] == "1" or r["state"] == "8"),
    ("sys_updated_on>=javascript:gs.dateGenerate('2026-09-01','00:00:00')",
     lambda r: r["sys_updated_on"] >= "2026-09-01 00:00:00"),
    ("sys_updated_on<2026-08-01 00:00:00^priority=4", lambda r: r["sys_updated_on"] < "2026-08-01 00:00:00"
     and r["priority"] == "4"),
    ("no_such_field=1^priority=2", lambda r: r["priority"] == "2"),  # unknown fields are ignored
]


@pytest.mark.parametrize(("query", "keep"), CASES, ids=[c[0] for c in CASES])
def test_filters_match_python(servicenow_sandbox, sn_session, query, keep):
    expected = [r["number"] for r in servicenow_sandbox.records("incident") if keep(r)]
    assert expected, "the seed data should make every case non-trivial"
    assert _numbers(sn_session, servicenow_sandbox, query) == expected  # default order = insertion order


def test_ordering_desc_and_multi_key(servicenow_sandbox, sn_session):
    recs = servicenow_sandbox.records("incident")
    got = _numbers(sn_session, servicenow_sandbox, "ORDERBYDESCpriority^ORDERBYnumber")
    expected = [r["number"] for r in sorted(recs, key=lambda r: (-int(r["priority"]), r["number"]))]
    assert got == expected


def test_dot_walk_and_equality_params(servicenow_sandbox, sn_session):
    sb = servicenow_sandbox
    users = {u["sys_id"]: u["user_name"] for u in sb.records("sys_user")}
    first = sb.records("incident")[0]
    login = users[first["caller_id"]]
    got = _numbers(sn_session, sb, f"caller_id.user_name={login}")
    assert got == [r["number"] for r in sb.records("incident") if users.get(r["caller_id"]) == login]
    r = sn_session.get(f"{sb.url}/api/now/table/incident", params={"priority": "1", "active": "true"})
    expected = [x for x in sb.records("incident") if x["priority"] == "1" and x["active"] == "true"]
    assert r.headers["X-Total-Count"] == str(len(expected))


def test_task_view_unions_children(servicenow_sandbox, sn_session):
    sb = servicenow_sandbox
    r = sn_session.get(f"{sb.url}/api/now/table/task", params={"sysparm_query": "sys_class_name=change_request"})
    assert r.headers["X-Total-Count"] == str(len(sb.records("change_request")))
    classes = {x["sys_class_name"] for x in sb.records("task")}
    assert {"incident", "change_request", "sc_request", "sc_task"} <= classes
    one = r.json()["result"][0]
    assert "type" not in one and "number" in one  # parent table shows base task fields only
