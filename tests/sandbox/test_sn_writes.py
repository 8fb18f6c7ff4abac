"""Writes over HTTP and the Python API are stateful and visible in later reads."""

from __future__ import annotations

import re

from sandbox.servicenow import REMEDIATION_TABLE


def test_post_get_patch_delete_cycle(make_servicenow_sandbox, sn_session):
    sb = make_servicenow_sandbox(size=50)
    url = f"{sb.url}/api/now/table/{REMEDIATION_TABLE}"
    created = sn_session.post(url, json={"short_description": "Fix AC-2 failure", "priority": 2,
                                         "correlation_id": "pjx-task-1", "ignored_field": "x"})
    assert created.status_code == 201, created.text
    rec = created.json()["result"]
    assert re.fullmatch(r"[0-9a-f]{32}", rec["sys_id"]) and rec["number"] == "RTASK0010001"
    assert created.headers["Location"] == f"{url}/{rec['sys_id']}"
    assert rec["priority"] == "2" and rec["sys_mod_count"] == "0" and rec["sys_created_by"] == "integration.user"
    assert "ignored_field" not in rec

    back = sn_session.get(created.headers["Location"]).json()["result"]
    assert back["correlation_id"] == "pjx-task-1"
    found = sn_session.get(url, params={"sysparm_query": "correlation_id=pjx-task-1"}).json()["result"]
    assert [x["sys_id"] for x in found] == [rec["sys_id"]]

    sb.clock.advance(5)
    patched = sn_session.patch(created.headers["Location"], json={"state": "3", "sys_updated_on": "1999-01-01"})
    assert patched.status_code == 200
    after = patched.json()["result"]
    assert after["state"] == "3" and after["active"] == "false" and after["closed_at"]
    assert after["sys_mod_count"] == "1" and after["sys_updated_on"] > rec["sys_updated_on"]

    again = sn_session.put(created.headers["Location"], json={"state": "3"}).json()["result"]
    assert again["sys_mod_count"] == "1", "an update that changes nothing is not saved"

    assert sn_session.delete(created.headers["Location"]).status_code == 204
    assert sn_session.get(created.headers["Location"]).status_code == 404
    assert sb.deleted[-1]["sys_id"] == rec["sys_id"]
    audit = sn_session.get(f"{sb.url}/api/now/table/sys_audit_delete",
                           params={"sysparm_query": f"documentkey={rec['sys_id']}"}).json()["result"]
    assert audit[0]["tablename"] == REMEDIATION_TABLE


def test_post_errors_and_no_response_body(make_servicenow_sandbox, sn_session):
    sb = make_servicenow_sandbox(size=20)
    url = f"{sb.url}/api/now/table/incident"
    bad = sn_session.post(url, data="{not json", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and "error" in bad.json()
    quiet = sn_session.post(url, json={"short_description": "quiet"}, headers={"X-no-response-body": "true"})
    assert quiet.status_code == 201 and quiet.content == b"" and quiet.headers["Location"]
    rec = sn_session.get(quiet.headers["Location"]).json()["result"]
    assert rec["number"] == "INC0010021" and rec["state"] == "1" and rec["opened_at"]


def test_incident_business_rules(make_servicenow_sandbox, sn_session):
    sb = make_servicenow_sandbox(size=20)
    rec = sb.insert("incident", {"short_description": "p1", "impact": "1", "urgency": "1"})
    assert rec["priority"] == "1" and rec["active"] == "true"
    url = f"{sb.url}/api/now/table/incident/{rec['sys_id']}"
    resolved = sn_session.patch(url, json={"state": "6"}).json()["result"]
    assert resolved["resolved_at"] and resolved["incident_state"] == "6" and resolved["active"] == "true"
    closed = sn_session.patch(url, json={"state": "7"}).json()["result"]
    assert closed["active"] == "false" and closed["closed_at"]


def test_python_api_touch_delete_records(make_servicenow_sandbox):
    sb = make_servicenow_sandbox(size=100, seed=7)
    before = {r["sys_id"]: r for r in sb.records("incident")}
    touched = sb.touch("incident", n=10)
    assert len(set(touched)) == 10
    after = {r["sys_id"]: r for r in sb.records("incident")}
    for sid in touched:
        assert after[sid]["sys_updated_on"] >= max(r["sys_updated_on"] for r in before.values())
        assert int(after[sid]["sys_mod_count"]) == int(before[sid]["sys_mod_count"]) + 1
        assert after[sid]["description"] != before[sid]["description"]
    untouched = set(before) - set(touched)
    assert all(after[s] == before[s] for s in untouched)
    assert sb.delete("incident", touched[:3]) == 3
    assert len(sb.records("incident")) == 97
    assert {d["sys_id"] for d in sb.deleted} == set(touched[:3])
    # same seed, same sandbox history -> same touched records
    assert make_servicenow_sandbox(size=100, seed=7).touch("incident", n=10) == touched


def test_writes_visible_through_session_fixture_reads(make_servicenow_sandbox, sn_session):
    sb = make_servicenow_sandbox(size=10)
    url = f"{sb.url}/api/now/table/cmdb_ci"
    total = int(sn_session.get(url, params={"sysparm_limit": 1}).headers["X-Total-Count"])
    sb.insert("cmdb_ci", {"name": "new-ci", "owned_by": ""})
    assert int(sn_session.get(url, params={"sysparm_limit": 1}).headers["X-Total-Count"]) == total + 1
    assert sn_session.get(url, params={"name": "new-ci"}).json()["result"][0]["name"] == "new-ci"
