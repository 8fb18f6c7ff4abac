"""Round 6: Change Management conflict checking and state moves the change model refuses, and the Service
Catalog cart (add_to_cart, cart edits, empty, submit_order / checkout), read back through pysnc."""

from __future__ import annotations

import pytest


def _change(s, url, ci, start, end, **extra):
    body = {"short_description": "Patch", "cmdb_ci": ci, "start_date": start, "end_date": end, **extra}
    return s.post(f"{url}/normal", json=body).json()["result"]["sys_id"]["value"]


def test_conflicts_from_overlapping_changes_on_the_ci_and_blackout_windows(env):
    sb, client, s = env
    url = f"{sb.url}/api/sn_chg_rest/change"
    ci, other_ci = (c["sys_id"] for c in sb.records("cmdb_ci")[:2])
    mine = _change(s, url, ci, "2031-03-01 10:00:00", "2031-03-01 14:00:00")
    clash = _change(s, url, ci, "2031-03-01 13:00:00", "2031-03-01 18:00:00")
    _change(s, url, ci, "2031-03-01 14:00:00", "2031-03-01 16:00:00")  # starts as mine ends: no conflict
    _change(s, url, other_ci, "2031-03-01 11:00:00", "2031-03-01 12:00:00")  # another CI
    canceled = _change(s, url, ci, "2031-03-01 09:00:00", "2031-03-01 11:00:00")
    assert s.patch(f"{url}/{canceled}", json={"state": "4"}).status_code == 200
    r = s.get(f"{url}/{mine}/conflict")
    assert r.status_code == 200 and r.json()["result"]["status"] == "Not Run"
    assert r.json()["result"]["conflicts"] == []

    r = s.post(f"{url}/{mine}/conflict")  # documented answer: the checking process's sys_id
    assert r.status_code == 200, r.text
    worker_id = r.json()["result"]
    assert isinstance(worker_id, str) and len(worker_id) == 32
    out = s.get(f"{url}/{mine}/conflict").json()["result"]
    assert out["status"] == "Conflict" and out["last_run"] and out["job_status"]
    [found] = out["conflicts"]
    assert found["conflicting_change"]["value"] == clash and found["type"]["value"] == "ci_already_scheduled"
    assert found["configuration_item"]["value"] == ci and found["change"]["value"] == mine
    worker = s.get(f"{url}/worker/{worker_id}")
    assert worker.status_code == 200 and worker.json()["result"]["state"] == {"value": 3, "display_value": "Complete"}
    assert worker.json()["result"]["worker"]["sysId"] == worker_id

    # a blackout window on every server-like CI named like ours, inserted through the Table API
    name = sb.get("cmdb_ci", ci)["name"]
    gr = client.GlideRecord("cmn_schedule_blackout")
    gr.initialize()
    gr.name, gr.condition = "Quarter end freeze", f"name={name}"
    blackout = gr.insert()
    span = client.GlideRecord("cmn_schedule_span")
    span.initialize()
    span.name, span.schedule = "freeze", blackout
    span.start_date_time, span.end_date_time = "20310301T120000", "20310302T000000"
    assert span.insert()
    assert s.post(f"{url}/{mine}/conflict").status_code == 200
    out = s.get(f"{url}/{mine}/conflict").json()["result"]
    assert sorted(c["type"]["value"] for c in out["conflicts"]) == ["blackout", "ci_already_scheduled"]
    assert next(c for c in out["conflicts"] if c["type"]["value"] == "blackout")["schedule"]["value"] == str(blackout)
    listed = client.GlideRecord("conflict")
    listed.add_query("change", mine)
    listed.query()
    assert len(listed) == 2  # a second check replaced the first one's records
    far = _change(s, url, other_ci, "2031-03-01 12:00:00", "2031-03-01 13:00:00")
    assert s.post(f"{url}/{far}/conflict").status_code == 200
    none = s.get(f"{url}/{far}/conflict").json()["result"]
    assert none["conflicts"] == [] and none["status"] == "Conflict"  # the documented quirk: no conflicts either

    cancel = s.delete(f"{url}/{mine}/conflict")
    assert cancel.status_code == 200 and cancel.content == b""  # documented: 200, no body
    after = s.get(f"{url}/{mine}/conflict").json()["result"]
    assert after["status"] == "Canceled" and after["conflicts"] == []
    bare = s.post(f"{url}/normal", json={"short_description": "No CI"}).json()["result"]["sys_id"]["value"]
    r = s.post(f"{url}/{bare}/conflict")
    assert r.status_code == 400 and r.json()["status"] == "failure" and "cmdb_ci" in r.json()["error"]["detail"]
    assert s.post(f"{url}/{'f' * 32}/conflict").status_code == 404
    seeded = next(c["sys_id"] for c in sb.records("change_request") if c["cmdb_ci"] and c["start_date"])
    assert s.post(f"{url}/{seeded}/conflict").status_code == 200
    assert s.get(f"{url}/{seeded}/conflict").json()["result"]["status"] == "Conflict"
    sb.reset()  # a reset forgets the checks with the records
    assert s.get(f"{url}/{seeded}/conflict").json()["result"]["status"] == "Not Run"


def test_the_change_model_refuses_illegal_state_moves(env):
    sb, _, s = env
    url = f"{sb.url}/api/sn_chg_rest/change"
    chg = s.post(f"{url}/normal", json={"short_description": "Move"}).json()["result"]["sys_id"]["value"]
    r = s.patch(f"{url}/{chg}", json={"state": "3"})
    assert r.status_code == 400
    body = r.json()
    assert body["status"] == "failure" and body["error"]["message"] == "Invalid state transition"
    assert "New" in body["error"]["detail"] and "Closed" in body["error"]["detail"]
    assert sb.get("change_request", chg)["state"] == "-5"
    assert s.patch(f"{url}/{chg}", json={"state": "Assess"}).json()["result"]["state"]["value"] == "-4"
    assert s.patch(f"{url}/{chg}", json={"state": "-4", "justification": "same"}).status_code == 200
    assert s.patch(f"{url}/{chg}", json={"state": "-1"}).status_code == 400
    assert s.patch(f"{url}/{chg}", json={"state": "4"}).status_code == 200  # Canceled is always open
    assert s.patch(f"{url}/{chg}", json={"state": "-5"}).status_code == 400  # nothing leaves Canceled
    std = s.post(f"{url}/normal", json={"short_description": "x"}).json()["result"]["sys_id"]["value"]
    assert s.patch(f"{url}/{std}", json={"state": "-2"}).status_code == 400  # a normal change needs Assess first


def test_cart_add_edit_remove_and_submit_make_a_request_the_table_api_shows(env):
    sb, client, s = env
    url = f"{sb.url}/api/sn_sc/servicecatalog"
    items = [x for x in sb.records("sc_cat_item") if x["active"] == "true"]
    first, second = items[0], items[1]
    r = s.post(f"{url}/items/{first['sys_id']}/add_to_cart", json={"sysparm_quantity": 2, "variables": {"a": "1"}})
    assert r.status_code == 200, r.text
    cart = r.json()["result"]
    [line] = cart["none"]["items"]  # documented: items grouped by recurring frequency
    assert line["catalog_item_id"] == first["sys_id"] and line["quantity"] == "2" and line["item_name"] == first["name"]
    assert line["price"] == f"${float(first['price'] or 0):,.2f}" and line["variables"] == {"a": "1"}
    assert line["subtotal_price"] == f"${2 * float(first['price'] or 0):,.2f}"
    r = s.post(f"{url}/items/{second['sys_id']}/add_to_cart", json={"sysparm_quantity": "1"})
    cart = s.get(f"{url}/cart").json()["result"]
    assert len(cart["none"]["items"]) == 2 and cart["cart_id"] == r.json()["result"]["cart_id"]
    total = 2 * float(first["price"] or 0) + float(second["price"] or 0)
    assert cart["subtotal_price"] == cart["none"]["subtotal_price"] == f"${total:,.2f}"
    assert cart["total_title"] == "Total" and cart["subtotal_title"] == "Subtotal"
    r = s.put(f"{url}/cart/{line['cart_item_id']}", json={"sysparm_quantity": 3})
    assert r.status_code == 200 and r.json()["result"]["none"]["items"][0]["quantity"] == "3"
    assert s.put(f"{url}/cart/{'0' * 32}", json={"sysparm_quantity": 1}).status_code == 400
    assert s.put(f"{url}/cart/{line['cart_item_id']}", json={"sysparm_quantity": 0}).status_code == 400
    gr = client.GlideRecord("sc_cart_item")
    gr.add_query("cart", cart["cart_id"])
    gr.query()
    assert len(gr) == 2
    before = len(sb.records("sc_request"))
    r = s.post(f"{url}/cart/submit_order")
    assert r.status_code == 200, r.text
    out = r.json()["result"]
    assert out["request_number"].startswith("REQ") and len(sb.records("sc_request")) == before + 1
    req = client.GlideRecord("sc_request")
    assert req.get(out["request_id"]) and req.number == out["request_number"]
    ritm = client.GlideRecord("sc_req_item")
    ritm.add_query("request", out["request_id"])
    ritm.order_by("number")
    ritm.query()
    got = {(x.cat_item.get_value(), x.quantity.get_value()) for x in ritm}
    assert got == {(first["sys_id"], "3"), (second["sys_id"], "1")}
    assert any("a: 1" in x.description.get_value() for x in ritm)
    assert float(req.price.get_value()) == pytest.approx(3 * float(first["price"] or 0) + float(second["price"] or 0))
    assert s.get(f"{url}/cart").json()["result"]["none"]["items"] == []
    r = s.post(f"{url}/cart/submit_order")
    assert r.status_code == 400 and r.json()["status"] == "failure"


def test_cart_remove_empty_and_checkout(env):
    sb, _, s = env
    url = f"{sb.url}/api/sn_sc/servicecatalog"
    item = next(x for x in sb.records("sc_cat_item") if x["active"] == "true")
    cart = s.post(f"{url}/items/{item['sys_id']}/add_to_cart", json={}).json()["result"]
    [line] = cart["none"]["items"]
    assert line["quantity"] == "1"
    assert s.delete(f"{url}/cart/{line['cart_item_id']}").status_code == 204
    assert s.delete(f"{url}/cart/{line['cart_item_id']}").status_code == 400
    assert s.get(f"{url}/cart").json()["result"]["none"]["items"] == []
    s.post(f"{url}/items/{item['sys_id']}/add_to_cart", json={"sysparm_quantity": 1})
    assert s.delete(f"{url}/cart/{'1' * 32}/empty").status_code == 400
    assert s.delete(f"{url}/cart/{cart['cart_id']}/empty").status_code == 204
    assert s.get(f"{url}/cart").json()["result"]["none"]["items"] == []
    assert s.post(f"{url}/cart/checkout").status_code == 400
    s.post(f"{url}/items/{item['sys_id']}/add_to_cart", json={"sysparm_quantity": 1})
    out = s.post(f"{url}/cart/checkout").json()["result"]
    assert sb.get("sc_request", out["request_id"])["number"] == out["request_number"]
    assert s.post(f"{url}/items/{'0' * 32}/add_to_cart", json={}).status_code == 400


def test_the_new_tables_describe_themselves(env):
    _, client, _ = env
    gr = client.GlideRecord("sys_db_object")
    gr.add_query("name", "IN", "conflict,cmn_schedule_blackout,cmn_schedule_span,sc_cart,sc_cart_item")
    gr.query()
    assert {x.name.get_value(): x.label.get_value() for x in gr} == {
        "conflict": "Conflict", "cmn_schedule_blackout": "Blackout Schedule", "cmn_schedule_span": "Schedule Entry",
        "sc_cart": "Cart", "sc_cart_item": "Cart Item"}
    choice = client.GlideRecord("sys_choice")
    choice.add_query("name", "conflict")
    choice.add_query("element", "type")
    choice.query()
    assert {x.value.get_value() for x in choice} == {"ci_already_scheduled", "blackout", "not_in_maintenance_window"}


def test_change_lists_sort_by_number_or_the_documented_order_parameter(env):
    sb, _, s = env
    url = f"{sb.url}/api/sn_chg_rest/change"
    late = s.post(f"{url}/normal", json={"short_description": "zz"}).json()["result"]["number"]["value"]
    rows = s.get(url, params={"sysparm_limit": 1000}).json()["result"]
    numbers = [x["number"]["value"] for x in rows]
    assert numbers == sorted(numbers) and numbers[-1] == late
    rows = s.get(url, params={"sysparm_limit": 1000, "order": "short_description"}).json()["result"]
    texts = [x["short_description"]["value"].lower() for x in rows]
    assert texts == sorted(texts) and rows[-1]["number"]["value"] == late


def test_change_filters_take_state_labels_in_any_case(env):
    sb, _, s = env
    closed = [c["number"] for c in sb.records("change_request") if c["state"] == "3"]
    assert closed
    r = s.get(f"{sb.url}/api/sn_chg_rest/change", params={"state": "closed", "sysparm_limit": 1000})
    assert [x["number"]["value"] for x in r.json()["result"]] == closed
    chg = s.post(f"{sb.url}/api/sn_chg_rest/change/normal", params={"short_description": "x"}).json()["result"]
    r = s.patch(f"{sb.url}/api/sn_chg_rest/change/normal/{chg['sys_id']['value']}", params={"state": "assess"})
    assert r.json()["result"]["state"] == {"display_value": "Assess", "value": "-4"}


def test_catalog_items_answer_the_documented_fields(env):
    sb, _, s = env
    item = next(x for x in sb.records("sc_cat_item") if x["active"] == "true")
    got = s.get(f"{sb.url}/api/sn_sc/servicecatalog/items/{item['sys_id']}").json()["result"]
    assert got["type"] == "catalog_item" and got["recurring_frequency"] is None and got["data_lookup"] == []
    assert got["localized_price"] == got["price"] == f"${float(item['price'] or 0):,.2f}"
    assert (got["price_currency"], got["recurring_price_currency"]) == ("USD", "USD")
    listed = s.get(f"{sb.url}/api/sn_sc/servicecatalog/items", params={"sysparm_limit": 3}).json()["result"]
    assert {x["type"] for x in listed} == {"catalog_item"}
