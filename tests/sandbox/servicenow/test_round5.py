"""Round 5 of probes with pysnc 1.2.1 and plain requests: catalog tasks linked to their requested
items, the Table API in XML, the JSONv2 processor, journal fields and CMDB class tables."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest
import requests


@pytest.fixture
def client(pysnc_client):
    return pysnc_client(200)


def test_catalog_tasks_link_to_their_requested_item(client, sn_session):
    sb, c = client
    ritms = {r["sys_id"]: r for r in sb.records("sc_req_item")}
    tasks = sb.records("sc_task")
    assert tasks and all(ritms[t["request_item"]]["request"] == t["request"] for t in tasks)
    gr = c.GlideRecord("sc_task")
    gr.add_query("request_item.number", ritms[tasks[3]["request_item"]]["number"])
    gr.query()
    assert gr.next() and gr.number.get_value() == tasks[3]["number"]
    assert gr.request_item.get_display_value() == ritms[tasks[3]["request_item"]]["number"]
    ritm = c.GlideRecord("sc_req_item")
    ritm.add_join_query("sc_task", join_table_field="request_item")
    ritm.query()
    assert len(ritm) == len(ritms)
    sn_session.verify = sb.ca_bundle
    r = sn_session.get(f"{sb.url}/api/now/table/sc_task", params={
        "sysparm_fields": "number,request_item,request_item.cat_item", "sysparm_display_value": "true",
        "sysparm_limit": 1})
    [row] = r.json()["result"]
    first = ritms[tasks[0]["request_item"]]
    assert row["request_item"]["display_value"] == first["number"]
    assert row["request_item.cat_item"]["display_value"] == first["short_description"]


def test_table_api_answers_and_reads_xml(client, sn_session):
    sb, _ = client
    sn_session.verify = sb.ca_bundle
    xml = {"Accept": "application/xml"}
    url = f"{sb.url}/api/now/table/incident"
    rec = next(r for r in sb.records("incident") if r["assigned_to"] and not r["parent"])
    r = sn_session.get(url, params={"sysparm_query": f"number={rec['number']}",
                                    "sysparm_fields": "number,assigned_to,parent,state"}, headers=xml)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/xml")
    assert r.headers["X-Total-Count"] == "1"
    root = ElementTree.fromstring(r.content)
    [result] = root.findall("result")
    assert (root.tag, result.findtext("number"), result.findtext("state")) == ("response", rec["number"], rec["state"])
    assert result.find("assigned_to/value").text == rec["assigned_to"]
    assert result.find("assigned_to/link").text.endswith(f"/api/now/table/sys_user/{rec['assigned_to']}")
    assert result.find("parent").text is None and len(result.find("parent")) == 0
    r = sn_session.get(url, params={"sysparm_limit": 3, "sysparm_fields": "number,state",
                                    "sysparm_display_value": "all"}, headers=xml)
    results = ElementTree.fromstring(r.content).findall("result")
    assert len(results) == 3 and results[0].find("state/display_value").text
    r = sn_session.get(f"{url}/{'0' * 32}", headers=xml)
    error = ElementTree.fromstring(r.content)
    assert r.status_code == 404 and error.findtext("error/message") == "No Record found"
    assert error.findtext("status") == "failure"
    body = "<request><entry><short_description>Printer &amp; scanner down</short_description>" \
           "<urgency>1</urgency></entry></request>"
    r = sn_session.post(url, data=body, headers={**xml, "Content-Type": "application/xml"})
    created = ElementTree.fromstring(r.content).find("result")
    assert r.status_code == 201 and created.findtext("short_description") == "Printer & scanner down"
    assert sb.get("incident", created.findtext("sys_id"))["urgency"] == "1"
    r = sn_session.get(f"{sb.url}/api/now/stats/incident", params={"sysparm_count": "true"}, headers=xml)
    assert ElementTree.fromstring(r.content).findtext("result/stats/count") == str(len(sb.records("incident")))
    r = sn_session.get(url, params={"sysparm_limit": 1}, headers={"Accept": "application/json"})
    assert r.json()["result"]


def test_jsonv2_processor_reads_and_writes(client, sn_session):
    sb, _ = client
    sn_session.verify = sb.ca_bundle
    url = f"{sb.url}/incident.do?JSONv2"
    p1 = sorted((r for r in sb.records("incident") if r["priority"] == "1"), key=lambda r: r["number"])
    r = sn_session.get(url, params={"sysparm_action": "getRecords", "sysparm_query": "priority=1^ORDERBYnumber",
                                    "sysparm_record_count": 2})
    records = r.json()["records"]
    assert r.status_code == 200 and [x["number"] for x in records] == [x["number"] for x in p1[:2]]
    assert records[0]["assignment_group"] == p1[0]["assignment_group"]  # a reference is its sys_id
    r = sn_session.get(url, params={"sysparm_action": "getKeys", "sysparm_query": "priority=1"})
    assert sorted(r.json()["records"]) == sorted(x["sys_id"] for x in p1)
    r = sn_session.get(url, params={"sysparm_action": "get", "sysparm_sys_id": p1[0]["sys_id"], "displayvalue": "all"})
    [rec] = r.json()["records"]
    assert (rec["priority"], rec["dv_priority"]) == ("1", "1 - Critical")
    r = sn_session.get(url, params={"sysparm_sys_id": p1[1]["sys_id"]}, headers={"Accept": "application/xml"})
    assert [x["number"] for x in r.json()["records"]] == [p1[1]["number"]]  # no action: get; JSON whatever Accept
    r = sn_session.post(f"{url}&sysparm_action=insert", json={"short_description": "Badge reader offline"})
    sys_id = r.json()["records"][0]["sys_id"]
    assert sb.get("incident", sys_id)["short_description"] == "Badge reader offline"
    r = sn_session.post(f"{url}&sysparm_action=update&sysparm_sys_id={sys_id}", json={"state": "2"})
    assert r.json()["records"][0]["state"] == "2" == sb.get("incident", sys_id)["state"]
    r = sn_session.post(f"{url}&sysparm_action=insertMultiple", json={"records": [{"short_description": "a"},
                                                                                  {"short_description": "b"}]})
    assert [x["short_description"] for x in r.json()["records"]] == ["a", "b"]
    r = sn_session.post(f"{url}&sysparm_action=deleteMultiple", params={"sysparm_query": "short_descriptionINa,b"})
    assert len(r.json()["records"]) == 2
    assert not any(x["short_description"] in ("a", "b") for x in sb.records("incident"))
    r = sn_session.post(f"{url}&sysparm_action=deleteRecord&sysparm_sys_id={sys_id}")
    assert r.json()["records"][0]["sys_id"] == sys_id and sb.get("incident", sys_id) is None
    assert requests.get(url, verify=sb.ca_bundle).status_code == 401


def test_journal_fields_take_entries(client, sn_session):
    sb, c = client
    sn_session.verify = sb.ca_bundle
    url = f"{sb.url}/api/now/table/incident"
    sid = sb.records("incident")[7]["sys_id"]
    r = sn_session.patch(f"{url}/{sid}", json={"work_notes": "checked the logs"},
                         params={"sysparm_fields": "work_notes"})
    assert r.json()["result"] == {"work_notes": ""}  # a journal field's raw value is empty
    sb.clock.advance(60)
    gr = c.GlideRecord("incident")
    assert gr.get(sid)
    gr.work_notes = "restarted the service"
    gr.comments = "Fixed, please confirm"
    gr.update()
    r = sn_session.get(f"{url}/{sid}", params={"sysparm_fields": "work_notes,comments", "sysparm_display_value": "all"})
    notes, comments = r.json()["result"]["work_notes"], r.json()["result"]["comments"]
    assert notes["value"] == comments["value"] == ""
    first, second = notes["display_value"].split("\n\n")[:2]
    assert first.endswith(" - Integration User (Work notes)\nrestarted the service")
    assert second.endswith(" - Integration User (Work notes)\nchecked the logs") and first > second
    assert comments["display_value"].endswith("(Additional comments)\nFixed, please confirm\n\n")
    journal = c.GlideRecord("sys_journal_field")
    journal.add_query("element_id", sid)
    journal.order_by("sys_created_on")
    journal.query()
    rows = [(j.element.get_value(), j.name.get_value(), j.value.get_value()) for j in journal]
    assert rows[0] == ("work_notes", "incident", "checked the logs") and len(rows) == 3
    assert {x[2] for x in rows[1:]} == {"restarted the service", "Fixed, please confirm"}


def test_cmdb_class_tables_show_the_cis_of_their_class_family(client, sn_session):
    sb, c = client
    sn_session.verify = sb.ca_bundle
    cis = sb.records("cmdb_ci")
    servers = {r["sys_id"] for r in cis if r["sys_class_name"] in (
        "cmdb_ci_server", "cmdb_ci_linux_server", "cmdb_ci_win_server")}
    gr = c.GlideRecord("cmdb_ci_server")
    gr.query()
    assert {x.sys_id.get_value() for x in gr} == servers and servers
    unowned = c.GlideRecord("cmdb_ci_server")
    unowned.add_null_query("owned_by")
    unowned.query()
    assert len(unowned) == sum(1 for r in cis if r["sys_id"] in servers and not r["owned_by"])
    r = sn_session.get(f"{sb.url}/api/now/table/cmdb_ci", params={
        "sysparm_query": "sys_class_nameINSTANCEOFcmdb_ci_hardware", "sysparm_fields": "sys_class_name"})
    assert {x["sys_class_name"] for x in r.json()["result"]} == {
        "cmdb_ci_server", "cmdb_ci_linux_server", "cmdb_ci_win_server", "cmdb_ci_computer", "cmdb_ci_netgear"}
    linux = next(r for r in cis if r["sys_class_name"] == "cmdb_ci_linux_server")
    url = f"{sb.url}/api/now/table"
    assert sn_session.get(f"{url}/cmdb_ci_server/{linux['sys_id']}").json()["result"]["name"] == linux["name"]
    assert sn_session.get(f"{url}/cmdb_ci_appl/{linux['sys_id']}").status_code == 404
    r = sn_session.post(f"{url}/cmdb_ci_linux_server", json={"name": "lnx-new-01"})
    new = r.json()["result"]
    assert r.status_code == 201 and sb.get("cmdb_ci", new["sys_id"])["sys_class_name"] == "cmdb_ci_linux_server"
    r = sn_session.get(f"{sb.url}/api/now/stats/cmdb_ci_server", params={"sysparm_count": "true"})
    assert r.json()["result"]["stats"]["count"] == str(len(servers) + 1)
