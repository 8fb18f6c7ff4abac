"""Round 30b: before business rules run one after another by `order` (lower first), as the instance runs them.

The sandbox ran every "Set field values" rule (sys_script `template`) before any aborting rule, whatever their
order: an aborting rule of a lower order judged the record after values a later rule set. Now an aborting rule
sees the record as the rules of lower order left it, and once it aborts no later rule runs."""

from __future__ import annotations

import pytest
import requests

from sandbox.servicenow.schema import REMEDIATION_TABLE


@pytest.fixture
def admin(env):
    sb, _client, _session = env
    sb.add_user("r30b.admin", "R30b-admin-pw", roles=("admin",))
    with requests.Session() as s:
        s.auth, s.verify = ("r30b.admin", "R30b-admin-pw"), sb.ca_bundle
        s.headers["Accept"] = "application/json"
        yield sb, s, f"{sb.url}/api/now/table/{REMEDIATION_TABLE}"


def _rule(sb, name: str, order: str, condition: str, *, template: str = "", abort: bool = False) -> dict:
    return sb.insert("sys_script", {"name": name, "collection": "task", "when": "before", "order": order,
                                    "action_update": "true", "filter_condition": condition, "template": template,
                                    "abort_action": "true" if abort else "false"})


def _record(s, url: str) -> dict:
    return s.post(url, json={"short_description": "r30b rule order"}).json()["result"]


def test_an_aborting_rule_of_a_lower_order_sees_the_record_before_the_values_are_set(admin):
    sb, s, url = admin
    _rule(sb, "r30b refuse closing", "10", "stateCHANGESTO3", abort=True)
    _rule(sb, "r30b set the state back", "50", "stateCHANGESTO3", template="state=1^EQ")
    rec = _record(s, url)
    refused = s.patch(f"{url}/{rec['sys_id']}", json={"state": "3"})
    assert refused.status_code == 403, refused.text
    assert "r30b refuse closing" in refused.json()["error"]["detail"]
    assert sb.get(REMEDIATION_TABLE, rec["sys_id"])["state"] == rec["state"]


def test_an_aborting_rule_of_a_higher_order_sees_the_values_set_before_it(admin):
    sb, s, url = admin
    _rule(sb, "r30b set the state back", "10", "stateCHANGESTO3", template="state=1^EQ")
    _rule(sb, "r30b refuse closing", "50", "state=3", abort=True)
    rec = _record(s, url)
    saved = s.patch(f"{url}/{rec['sys_id']}", json={"state": "3", "description": "r30b"},
                    params={"sysparm_display_value": "false"})
    assert saved.status_code == 200, saved.text
    assert saved.json()["result"]["state"] == "1" and saved.json()["result"]["description"] == "r30b"


def test_a_value_set_by_a_later_rule_is_not_seen_by_an_earlier_aborting_rule(admin):
    sb, s, url = admin
    _rule(sb, "r30b refuse locked", "10", "short_descriptionLIKElocked", abort=True)
    _rule(sb, "r30b lock on close", "20", "stateCHANGESTO3", template="short_description=locked by a rule^EQ")
    rec = _record(s, url)
    saved = s.patch(f"{url}/{rec['sys_id']}", json={"state": "3"}, params={"sysparm_display_value": "false"})
    assert saved.status_code == 200, saved.text
    assert saved.json()["result"]["short_description"] == "locked by a rule"
    # the next write of a locked record is judged on it: refused
    assert s.patch(f"{url}/{rec['sys_id']}", json={"description": "again"}).status_code == 403


def test_no_later_rule_runs_once_a_rule_aborts_and_a_no_change_write_is_not_refused(admin):
    sb, s, url = admin
    _rule(sb, "r30b refuse descriptions", "10", "descriptionVALCHANGES", abort=True)
    _rule(sb, "r30b stamp", "20", "descriptionVALCHANGES", template="short_description=stamped^EQ")
    rec = _record(s, url)
    assert s.patch(f"{url}/{rec['sys_id']}", json={"description": "x"}).status_code == 403
    assert sb.get(REMEDIATION_TABLE, rec["sys_id"])["short_description"] == "r30b rule order"
    same = s.patch(f"{url}/{rec['sys_id']}", json={"short_description": "r30b rule order"})
    assert same.status_code == 200
