"""Round 30: a before business rule that sets field values (the Actions tab's "Set field values", sys_script's
`template`) instead of aborting: the write goes on and the Table API answers 200 with the record as saved. The
case the push must survive: a rule that refuses closing a task while it has open child tasks by setting the state
back, so a PATCH of state=3 answers 200 with state 1."""

from __future__ import annotations

import pytest
import requests
from pysnc import ServiceNowClient

from sandbox.servicenow.schema import REMEDIATION_TABLE

SIZE = 20
RULE = {"name": "r30 no close with open children", "collection": "task", "when": "before", "order": "50",
        "action_update": "true", "add_message": "true", "message": "Close the child tasks first",
        "filter_condition": "stateCHANGESTO3^RLQUERYtask.parent,>=1^active=true^ENDRLQUERY", "template": "state=1^EQ"}


@pytest.fixture
def admin(env):
    sb, _client, _session = env
    sb.add_user("r30.admin", "R30-admin-pw", roles=("admin",))
    with requests.Session() as s:
        s.auth, s.verify = ("r30.admin", "R30-admin-pw"), sb.ca_bundle
        s.headers["Accept"] = "application/json"
        yield sb, ServiceNowClient(sb.url, ("r30.admin", "R30-admin-pw"), verify=sb.ca_bundle), s


def test_a_rule_setting_the_state_back_answers_200_with_the_reverted_record(admin):
    sb, _client, s = admin
    url = f"{sb.url}/api/now/table"
    rule = s.post(f"{url}/sys_script", json=RULE)
    assert rule.status_code == 201 and rule.json()["result"]["template"] == "state=1^EQ"
    parent = s.post(f"{url}/{REMEDIATION_TABLE}", json={"short_description": "r30 parent"}).json()["result"]
    child = s.post(f"{url}/{REMEDIATION_TABLE}", json={"short_description": "r30 child",
                                                         "parent": parent["sys_id"]}).json()["result"]
    before = sb.get(REMEDIATION_TABLE, parent["sys_id"])
    answer = s.patch(f"{url}/{REMEDIATION_TABLE}/{parent['sys_id']}",
                     json={"state": "3", "description": "done"}, params={"sysparm_display_value": "false"})
    assert answer.status_code == 200
    got = answer.json()["result"]
    assert got["sys_id"] == parent["sys_id"] and got["state"] == "1" and got["active"] == "true"
    assert got["description"] == "done" and got["closed_at"] == ""  # the rest of the write was saved
    assert int(got["sys_mod_count"]) == int(before["sys_mod_count"]) + 1
    assert sb.get(REMEDIATION_TABLE, parent["sys_id"])["state"] == "1"
    # a state-only close changes nothing: 200 with the record as it was, not saved
    again = s.patch(f"{url}/{REMEDIATION_TABLE}/{parent['sys_id']}", json={"state": "3"}).json()["result"]
    assert again["state"] == "1" and again["sys_mod_count"] == got["sys_mod_count"]
    # the child closes (it has no children of its own), then the parent closes
    assert s.patch(f"{url}/{REMEDIATION_TABLE}/{child['sys_id']}", json={"state": "3"}).json()["result"]["state"] == "3"
    closed = s.patch(f"{url}/{REMEDIATION_TABLE}/{parent['sys_id']}", json={"state": "3"}).json()["result"]
    assert closed["state"] == "3" and closed["active"] == "false" and closed["closed_at"]


def test_set_values_on_insert_skip_system_fields_and_inactive_rules(admin):
    sb, client, s = admin
    url = f"{sb.url}/api/now/table"
    rule = s.post(f"{url}/sys_script", json={
        "name": "r30 default urgency", "collection": "incident", "when": "before", "action_insert": "true",
        "filter_condition": "short_descriptionSTARTSWITHr30", "template": "urgency=1^sys_id=x^nosuchfield=1^EQ"})
    made = s.post(f"{url}/incident", json={"short_description": "r30 hot", "urgency": "3"}).json()["result"]
    assert made["urgency"] == "1" and len(made["sys_id"]) == 32
    other = s.post(f"{url}/incident", json={"short_description": "other", "urgency": "3"}).json()["result"]
    assert other["urgency"] == "3"
    s.patch(f"{url}/sys_script/{rule.json()['result']['sys_id']}", json={"active": "false"})
    gr = client.GlideRecord("incident")  # PySNC reads the saved record back from the answer
    gr.initialize()
    gr.short_description, gr.urgency = "r30 cold", "3"
    assert gr.insert() and sb.get("incident", gr.sys_id.get_value())["urgency"] == "3"
