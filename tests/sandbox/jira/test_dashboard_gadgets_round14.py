"""Round fourteen: dashboard gadgets and gadget item properties, as pycontribs `jira`'s own Cloud tests drive them
(available gadgets, add by uri, `dashboard(id).gadgets`, update colour, item properties, remove)."""

from __future__ import annotations

import pytest

from tests.sandbox.jira.helpers import checked


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30)


def _filter_gadget(pyc):
    return next(g for g in pyc.all_dashboard_gadgets() if g.title == "Filter Results")


def test_gadgets_through_pycontribs(sb, pyc):
    uri = _filter_gadget(pyc).uri
    board = pyc.create_dashboard(name="d14", share_permissions=[{"type": "authenticated"}])
    first = pyc.add_gadget_to_dashboard(board.id, color="blue", ignore_uri_and_module_key_validation=True, uri=uri)
    top = pyc.add_gadget_to_dashboard(board.id, color="red", uri=uri, position={"column": 0, "row": 0})
    assert (first.title, first.uri, top.position.row) == ("Filter Results", uri, 0)
    shown = pyc.dashboard(board.id).gadgets
    assert [(g.id, g.position.row) for g in shown] == [(top.id, 0), (first.id, 1)] and shown[0] == top
    assert first.update(board.id, color="green").color == "green"
    assert pyc.dashboard_item_property_keys(board.id, first.id) == []
    prop = pyc.set_dashboard_item_property(board.id, first.id, "config", value={"num": 5})
    assert pyc.dashboard(board.id).gadgets[1].item_properties[0] == prop
    assert prop.update(board.id, first.id, value={"num": 10}).value.num == 10
    keys = pyc.dashboard_item_property_keys(board.id, first.id)
    assert [k.key for k in keys] == ["config"] and keys[0].delete().status_code == 204
    top.delete(board.id)
    assert [(g.id, g.position.row) for g in pyc.dashboard(board.id).gadgets] == [(first.id, 0)]


def test_gadget_rules(sb, s, pyc):
    board = pyc.create_dashboard(name="rules", share_permissions=[])
    url = f"{sb.url}/rest/api/3/dashboard/{board.id}/gadget"
    key = "com.atlassian.jira.gadgets:pie-chart-gadget"
    assert checked(sb, s.get(f"{sb.url}/rest/api/3/dashboard/gadgets")).json()["gadgets"]
    both = s.post(url, json={"moduleKey": key, "uri": "x"})
    assert both.status_code == 400
    assert s.post(url, json={"moduleKey": "nope:gadget"}).status_code == 400
    assert s.post(url, json={"moduleKey": "nope:gadget", "ignoreUriAndModuleKeyValidation": True}).status_code == 200
    far = s.post(url, json={"moduleKey": key, "position": {"column": 0, "row": 5}})
    assert far.status_code == 400 and "row does not exist" in far.json()["errorMessages"][0]
    assert s.post(url, json={"moduleKey": key, "color": "pink"}).status_code == 400
    made = s.post(url, json={"moduleKey": key, "title": "Pie"}).json()
    assert made["title"] == "Pie" and made["position"] == {"row": 1, "column": 0}
    only = s.get(url, params={"moduleKey": key}).json()["gadgets"]
    assert [g["id"] for g in only] == [made["id"]]
    missing = s.delete(f"{url}/999")
    assert missing.status_code == 404 and missing.json()["errorMessages"] == ["The dashboard gadget was not found."]
    system = s.post(f"{sb.url}/rest/api/3/dashboard/10000/gadget", json={"moduleKey": key})
    assert system.status_code == 404  # nobody may change the system dashboard
    assert pyc.add_gadget_to_dashboard("10000", module_key=key) is None  # the client's "experimental" 404 -> None


def test_copy_dashboard_with_its_gadgets_and_automatic_refresh(sb, pyc):
    original = pyc.create_dashboard(name="orig", share_permissions=[{"type": "authenticated"}])
    gadget = pyc.add_gadget_to_dashboard(original.id, color="blue", ignore_uri_and_module_key_validation=True,
                                         uri=_filter_gadget(pyc).uri)
    pyc.set_dashboard_item_property(original.id, gadget.id, "config", value={"num": 5})
    copied = pyc.dashboard(pyc.copy_dashboard(original.id, name="copy").id)
    assert copied.name == "copy" and copied.id != original.id
    assert [(g.color, g.uri) for g in copied.gadgets] == [(gadget.color, gadget.uri)]
    assert copied.gadgets[0].id != gadget.id and copied.gadgets[0].item_properties[0].value.num == 5
    assert pyc.update_dashboard_automatic_refresh_minutes(original.id, 10).status_code == 204
    assert pyc.update_dashboard_automatic_refresh_minutes(original.id, 0).status_code == 204
