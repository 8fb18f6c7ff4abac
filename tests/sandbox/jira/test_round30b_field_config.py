"""Round 30b: the field configuration refuses a field both hidden and required (Jira lets no required field be
hidden), and the bulk transition API names each transition by its own name."""

from __future__ import annotations

import pytest

from tests.sandbox.jira.helpers import checked


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30)


def _item(sb, s, api, fid):
    items = checked(sb, s.get(f"{api}/fieldconfiguration/10000/fields", params={"maxResults": 1000})).json()
    return next(i for i in items["values"] if i["id"] == fid)


def test_a_field_cannot_be_made_both_hidden_and_required(sb, s):
    api = f"{sb.url}/rest/api/3"
    r = s.put(f"{api}/fieldconfiguration/10000/fields",
              json={"fieldConfigurationItems": [{"id": "duedate", "isHidden": True, "isRequired": True}]})
    assert r.status_code == 400 and "duedate" in r.json()["errorMessages"][0]
    assert _item(sb, s, api, "duedate") == {"id": "duedate", "isHidden": False, "isRequired": False}
    # each on its own is taken; hiding a required field drops its required flag (the spec)
    for body in ({"id": "duedate", "isRequired": True}, {"id": "duedate", "isHidden": True}):
        r = s.put(f"{api}/fieldconfiguration/10000/fields", json={"fieldConfigurationItems": [body]})
        assert r.status_code == 204, r.text
    assert _item(sb, s, api, "duedate") == {"id": "duedate", "isHidden": True, "isRequired": False}


def test_bulk_transitions_carry_the_transitions_names(sb, s, pyc):
    key = pyc.create_issue(project="SEC", summary="bulk names", issuetype={"name": "Task"}).key
    named = {int(t["id"]): t["name"] for t in checked(sb, s.get(
        f"{sb.url}/rest/api/3/issue/{key}/transitions")).json()["transitions"]}
    r = checked(sb, s.get(f"{sb.url}/rest/api/3/bulk/issues/transition", params={"issueIdsOrKeys": key}))
    items = r.json()["availableTransitions"][0]["transitions"]
    assert items and all(t["transitionName"] == named[t["transitionId"]] for t in items)
