"""ServiceNow beyond the earlier pysnc probes: Table API write flags (sysparm_input_display_value,
sysparm_suppress_auto_sys_field, PUT as a partial update) with requests, and pysnc 1.2.1 unchanged for
display values, links, serialize, changes, ORDERBYDESC with limits, dot-walked fields and attachments."""

from __future__ import annotations

import pysnc
import pytest

from sandbox.servicenow import REMEDIATION_TABLE

AUTH = ("integration.user", "sandbox-password")


def test_input_display_value_on_post_and_patch(make_servicenow_sandbox, sn_session):
    """Choice labels and reference display values were stored verbatim ('1 - Critical')."""
    sb = make_servicenow_sandbox(size=40)
    user = sb.records("sys_user")[0]
    url = f"{sb.url}/api/now/table/incident"
    made = sn_session.post(url, params={"sysparm_input_display_value": "true"},
                           json={"short_description": "by labels", "priority": "1 - Critical",
                                 "assigned_to": user["name"]})
    assert made.status_code == 201
    rec = made.json()["result"]
    assert rec["priority"] == "1" and rec["assigned_to"]["value"] == user["sys_id"]
    patched = sn_session.patch(f"{url}/{rec['sys_id']}", params={"sysparm_input_display_value": "true",
                                                                  "sysparm_display_value": "all"},
                               json={"impact": "3 - Low", "assigned_to": user["sys_id"]}).json()["result"]
    assert patched["impact"] == {"display_value": "3 - Low", "value": "3"}
    assert patched["assigned_to"]["value"] == user["sys_id"]
    raw = sn_session.patch(f"{url}/{rec['sys_id']}", json={"urgency": "2"}).json()["result"]
    assert raw["urgency"] == "2"


def test_suppress_auto_sys_field_and_put_is_partial(make_servicenow_sandbox, sn_session):
    """sysparm_suppress_auto_sys_field=true still bumped sys_updated_on and sys_mod_count."""
    sb = make_servicenow_sandbox(size=20)
    url = f"{sb.url}/api/now/table/{REMEDIATION_TABLE}"
    rec = sn_session.post(url, json={"short_description": "orig", "description": "keep"}).json()["result"]
    sb.clock.advance(90)
    quiet = sn_session.patch(f"{url}/{rec['sys_id']}", params={"sysparm_suppress_auto_sys_field": "true"},
                             json={"short_description": "quiet"}).json()["result"]
    assert quiet["short_description"] == "quiet"
    assert (quiet["sys_mod_count"], quiet["sys_updated_on"]) == (rec["sys_mod_count"], rec["sys_updated_on"])
    put = sn_session.put(f"{url}/{rec['sys_id']}", json={"short_description": "put"}).json()["result"]
    assert put["description"] == "keep" and put["sys_mod_count"] == "1"


@pytest.fixture
def client(make_servicenow_sandbox, monkeypatch):
    sb = make_servicenow_sandbox(size=60, tls=True)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sb.ca_bundle)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return sb, pysnc.ServiceNowClient(sb.url, AUTH, verify=False)


def test_pysnc_reads(client):
    sb, c = client
    rec = next(r for r in sb.records("incident") if r["assigned_to"])
    users = {u["sys_id"]: u for u in sb.records("sys_user")}
    gr = c.GlideRecord("incident")
    assert gr.get(rec["sys_id"]) and gr.get_row_count() == 1
    assert gr.get_display_value("assigned_to") == users[rec["assigned_to"]]["name"]
    assert gr.get_link(no_stack=True) == f"{sb.url}/incident.do?sys_id={rec['sys_id']}"
    assert gr.serialize()["number"] == rec["number"]
    assert gr.serialize(display_value=True)["assigned_to"] == users[rec["assigned_to"]]["name"]
    gr = c.GlideRecord("incident")
    gr.fields = ["number", "assigned_to.name", "assigned_to.email"]
    gr.add_query("sys_id", rec["sys_id"])
    gr.query()
    assert gr.next() and gr.get_value("assigned_to.email") == users[rec["assigned_to"]]["email"]
    gr = c.GlideRecord("incident", batch_size=4)
    gr.add_active_query()
    gr.add_encoded_query("ORDERBYDESCnumber")
    gr.limit = 6
    gr.query()
    active = sorted((r["number"] for r in sb.records("incident") if r["active"] == "true"), reverse=True)
    assert [r.number.get_value() for r in gr] == active[:6] and gr.get_row_count() == len(active)
    gr = c.GlideRecord("incident", batch_size=7)
    gr.add_active_query()
    gr.query()
    assert len(gr.serialize_all()) == len(active)


def test_pysnc_changes_and_attachments(client):
    _, c = client
    gr = c.GlideRecord(REMEDIATION_TABLE)
    gr.initialize()
    gr.short_description = "first"
    sys_id = gr.insert()
    gr.short_description = "second"
    assert gr.changes() is True
    gr.update()
    assert gr.changes() is False
    gr.add_attachment("notes.csv", b"a,b\n1,2\n", content_type="text/csv")
    location = c.Attachment(REMEDIATION_TABLE).add_attachment(str(sys_id), "shot.png", b"\x89PNG\r\n", "image/png")
    att = c.Attachment(REMEDIATION_TABLE)
    att.add_query("table_sys_id", str(sys_id))
    att.query()
    got = {a.file_name: (a.content_type, a.read()) for a in att}
    assert got == {"notes.csv": ("text/csv", b"a,b\n1,2\n"), "shot.png": ("image/png", b"\x89PNG\r\n")}
    one = c.Attachment(REMEDIATION_TABLE)
    assert one.get(location.rsplit("/", 1)[1]) and one.file_name == "shot.png"
    one.delete()
    assert c.Attachment(REMEDIATION_TABLE).get(location.rsplit("/", 1)[1]) is False
