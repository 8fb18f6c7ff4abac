"""Round 23, the Batch API as its reference describes it (plain requests) and as pysnc 1.2.1 uses it
(update_multiple / delete_multiple): `exclude_response_headers`, the items' headers, and items that run
inside their batch's session instead of opening sessions of their own."""

from __future__ import annotations

import base64
import json

SIZE = 30


def _item(rid: str, url: str, method: str = "GET", body: dict | None = None, accept: str = "application/json",
          **extra) -> dict:
    item = {"id": rid, "url": url, "method": method, **extra,
            "headers": [{"name": "Content-Type", "value": "application/json"}, {"name": "Accept", "value": accept}]}
    if body is not None:
        item["body"] = base64.b64encode(json.dumps(body).encode()).decode()
    return item


def test_the_reference_example_excluded_headers_and_item_headers(env):
    sb, _, session = env
    answer = session.post(f"{sb.url}/api/now/v1/batch", json={"batch_request_id": "1", "rest_requests": [
        _item("11", "/api/now/table/incident?sysparm_limit=1&sysparm_fields=number", accept="application/xml"),
        _item("12", "/api/now/table/incident?sysparm_limit=1", exclude_response_headers=True),
        _item("13", "/api/now/table/incident", "POST", {"urgency": "1", "short_description": "r23 batch"},
              exclude_response_headers=True),
    ]})
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["batch_request_id"] == "1" and data["unserviced_requests"] == []
    items = {x["id"]: x for x in data["serviced_requests"]}
    assert [items[i]["status_code"] for i in ("11", "12", "13")] == [200, 200, 201]
    assert items["13"]["status_text"] == "Created"

    xml = base64.b64decode(items["11"]["body"])
    assert xml.startswith(b"<?xml") and b"<number>INC" in xml
    headers = {h["name"].lower(): h["value"] for h in items["11"]["headers"]}
    assert headers["content-type"].startswith("application/xml")
    assert headers["content-length"] == str(len(xml)) and headers["x-total-count"] == str(SIZE)
    assert headers["pragma"] == "no-store,no-cache" and headers["expires"] == "0"
    assert "set-cookie" not in headers  # the item runs in the batch's session

    assert items["12"]["headers"] == [] == items["13"]["headers"]  # excluded, as asked
    assert len(json.loads(base64.b64decode(items["12"]["body"]))["result"]) == 1
    created = json.loads(base64.b64decode(items["13"]["body"]))["result"]
    assert sb.get("incident", created["sys_id"])["short_description"] == "r23 batch"


def test_pysnc_bulk_writes_are_one_request_in_one_session(env):
    sb, client, _ = env
    ids = [sb.insert("incident", {"short_description": f"r23 bulk {i}"})["sys_id"] for i in range(12)]
    gr = client.GlideRecord("incident", batch_size=5)
    gr.add_query("short_description", "STARTSWITH", "r23 bulk")
    gr.query()
    sb.reset_concurrency_peak()
    for rec in gr:
        rec.urgency = "1"
    assert gr.update_multiple()
    assert sb.concurrency_peak == 1  # the batch, not the batch plus one of its items
    assert {sb.get("incident", i)["urgency"] for i in ids} == {"1"}

    doomed = client.GlideRecord("incident", batch_size=5)
    doomed.add_query("short_description", "STARTSWITH", "r23 bulk")
    assert doomed.delete_multiple()
    assert sb.concurrency_peak == 1 and all(sb.get("incident", i) is None for i in ids)
    assert len(client.session.cookies) == 1  # the JSESSIONID of the client's own session, nothing else
