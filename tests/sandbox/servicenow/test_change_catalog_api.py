"""Change Management API (/api/sn_chg_rest/change) and Service Catalog API (/api/sn_sc/servicecatalog), which
answered 400 "Requested URI does not represent any resource"; their records are the Table API's."""

from __future__ import annotations

import pytest

from sandbox.servicenow.catalog_api import CATALOG, category_id
from sandbox.servicenow.change_model import TEMPLATES


def test_change_list_filters_pages_and_answers_value_display_value_pairs(env):
    sb, _, s = env
    url = f"{sb.url}/api/sn_chg_rest/change"
    changes = sb.records("change_request")
    r = s.get(url, params={"sysparm_limit": 5, "sysparm_offset": 2})
    assert r.status_code == 200 and int(r.headers["X-Total-Count"]) == len(changes)
    rows = r.json()["result"]
    assert [x["sys_id"]["value"] for x in rows] == [c["sys_id"] for c in changes[2:7]]
    first = rows[0]
    assert first["number"] == {"display_value": changes[2]["number"], "value": changes[2]["number"]}
    assert set(first["state"]) == {"value", "display_value"} and first["state"]["value"] == changes[2]["state"]
    assert first["assignment_group"]["value"] == changes[2]["assignment_group"]
    assert "link" not in first["assignment_group"]
    target = changes[3]
    r = s.get(f"{sb.url}/api/sn_chg_rest/v1/change", params={"sysparm_query": f"number={target['number']}"})
    assert [x["sys_id"]["value"] for x in r.json()["result"]] == [target["sys_id"]]
    word = target["short_description"].split()[-1].upper()
    r = s.get(url, params={"textSearch": word})
    expected = [c["sys_id"] for c in changes if any(word.lower() in c[f].lower()
                                                     for f in ("number", "short_description", "description"))]
    assert [x["sys_id"]["value"] for x in r.json()["result"]] == expected and target["sys_id"] in expected
    r = s.get(url, params={"state": target["state"], "sysparm_limit": 1000})
    assert {x["state"]["value"] for x in r.json()["result"]} == {target["state"]}


def test_change_create_read_update_delete_is_the_table_apis_change_request(env):
    sb, client, s = env
    url = f"{sb.url}/api/sn_chg_rest/change"
    r = s.post(f"{url}/normal", json={"short_description": "Rotate TLS certs", "risk": "2", "chg_model": "x"})
    assert r.status_code == 200
    created = r.json()["result"]
    sys_id = created["sys_id"]["value"]
    assert created["type"]["value"] == "normal" and created["number"]["value"].startswith("CHG")
    assert created["risk"] == {"display_value": "High", "value": "2"}
    assert created["__meta"]["ignoredFields"] == ["chg_model"]
    gr = client.GlideRecord("change_request")
    assert gr.get(sys_id) and gr.short_description == "Rotate TLS certs" and gr.type == "normal"
    r = s.post(f"{url}/emergency", params={"short_description": "Hotfix"})
    emergency = r.json()["result"]
    assert emergency["type"]["value"] == "emergency" and emergency["short_description"]["value"] == "Hotfix"
    r = s.patch(f"{url}/{sys_id}", json={"state": "-4", "type": "emergency"})
    assert r.json()["result"]["state"] == {"display_value": "Assess", "value": "-4"}
    assert r.json()["result"]["__meta"]["ignoredFields"] == ["type"]
    assert sb.get("change_request", sys_id)["state"] == "-4" and sb.get("change_request", sys_id)["type"] == "normal"
    assert s.patch(f"{url}/normal/{sys_id}", json={"justification": "expiry"}).status_code == 200
    assert s.get(f"{url}/emergency/{sys_id}").status_code == 404
    assert s.get(f"{url}/normal/{sys_id}").json()["result"]["justification"]["value"] == "expiry"
    table = s.get(f"{sb.url}/api/now/table/change_request/{sys_id}").json()["result"]
    assert table["justification"] == "expiry"
    gone = s.delete(f"{url}/{sys_id}")  # documented: 200 with the record as it was
    assert gone.status_code == 200 and gone.json()["result"]["justification"]["value"] == "expiry"
    assert sb.get("change_request", sys_id) is None and s.get(f"{url}/{sys_id}").status_code == 404
    seeded = sb.records("change_request")[0]
    assert s.get(f"{url}/{seeded['sys_id']}").json()["result"]["number"]["value"] == seeded["number"]


def test_standard_change_from_a_template_and_unknown_template(env):
    sb, _, s = env
    url = f"{sb.url}/api/sn_chg_rest/change/standard"
    listed = s.get(f"{url}/template").json()["result"]
    assert [t["sys_id"]["value"] for t in listed] == [t["sys_id"] for t in TEMPLATES]
    tpl = TEMPLATES[0]
    r = s.post(f"{url}/{tpl['sys_id']}", json={"cmdb_ci": sb.records("cmdb_ci")[0]["sys_id"]})
    rec = r.json()["result"]
    assert r.status_code == 200 and rec["type"]["value"] == "standard"
    assert rec["short_description"]["value"] == tpl["short_description"] and rec["approval"]["value"] == "approved"
    assert sb.get("change_request", rec["sys_id"]["value"])["implementation_plan"] == tpl["implementation_plan"]
    assert s.post(f"{url}/{'0' * 32}", json={}).status_code == 404
    r = s.get(url, params={"sysparm_limit": 1000})
    assert rec["sys_id"]["value"] in [x["sys_id"]["value"] for x in r.json()["result"]]
    assert {x["type"]["value"] for x in r.json()["result"]} == {"standard"}


def test_change_tasks_next_states_and_approvals(env):
    sb, client, s = env
    url = f"{sb.url}/api/sn_chg_rest/change"
    chg = s.post(f"{url}/normal", json={"short_description": "DB upgrade"}).json()["result"]["sys_id"]["value"]
    r = s.post(f"{url}/{chg}/task", json={"short_description": "Backup", "change_task_type": "implementation"})
    task = r.json()["result"]
    assert r.status_code == 200 and task["change_request"]["value"] == chg
    assert task["number"]["value"].startswith("CTASK")
    tasks = s.get(f"{url}/{chg}/task").json()["result"]
    assert [t["sys_id"]["value"] for t in tasks] == [task["sys_id"]["value"]]
    gr = client.GlideRecord("change_task")
    gr.add_query("change_request", chg)
    gr.query()
    assert [t.number for t in gr] == [task["number"]["value"]]
    one = f"{url}/{chg}/task/{task['sys_id']['value']}"
    assert s.patch(one, json={"close_notes": "done"}).json()["result"]["close_notes"]["value"] == "done"
    assert s.get(one).json()["result"]["number"] == task["number"]
    assert s.get(f"{url}/{'e' * 32}/task/{task['sys_id']['value']}").status_code == 404
    seeded = next(t for t in sb.records("change_task"))
    assert s.get(f"{url}/{chg}/task/{seeded['sys_id']}").status_code == 404  # another change's task
    listed = s.get(f"{url}/{seeded['change_request']}/task").json()["result"]
    assert seeded["sys_id"] in [t["sys_id"]["value"] for t in listed]
    gone = s.delete(f"{url}/{seeded['change_request']}/task/{seeded['sys_id']}")
    assert gone.status_code == 200 and gone.json()["result"]["number"]["value"] == seeded["number"]
    assert sb.get("change_task", seeded["sys_id"]) is None
    nxt = s.get(f"{url}/{chg}/nextstates").json()["result"]
    assert nxt["available_states"] == ["-5", "-4", "4"] and nxt["state_label"]["-4"] == "Assess"
    assert s.patch(f"{url}/{chg}", json={"state": "-4"}).status_code == 200  # New -> Assess -> Authorize
    assert s.patch(f"{url}/{chg}", json={"state": "-3"}).status_code == 200
    me = next(u["sys_id"] for u in sb.records("sys_user") if u["user_name"] == "integration.user")
    mine = sb.insert("sysapproval_approver", {"sysapproval": chg, "document_id": chg, "approver": me,
                                              "source_table": "change_request", "state": "requested"})
    assert s.patch(f"{url}/{chg}/approvals", json={"state": "maybe"}).status_code == 400
    r = s.patch(f"{url}/{chg}/approvals", json={"state": "approved", "comments": "ok"})
    assert r.json()["result"]["approval"]["value"] == "approved" and r.json()["result"]["state"]["value"] == "-2"
    assert sb.get("sysapproval_approver", mine["sys_id"])["state"] == "approved"
    r = s.get(f"{url}/{'f' * 32}/task")
    assert r.status_code == 404 and r.json()["status"] == "failure" and r.json()["error"]["message"]


def test_change_api_keeps_auth_faults_and_the_request_log(env):
    sb, _, s = env
    url = f"{sb.url}/api/sn_chg_rest/change"
    assert s.get(url, auth=("integration.user", "wrong")).status_code == 401
    sb.clear_request_log()
    sb.faults.set(rate_429=1.0)
    assert s.get(url).status_code == 429
    assert s.get(f"{sb.url}/api/sn_sc/servicecatalog/items").status_code == 429
    sb.faults.clear()
    assert [e["path"] for e in sb.request_log][-2:] == ["/api/sn_chg_rest/change", "/api/sn_sc/servicecatalog/items"]


def test_catalog_lists_catalogs_categories_and_items(env):
    sb, _, s = env
    url = f"{sb.url}/api/sn_sc/servicecatalog"
    assert s.get(f"{url}/catalogs").json()["result"][0]["sys_id"] == CATALOG["sys_id"]
    items = sorted(sb.records("sc_cat_item"), key=lambda r: int(r["order"]))
    r = s.get(f"{sb.url}/api/sn_sc/v1/servicecatalog/items", params={"sysparm_limit": 3, "sysparm_offset": 1})
    assert [x["sys_id"] for x in r.json()["result"]] == [x["sys_id"] for x in items[1:4]]
    assert r.headers["X-Total-Count"] == str(len(items))
    hardware = [x["sys_id"] for x in items if x["category"] == "Hardware"]
    r = s.get(f"{url}/items", params={"sysparm_category": category_id("Hardware"), "sysparm_limit": 100})
    assert [x["sys_id"] for x in r.json()["result"]] == hardware
    assert r.json()["result"][0]["category"] == {"sys_id": category_id("Hardware"), "title": "Hardware"}
    r = s.get(f"{url}/items", params={"sysparm_text": "LAPTOP"})
    assert [x["name"] for x in r.json()["result"]] == ["New laptop"]
    one = s.get(f"{url}/items/{items[0]['sys_id']}").json()["result"]
    assert one["name"] == items[0]["name"] and one["variables"] == []
    cat = s.get(f"{url}/categories/{category_id('Hardware')}").json()["result"]
    assert cat["title"] == "Hardware" and cat["count"] == len(hardware)
    assert s.get(f"{url}/categories/{'0' * 32}").status_code == 400  # documented: invalid sys_id
    titles = [c["title"] for c in s.get(f"{url}/catalogs/{CATALOG['sys_id']}/categories").json()["result"]]
    assert "Hardware" in titles and s.get(f"{url}/items/{'0' * 32}").status_code == 400


def test_order_now_creates_request_item_and_task_in_the_tables(env):
    sb, client, s = env
    url = f"{sb.url}/api/sn_sc/servicecatalog/items"
    item = next(x for x in sb.records("sc_cat_item") if x["name"] == "New laptop")
    user = sb.records("sys_user")[5]["sys_id"]
    before = len(sb.records("sc_request"))
    r = s.post(f"{url}/{item['sys_id']}/order_now",
               json={"sysparm_quantity": "2", "sysparm_requested_for": user, "variables": {"ram": "32GB"}})
    out = r.json()["result"]
    assert r.status_code == 200 and out["table"] == "sc_request" and out["request_number"].startswith("REQ")
    assert out["sys_id"] == out["request_id"] and out["number"] == out["request_number"]
    assert len(sb.records("sc_request")) == before + 1
    gr = client.GlideRecord("sc_req_item")
    gr.add_query("request", out["request_id"])
    gr.query()
    ritms = list(gr)
    assert len(ritms) == 1 and ritms[0].cat_item == item["sys_id"] and ritms[0].quantity == "2"
    assert ritms[0].requested_for == user and "ram: 32GB" in ritms[0].description
    req = sb.get("sc_request", out["request_id"])
    assert req["requested_for"] == user and float(req["price"]) == pytest.approx(2 * float(item["price"] or 0))
    tasks = [t for t in sb.records("sc_task") if t["request"] == out["request_id"]]
    assert len(tasks) == 1 and tasks[0]["request_item"] == ritms[0].sys_id
    assert s.post(f"{url}/{item['sys_id']}/order_now", json={"sysparm_quantity": "x"}).status_code == 400
    assert s.post(f"{url}/{'0' * 32}/order_now", json={}).status_code == 400
