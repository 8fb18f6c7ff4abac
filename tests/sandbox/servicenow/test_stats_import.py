"""The Aggregate API (/api/now/stats) and the Import Set API (/api/now/import) as the REST API Explorer
documents them, called with requests; the staging rows and targets read back with pysnc 1.2.1."""

from __future__ import annotations

from collections import Counter

import pysnc
import pytest

from sandbox.servicenow import REMEDIATION_TABLE

AUTH = ("integration.user", "sandbox-password")


@pytest.fixture
def sb(make_servicenow_sandbox):
    return make_servicenow_sandbox(size=60)


def test_count_and_aggregates_without_grouping(sb, sn_session):
    url = f"{sb.url}/api/now/stats/incident"
    rows = sb.records("incident")
    assert sn_session.get(url, params={"sysparm_count": "true"}).json() == {"result": {"stats": {"count": "60"}}}
    active = [r for r in rows if r["active"] == "true"]
    got = sn_session.get(url, params={"sysparm_query": "active=true", "sysparm_count": "true",
                                      "sysparm_avg_fields": "priority", "sysparm_max_fields": "opened_at,priority",
                                      "sysparm_sum_fields": "reassignment_count", "sysparm_min_fields": "nosuch"})
    stats = got.json()["result"]["stats"]
    assert stats["count"] == str(len(active))
    assert stats["avg"] == {"priority": f"{sum(int(r['priority']) for r in active) / len(active):.4f}"}
    assert stats["max"] == {"opened_at": max(r["opened_at"] for r in active),
                            "priority": str(max(int(r["priority"]) for r in active))}
    assert stats["sum"] == {"reassignment_count": str(sum(int(r["reassignment_count"]) for r in active))}
    assert "min" not in stats  # unknown fields are ignored
    # name=value pairs filter like sysparm_query; nothing asked, nothing computed
    assert sn_session.get(url, params={"active": "false", "sysparm_count": "true"}).json()["result"]["stats"] == {
        "count": str(len(rows) - len(active))}
    assert sn_session.get(url).json() == {"result": {"stats": {}}}


def test_group_by_having_order_and_display_values(sb, sn_session):
    url = f"{sb.url}/api/now/stats/incident"
    by_priority = Counter(r["priority"] for r in sb.records("incident"))
    grouped = sn_session.get(url, params={"sysparm_count": "true", "sysparm_group_by": "priority"}).json()["result"]
    assert [(g["groupby_fields"], g["stats"]["count"]) for g in grouped] == [
        ([{"value": p, "field": "priority"}], str(n)) for p, n in sorted(by_priority.items())]
    busiest = sn_session.get(url, params={"sysparm_count": "true", "sysparm_group_by": "priority",
                                          "sysparm_order_by": "COUNT^DESC", "sysparm_having": "count^sys_id^>^4",
                                          "sysparm_display_value": "all"}).json()["result"]
    want = sorted(((n, p) for p, n in by_priority.items() if n > 4), key=lambda x: -x[0])
    assert [int(g["stats"]["count"]) for g in busiest] == [n for n, _ in want]
    assert busiest[0]["groupby_fields"][0]["display_value"].startswith(busiest[0]["groupby_fields"][0]["value"])
    labels = sn_session.get(url, params={"sysparm_count": "true", "sysparm_group_by": "assignment_group",
                                         "sysparm_display_value": "true"}).json()["result"]
    groups = {g["sys_id"]: g["name"] for g in sb.records("sys_user_group")}
    assert {g["groupby_fields"][0]["value"] for g in labels} <= {*groups.values(), ""}
    task = sn_session.get(f"{sb.url}/api/now/v1/stats/task", params={"sysparm_count": "true",
                                                                      "sysparm_group_by": "sys_class_name"})
    assert {g["groupby_fields"][0]["value"] for g in task.json()["result"]} >= {"incident", "change_request"}


def test_stats_errors_use_the_failure_envelope(sb, sn_session):
    bad = sn_session.get(f"{sb.url}/api/now/stats/nosuch_table", params={"sysparm_count": "true"})
    assert bad.status_code == 400
    assert bad.json() == {"error": {"message": "Invalid table nosuch_table", "detail": None}, "status": "failure"}
    having = sn_session.get(f"{sb.url}/api/now/stats/incident", params={"sysparm_group_by": "priority",
                                                                         "sysparm_having": "count^>^3"})
    assert having.status_code == 400 and having.json()["status"] == "failure"
    anon = sn_session.get(f"{sb.url}/api/now/stats/incident", auth=("integration.user", "wrong"))
    assert anon.status_code == 401 and anon.json()["error"]["message"] == "User Not Authenticated"


def test_import_set_insert_coalesce_and_get(sb, sn_session):
    url = f"{sb.url}/api/now/import/imp_user"
    body = {"first_name": "John", "last_name": "Public", "user_id": "john.public", "email": "john@example.com"}
    made = sn_session.post(url, json=body)
    assert made.status_code == 201
    out = made.json()
    [entry] = out["result"]
    assert out["staging_table"] == "imp_user" and out["import_set"].startswith("ISET")
    assert {k: entry[k] for k in ("transform_map", "table", "display_name", "display_value", "status")} == {
        "transform_map": "User", "table": "sys_user", "display_name": "name", "display_value": "John Public",
        "status": "inserted"}
    assert entry["record_link"] == f"{sb.url}/api/now/table/sys_user/{entry['sys_id']}"
    assert sb.get("sys_user", entry["sys_id"])["user_name"] == "john.public"
    again = sn_session.post(url, json=body).json()
    assert again["import_set"] == out["import_set"]  # synchronous rows share the open import set
    assert (again["result"][0]["status"], again["result"][0]["sys_id"]) == ("ignored", entry["sys_id"])
    changed = sn_session.post(url, json={"user_id": "john.public", "email": "jp@example.com"}).json()["result"][0]
    assert changed["status"] == "updated" and sb.get("sys_user", entry["sys_id"])["email"] == "jp@example.com"

    staged = sb.records("imp_user")
    assert [r["sys_import_state"] for r in staged] == ["inserted", "ignored", "updated"]
    assert [r["sys_import_row"] for r in staged] == ["0", "1", "2"]
    one = sn_session.get(f"{url}/{staged[0]['sys_id']}")
    assert one.status_code == 200 and one.json()["result"][0]["sys_id"] == entry["sys_id"]
    missing = sn_session.get(f"{url}/{'0' * 32}")
    assert missing.status_code == 404 and missing.json()["status"] == "failure"


def test_insert_multiple_transforms_every_record(sb, sn_session):
    caller = sb.records("sys_user")[3]
    url = f"{sb.url}/api/now/import/u_imp_incident/insertMultiple"
    resp = sn_session.post(url, json={"records": [
        {"u_short_description": "disk full", "u_impact": "1 - High", "u_urgency": "1", "u_caller": caller["name"]},
        {"u_short_description": "printer jam", "u_correlation_id": "ext-2", "u_not_a_column": "dropped"}]})
    assert resp.status_code == 201
    ids = resp.json()
    assert set(ids) == {"import_set_id", "multi_import_set_id"}
    iset = sb.get("sys_import_set", ids["import_set_id"])
    assert (iset["state"], iset["mode"], iset["multi_import_set"]) == ("processed", "asynchronous",
                                                                       ids["multi_import_set_id"])
    rows = [r for r in sb.records("u_imp_incident") if r["sys_import_set"] == ids["import_set_id"]]
    made = [sb.get("incident", r["sys_target_sys_id"]) for r in rows]
    assert [r["sys_import_state"] for r in rows] == ["inserted", "inserted"]
    assert (made[0]["impact"], made[0]["priority"], made[0]["caller_id"]) == ("1", "1", caller["sys_id"])
    assert made[1]["correlation_id"] == "ext-2"
    more = sn_session.post(url, params={"multi_import_set_id": ids["multi_import_set_id"]},
                           json={"records": [{"u_number": made[0]["number"], "u_state": "2"}]}).json()
    assert more["multi_import_set_id"] == ids["multi_import_set_id"] and more["import_set_id"] != ids["import_set_id"]
    assert sb.get("incident", made[0]["sys_id"])["state"] == "2"
    for bad in ({"records": []}, {"records": "x"}, [{"u_number": "1"}]):
        r = sn_session.post(url, json=bad)
        assert r.status_code == 400 and r.json()["status"] == "failure"


def test_import_errors(sb, sn_session):
    not_staging = sn_session.post(f"{sb.url}/api/now/import/incident", json={"short_description": "x"})
    assert not_staging.status_code == 400 and "import set table" in not_staging.json()["error"]["message"]
    unknown = sn_session.post(f"{sb.url}/api/now/import/u_nope", json={})
    assert unknown.status_code == 400 and unknown.json()["error"]["message"] == "Invalid table u_nope"
    broken = sn_session.post(f"{sb.url}/api/now/import/imp_user", data="{not json",
                             headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.json()["error"]["message"] == "Exception while reading request"
    assert sn_session.post(f"{sb.url}/api/now/import/imp_user", json={}, auth=("x", "y")).status_code == 401


def test_pysnc_reads_import_results(make_servicenow_sandbox, monkeypatch, sn_session):
    """Staging and import set tables are ordinary tables: pysnc queries them like any other."""
    sb = make_servicenow_sandbox(size=30, tls=True)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sb.ca_bundle)
    sn_session.verify = sb.ca_bundle
    url = f"{sb.url}/api/now/import/u_imp_remediation"
    first = sn_session.post(url, json={"u_correlation_id": "pjx-7", "u_short_description": "rotate keys",
                                       "u_priority": "2 - High"}).json()["result"][0]
    second = sn_session.post(url, json={"u_correlation_id": "pjx-7", "u_state": "Closed Complete"}).json()["result"][0]
    assert (first["status"], second["status"], first["sys_id"]) == ("inserted", "updated", second["sys_id"])
    client = pysnc.ServiceNowClient(sb.url, AUTH, verify=sb.ca_bundle)
    gr = client.GlideRecord(REMEDIATION_TABLE)
    assert gr.get("correlation_id", "pjx-7")
    assert (gr.priority.get_display_value(), gr.state.get_display_value(), gr.active.get_value()) == (
        "2 - High", "Closed Complete", "false")
    staged = client.GlideRecord("u_imp_remediation")
    staged.add_query("sys_target_sys_id", first["sys_id"])
    staged.order_by_desc("sys_import_row")
    staged.query()
    assert [(r.sys_import_row.get_value(), r.sys_import_state.get_display_value()) for r in staged] == [
        ("1", "Updated"), ("0", "Inserted")]
    sets = client.GlideRecord("sys_import_set")
    sets.add_query("table_name", "u_imp_remediation")
    sets.query()
    assert len(sets) == 1 and sets.next() and sets.state.get_display_value() == "Loading"
