"""Round fourteen, spec checks: GET /component (find components for projects) and GET /filter/search's `expand`,
through atlassian-python-api's `JiraCloud` (REST v3) and checked against the official platform spec."""

from __future__ import annotations

import pytest
from requests import HTTPError

from tests.sandbox.jira.helpers import checked


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30)


def test_find_components_for_projects(sb, s, jc):
    for name, text, project in (("beta", "B thing", "SEC"), ("Alpha", "zzz", "SEC"), ("gamma", "", "SEC"),
                                ("other", "", "GRC")):
        assert s.post(f"{sb.url}/rest/api/3/component", json={"name": name, "project": project,
                                                               "description": text}).status_code == 201
    page = checked(sb, s.get(f"{sb.url}/rest/api/3/component", params={"projectIdsOrKeys": "SEC",
                                                                        "maxResults": 2})).json()
    assert [v["name"] for v in page["values"]] == ["Alpha", "beta"] and page["total"] == 3
    assert page["isLast"] is False and "startAt=2" in page["nextPage"]
    assert set(page["values"][0]) == {"self", "id", "name", "description"}
    found = jc.find_components_for_projects(project_ids_or_keys=["SEC", "GRC"], order_by="-name", query="A")
    assert [v["name"] for v in found["values"]] == ["gamma", "beta", "Alpha"]
    assert jc.find_components_for_projects()["total"] == 4
    with pytest.raises(HTTPError) as missing:
        jc.find_components_for_projects(project_ids_or_keys=["NOPE"])
    assert missing.value.response.status_code == 404


def test_filter_search_returns_what_expand_asks_for(sb, s, jc):
    made = checked(sb, s.post(f"{sb.url}/rest/api/3/filter", json={"name": "Open SEC", "jql": "project = SEC",
                                                                   "description": "d"})).json()
    assert "isWritable" not in made  # not a member of the spec's Filter
    bare = checked(sb, s.get(f"{sb.url}/rest/api/3/filter/search", params={"filterName": "open"})).json()
    assert [set(v) for v in bare["values"]] == [{"expand", "self", "id", "name"}]
    rich = jc.get_filters_paginated(filter_name="open", expand="jql,owner,description,favourite")["values"][0]
    assert rich["jql"] == "project = SEC" and rich["description"] == "d" and rich["favourite"] is False
    assert rich["owner"]["accountId"] == sb.store.me.account_id and "viewUrl" not in rich
    writable = s.get(f"{sb.url}/rest/api/3/filter/search", params={"expand": "isWritable"}).json()["values"][0]
    assert writable["isWritable"] is True


def test_user_picker(sb, s, jc):
    me = sb.store.me
    found = checked(sb, s.get(f"{sb.url}/rest/api/3/user/picker", params={"query": "sandbox"})).json()
    mine = next(u for u in found["users"] if u["accountId"] == me.account_id)
    assert mine["html"].startswith("<strong>Sandbox</strong> ") and "avatarUrl" not in mine
    assert found["total"] == len(found["users"]) and found["header"].startswith("Showing ")
    picked = jc.find_users_for_picker(query="sandbox", show_avatar=True, exclude_account_ids=[me.account_id])
    assert me.account_id not in [u["accountId"] for u in picked["users"]]
    assert all(u["avatarUrl"] for u in picked["users"])
    assert s.get(f"{sb.url}/rest/api/3/user/picker").status_code == 400


def test_classic_workflow_reads(sb, s, pyc, atl):
    plain = checked(sb, s.get(f"{sb.url}/rest/api/3/workflow/search")).json()
    assert plain["total"] == 1 and set(plain["values"][0]) == {"id", "description", "isDefault", "created",
                                                               "updated"}
    rich = checked(sb, s.get(f"{sb.url}/rest/api/3/workflow/search", params={
        "expand": "transitions.rules,statuses"})).json()["values"][0]
    assert [t["to"] for t in rich["transitions"]][1:] == ["10000", "3", "10001", "10002"]
    assert {st["name"] for st in rich["statuses"]} == {"To Do", "In Progress", "In Review", "Done"}
    name = rich["id"]["name"]
    assert atl.get_workflows_paginated(workflow_name=name)["values"][0]["id"]["name"] == name
    assert atl.get_workflows_paginated(workflow_name="nope")["values"] == []
    listed = checked(sb, s.get(f"{sb.url}/rest/api/3/workflow")).json()
    assert [w["name"] for w in listed] == [name] == [w["name"] for w in pyc.workflows()]


def test_statuses_by_names_and_issue_type_scheme_lookups(sb, s, jc):
    found = checked(sb, s.get(f"{sb.url}/rest/api/3/statuses/byNames", params={"name": ["done", "To Do,Nope"]}))
    assert [x["name"] for x in found.json()] == ["Done", "To Do"]
    assert [x["id"] for x in jc.get_statuses_by_name(name="In Progress")] == ["3"]
    assert s.get(f"{sb.url}/rest/api/3/statuses/byNames").status_code == 400
    company = next(p for p in sb.store.projects.values() if not p.simplified)
    team = next(p for p in sb.store.projects.values() if p.simplified)
    rows = checked(sb, s.get(f"{sb.url}/rest/api/3/issuetypescheme/project", params={
        "projectId": [company.id, team.id]})).json()["values"]
    assert [r["projectIds"] for r in rows] == [[company.id]] and rows[0]["issueTypeScheme"]["name"].startswith(
        company.key)
    assert jc.get_issue_type_scheme_for_projects(project_id=team.id)["values"] == []
    mapping = checked(sb, s.get(f"{sb.url}/rest/api/3/issuetypescheme/mapping", params={
        "issueTypeSchemeId": "10000"})).json()
    assert {m["issueTypeId"] for m in mapping["values"]} == set(sb.store.issue_types)
    assert jc.get_issue_type_schemes_mapping(max_results=1)["isLast"] is False


def test_issue_security_scheme_search_and_project_mapping(sb, s, atl):
    me = sb.store.me.account_id
    made = atl.create_project_from_raw_json({"key": "SAFE", "name": "Safe", "projectTypeKey": "business",
                                             "leadAccountId": me, "issueSecurityScheme": 10000})
    found = checked(sb, s.get(f"{sb.url}/rest/api/3/issuesecurityschemes/search")).json()
    assert found["values"][0]["projectIds"] == [int(made["id"])] and found["values"][0]["defaultLevel"] == 10000
    mapping = checked(sb, s.get(f"{sb.url}/rest/api/3/issuesecurityschemes/project")).json()
    assert mapping["values"] == [{"issueSecuritySchemeId": "10000", "projectId": str(made["id"])}]
    sec = next(p.id for p in sb.store.projects.values() if p.key == "SEC")
    none = s.get(f"{sb.url}/rest/api/3/issuesecurityschemes/search", params={"projectId": sec}).json()
    assert none["values"] == [] and s.get(f"{sb.url}/rest/api/3/issuesecurityschemes/10000").status_code == 200
