"""pysnc 1.2.1 paths no earlier probe takes; the emulator already answered them as ServiceNow does, so
these lock the behaviour in: OR conditions, has_next/limit/rewind, exclude_reference_link=False with
display values, get_link_list, to_pandas, and the Batch API's GET/POST/PATCH with per-request status."""

from __future__ import annotations

import pytest

from sandbox.servicenow import REMEDIATION_TABLE


@pytest.fixture
def client(pysnc_client):
    return pysnc_client(40)


def test_or_conditions_limits_and_rewind(client):
    sb, c = client
    incidents = sb.records("incident")
    gr = c.GlideRecord("incident")
    cond = gr.add_query("priority", "<", "2")
    cond.add_or_condition("state", "IN", "6,7")
    gr.query()
    assert gr.get_encoded_query() == "priority<2^ORstateIN6,7^ORDERBYsys_id"
    assert len(gr) == sum(1 for r in incidents if int(r["priority"]) < 2 or r["state"] in ("6", "7"))
    gr = c.GlideRecord("incident", batch_size=7)
    gr.limit = 10
    gr.query()
    assert gr.has_next() and len(gr) == len(incidents)  # X-Total-Count is the match count, not the limit
    seen = 0
    while gr.next():
        seen += 1
    assert (seen, gr.has_next()) == (10, False)
    gr.rewind()
    assert gr.next() and gr.sys_id.get_value() == min(r["sys_id"] for r in incidents)


def test_reference_links_list_link_and_pandas(client):
    sb, c = client
    rec = next(r for r in sb.records("incident") if r["assigned_to"])
    users = {u["sys_id"]: u["name"] for u in sb.records("sys_user")}
    gr = c.GlideRecord("incident")
    gr.fields = "number,priority,assigned_to"
    gr.display_value = True
    gr.exclude_reference_link = False
    gr.add_query("sys_id", rec["sys_id"])
    gr.query()
    assert gr.next()
    assert gr.assigned_to.get_link() == f"{sb.url}/api/now/table/sys_user/{rec['assigned_to']}"
    assert gr.serialize()["assigned_to"] == users[rec["assigned_to"]]
    gr = c.GlideRecord("incident")
    gr.add_active_query()
    gr.query()
    assert gr.get_link_list() == f"{sb.url}/incident_list.do?sysparm_query=active%3Dtrue%5EORDERBYsys_id"
    gr = c.GlideRecord("incident")
    gr.fields = ["number", "priority"]
    gr.limit = 3
    gr.query()
    frame = gr.to_pandas()  # without pandas installed pysnc returns the columns as a dict
    assert len(frame["number"]) == 3 and set(frame["priority__display"]) <= {
        "1 - Critical", "2 - High", "3 - Moderate", "4 - Low", "5 - Planning"}


def test_batch_api_get_post_patch(client):
    sb, c = client
    target = sb.records("incident")[4]
    got: list = []
    gr = c.GlideRecord("incident")
    c.batch_api.get(gr, target["sys_id"], lambda r: got.append((r.status_code, r.json()["result"]["number"])))
    c.batch_api.get(gr, "0" * 32, lambda r: got.append((r.status_code, r.json()["error"]["message"])))
    new = c.GlideRecord(REMEDIATION_TABLE)
    new.initialize()
    new.short_description = "via batch"
    c.batch_api.post(new, lambda r: got.append((r.status_code, r.json()["result"]["short_description"])))
    one = c.GlideRecord("incident")
    assert one.get(target["sys_id"])
    one.short_description = "patched in a batch"
    c.batch_api.patch(one, lambda r: got.append((r.status_code, r.json()["result"]["short_description"])))
    c.batch_api.execute()
    number = {"display_value": target["number"], "value": target["number"]}
    assert got == [(200, number), (404, "No Record found"),
                   (201, {"display_value": "via batch", "value": "via batch"}),
                   (200, {"display_value": "patched in a batch", "value": "patched in a batch"})]
    assert sb.get("incident", target["sys_id"])["short_description"] == "patched in a batch"
