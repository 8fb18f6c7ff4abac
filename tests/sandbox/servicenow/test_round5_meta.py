"""Round 5, metadata: sys_choice, sys_dictionary and sys_db_object (an integration reads them to map
choice values to labels and to learn a table's fields) and sys_audit (field history) answered 400
Invalid table; class labels and the integration user's time zone."""

from __future__ import annotations

import pytest

from sandbox.servicenow.schema import INCIDENT_STATE, PRIORITY


@pytest.fixture
def client(pysnc_client):
    return pysnc_client(40)


def test_choice_labels_fields_and_tables(client, sn_session):
    sb, c = client
    gr = c.GlideRecord("sys_choice")
    gr.add_query("name", "incident")
    gr.add_query("element", "state")
    gr.order_by("sequence")
    gr.query()
    assert {x.value.get_value(): x.label.get_value() for x in gr} == INCIDENT_STATE
    sn_session.verify = sb.ca_bundle
    url = f"{sb.url}/api/now/table"
    r = sn_session.get(f"{url}/sys_choice", params={"sysparm_query": "name=task^element=priority",
                                                    "sysparm_fields": "value,label"})
    assert {x["value"]: x["label"] for x in r.json()["result"]} == PRIORITY
    r = sn_session.get(f"{url}/sys_choice", params={"sysparm_query": "name=incident^element=priority"})
    assert r.json()["result"] == []  # inherited from task, as on an instance
    r = sn_session.get(f"{url}/sys_dictionary", params={
        "sysparm_query": "name=incident^elementINcaller_id,short_description,work_notes,rfc",
        "sysparm_fields": "element,internal_type,reference"})
    assert {x["element"]: (x["internal_type"], x["reference"]) for x in r.json()["result"]} == {
        "caller_id": ("reference", "sys_user"), "rfc": ("reference", "change_request")}
    r = sn_session.get(f"{url}/sys_dictionary", params={
        "sysparm_query": "name=task^elementINshort_description,work_notes", "sysparm_fields": "element,internal_type"})
    assert {x["element"]: x["internal_type"] for x in r.json()["result"]} == {
        "short_description": "string", "work_notes": "journal_input"}
    r = sn_session.get(f"{url}/sys_db_object", params={"sysparm_query": "super_class.name=task",
                                                       "sysparm_fields": "name"})
    children = {x["name"] for x in r.json()["result"]}
    assert {"incident", "change_request", "sc_task", "problem", "sc_req_item"} <= children
    obj = c.GlideRecord("sys_db_object")
    assert obj.get("name", "cmdb_ci_linux_server")
    assert obj.super_class.get_display_value() == "Server" and obj.label.get_value() == "Linux Server"


def test_a_class_displays_as_its_label(client, sn_session):
    sb, c = client
    sn_session.verify = sb.ca_bundle
    r = sn_session.get(f"{sb.url}/api/now/table/task", params={
        "sysparm_query": "sys_class_nameINincident,sc_task", "sysparm_fields": "sys_class_name",
        "sysparm_display_value": "all"})
    assert {(x["sys_class_name"]["value"], x["sys_class_name"]["display_value"]) for x in r.json()["result"]} == {
        ("incident", "Incident"), ("sc_task", "Catalog Task")}
    gr = c.GlideRecord("cmdb_ci")
    gr.add_query("sys_class_name", "cmdb_ci_linux_server")
    gr.query()
    assert gr.next() and gr.sys_class_name.get_display_value() == "Linux Server"
    r = sn_session.get(f"{sb.url}/api/now/stats/task", params={
        "sysparm_count": "true", "sysparm_group_by": "sys_class_name", "sysparm_display_value": "true"})
    assert {"Incident", "Change Request", "Problem"} <= {g["groupby_fields"][0]["value"] for g in r.json()["result"]}


def test_the_integration_users_time_zone_is_the_one_its_display_values_use(client):
    """Display values of date-times are in the caller's time zone on an instance; the emulator's are in
    GMT, and the integration user's profile said Europe/Berlin."""
    _, c = client
    me = c.GlideRecord("sys_user")
    assert me.get("user_name", "integration.user") and me.time_zone.get_value() == "GMT"
    gr = c.GlideRecord("incident")
    gr.display_value = "all"
    gr.limit = 1
    gr.query()
    assert gr.next() and gr.opened_at.get_display_value() == gr.opened_at.get_value() != ""


def test_updates_leave_field_history(client, sn_session):
    sb, c = client
    inc = sb.records("incident")[3]
    gr = c.GlideRecord("incident")
    assert gr.get(inc["sys_id"])
    gr.state = "2" if inc["state"] != "2" else "3"
    gr.work_notes = "picked up"
    gr.update()
    audit = c.GlideRecord("sys_audit")
    audit.add_query("documentkey", inc["sys_id"])
    audit.query()
    rows = {x.fieldname.get_value(): (x.oldvalue.get_value(), x.newvalue.get_value(), x.user.get_value(),
                                      x.record_checkpoint.get_value()) for x in audit}
    checkpoint = sb.get("incident", inc["sys_id"])["sys_mod_count"]
    assert rows["state"] == (inc["state"], gr.state.get_value(), "integration.user", checkpoint)
    assert rows["work_notes"] == ("JOURNAL FIELD ADDITION", "picked up", "integration.user", checkpoint)
    assert not any(name.startswith("sys_") for name in rows)
    sn_session.verify = sb.ca_bundle
    r = sn_session.get(f"{sb.url}/api/now/table/sys_audit", params={
        "sysparm_query": "tablename=incident^fieldname=state", "sysparm_fields": "documentkey"})
    assert [x["documentkey"] for x in r.json()["result"]] == [inc["sys_id"]]
