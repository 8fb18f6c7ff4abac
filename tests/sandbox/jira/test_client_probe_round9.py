"""Round nine of vendor-client probes: `POST /issue/bulkfetch` as the platform spec describes it (list-valued
`expand`/`properties`, unknown refs left out, ascending ids, 1..100 refs) and `GET /field/search`'s expand
members and `orderBy` enum, called with plain `requests` and checked against the official OpenAPI spec, plus
the atlassian-python-api calls that ride on them; `updateHistory` feeding JQL `issueHistory()`/`lastViewed`."""

from __future__ import annotations

import pytest

from tests.sandbox.jira.helpers import checked as _checked


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30)


def test_bulkfetch_lists_expand_and_properties_and_leaves_unknown_refs_out(sb, s):
    api = f"{sb.url}/rest/api/3"
    assert s.put(f"{api}/issue/SEC-2/properties/triage", json={"score": 7}).status_code in (200, 201)
    body = {"issueIdsOrKeys": ["SEC-3", "NOPE-1", "sec-2", "999999", "SEC-3"], "fields": ["summary", "status"],
            "expand": ["names", "transitions"], "properties": ["triage"]}
    r = _checked(sb, s.post(f"{api}/issue/bulkfetch", json=body))
    out = r.json()
    assert out["issueErrors"] == []  # not-found refs are not errors: they are simply not returned
    keys = [i["key"] for i in out["issues"]]
    assert keys == ["SEC-2", "SEC-3"]  # ascending id, each once, lower-case key found
    first = out["issues"][0]
    assert set(first["fields"]) == {"summary", "status"}
    assert first["names"]["summary"] == "Summary" and first["transitions"]
    assert first["properties"] == {"triage": {"score": 7}}
    assert out["issues"][1]["properties"] == {}
    default = s.post(f"{api}/issue/bulkfetch", json={"issueIdsOrKeys": ["SEC-1"]}).json()["issues"][0]
    assert "comment" not in default["fields"] and "summary" in default["fields"]  # *navigable by default


@pytest.mark.parametrize("refs", [[], ["SEC-1"] * 101, None])
def test_bulkfetch_needs_one_to_a_hundred_refs(sb, s, refs):
    r = s.post(f"{sb.url}/rest/api/3/issue/bulkfetch", json={} if refs is None else {"issueIdsOrKeys": refs})
    assert r.status_code == 400 and r.json()["errorMessages"]


def test_bulkfetch_at_most_five_property_keys(sb, s):
    r = s.post(f"{sb.url}/rest/api/3/issue/bulkfetch",
               json={"issueIdsOrKeys": ["SEC-1"], "properties": ["a", "b", "c", "d", "e", "f"]})
    assert r.status_code == 400


def test_field_search_expand_members(sb, s, atl):
    api = f"{sb.url}/rest/api/3"
    made = atl.create_custom_field("Vendor tier", "com.atlassian.jira.plugin.system.customfieldtypes:select")
    r = _checked(sb, s.get(f"{api}/field/search", params={
        "type": "custom", "expand": "key,isLocked,searcherKey,contextsCount,lastUsed", "maxResults": 50}))
    by_id = {f["id"]: f for f in r.json()["values"]}
    points, mine = by_id["customfield_10016"], by_id[made["id"]]
    assert points["isLocked"] is True and mine["isLocked"] is False
    assert mine["searcherKey"] == "com.atlassian.jira.plugin.system.customfieldtypes:multiselectsearcher"
    assert points["searcherKey"].endswith(":exactnumber")
    assert mine["contextsCount"] == 1 and mine["lastUsed"] == {"type": "NO_INFORMATION"}
    plain = s.get(f"{api}/field/search", params={"type": "custom"}).json()["values"]
    assert not {"isLocked", "searcherKey", "contextsCount", "lastUsed"} & {k for f in plain for k in f}
    system = s.get(f"{api}/field/search", params={"type": "system", "expand": "lastUsed,searcherKey"}).json()
    assert {f["lastUsed"]["type"] for f in system["values"]} == {"NOT_TRACKED"}
    assert not any("searcherKey" in f for f in system["values"])


def test_field_search_order_by(sb, s, atl):
    api = f"{sb.url}/rest/api/3"
    made = atl.create_custom_field("Audit scope", "com.atlassian.jira.plugin.system.customfieldtypes:textfield")
    ctx = s.post(f"{api}/field/{made['id']}/context", json={"name": "SEC only", "projectIds": ["10000"]})
    assert ctx.status_code == 201
    top = s.get(f"{api}/field/search", params={"type": "custom", "orderBy": "-contextsCount"}).json()["values"]
    assert top[0]["id"] == made["id"]
    names = [f["name"] for f in s.get(f"{api}/field/search", params={"orderBy": "+name"}).json()["values"]]
    assert names == sorted(names, key=str.lower)
    bad = s.get(f"{api}/field/search", params={"orderBy": "bogus"})
    assert bad.status_code == 400 and "bogus" in bad.json()["errorMessages"][0]


def test_update_history_feeds_issue_history_and_last_viewed(atl, pyc):
    jql = "issue in issueHistory() ORDER BY key"
    assert pyc.search_issues(jql) == [] and pyc.search_issues("lastViewed IS NOT EMPTY") == []
    atl.get_issue("SEC-2")  # atlassian-python-api sends updateHistory=true by default
    pyc.issue("SEC-3")  # pycontribs does not: no view recorded
    assert [i.key for i in pyc.search_issues(jql)] == ["SEC-2"]
    assert [i.key for i in pyc.search_issues("project = SEC AND lastViewed IS NOT EMPTY")] == ["SEC-2"]
    assert "SEC-2" not in {i.key for i in pyc.search_issues("project = SEC AND lastViewed IS EMPTY",
                                                             maxResults=False)}
