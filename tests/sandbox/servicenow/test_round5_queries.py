"""Round 5, queries: dot-walks through references to `task` (parent, first_reported_by_task), the text
operators on a reference field (its display value), and answers that follow changes to the records a
dot-walk reads."""

from __future__ import annotations

import pytest


@pytest.fixture
def client(pysnc_client):
    return pysnc_client(200)


def test_dot_walks_through_task_references(client, sn_session):
    sb, c = client
    sn_session.verify = sb.ca_bundle
    incidents = {r["sys_id"]: r for r in sb.records("incident")}
    prb = sb.records("problem")[0]
    first = incidents[prb["first_reported_by_task"]]
    r = sn_session.get(f"{sb.url}/api/now/table/problem", params={
        "sysparm_query": f"number={prb['number']}",
        "sysparm_fields": "number,first_reported_by_task.number,first_reported_by_task.short_description"})
    [row] = r.json()["result"]
    assert row["first_reported_by_task.number"] == first["number"]
    assert row["first_reported_by_task.short_description"] == first["short_description"]
    req = sb.records("sc_request")[2]
    gr = c.GlideRecord("sc_task")
    gr.add_query("parent.number", req["number"])
    gr.query()
    assert len(gr) == 1 and gr.next() and gr.parent.get_value() == req["sys_id"]
    chg = sb.records("change_request")[4]
    gr = c.GlideRecord("change_task")
    gr.add_encoded_query(f"parent.numberSTARTSWITH{chg['number']}")
    gr.query()
    assert [x.change_request.get_value() for x in gr] == [chg["sys_id"]]
