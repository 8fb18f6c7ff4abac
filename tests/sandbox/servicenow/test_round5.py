"""Round 5 of probes with pysnc 1.2.1 and plain requests: catalog tasks linked to their requested
items, the Table API in XML, and the JSONv2 processor."""

from __future__ import annotations

import pytest


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
