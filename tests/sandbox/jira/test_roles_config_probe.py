"""pycontribs `jira` and atlassian-python-api calls that used to answer 404: project roles and their actors,
mypermissions, dashboards, board configuration, and single priority/status/resolution/issue type/link type
lookups; v3 answers checked against the official OpenAPI specs."""

from __future__ import annotations

import pytest
from jira import JIRAError
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from requests import HTTPError

from tests.sandbox.jira.helpers import openapi, session_for


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30)


def test_project_roles_and_actors(pyc, atl, sb):
    roles = pyc.project_roles("SEC")
    assert set(roles) >= {"Administrators", "Member", "Viewer"}
    admins = pyc.project_role("SEC", roles["Administrators"]["id"])
    assert {(a.type, a.displayName) for a in admins.actors} >= {("atlassian-group-role-actor", "jira-admins")}
    viewer_id = roles["Viewer"]["id"]
    other = sb.person()
    atl.add_user_into_project_role("SEC", viewer_id, other)
    actors = atl.get_project_actors_for_role_project("SEC", viewer_id)
    assert [a["actorUser"]["accountId"] for a in actors if a["type"] == "atlassian-user-role-actor"] == [other]
    with pytest.raises(HTTPError, match="already a member"):
        atl.add_user_into_project_role("SEC", viewer_id, other)
    pyc.project_role("SEC", viewer_id).update(groups="jira-admins")  # PUT replaces every actor
    assert [a.name for a in pyc.project_role("SEC", viewer_id).actors] == ["jira-admins"]
    atl.delete_project_actors("SEC", viewer_id, "jira-admins", "group")
    assert pyc.project_role("SEC", viewer_id).actors == []
    with pytest.raises(HTTPError):
        atl.delete_project_actors("SEC", viewer_id, "jira-admins", "group")
    with pytest.raises(JIRAError) as err:
        pyc.project_role("NOPE", viewer_id)
    assert err.value.status_code == 404
    with pytest.raises(JIRAError) as err:
        pyc.project_role("SEC", "99")
    assert err.value.status_code == 404
    with pytest.raises(JIRAError) as err:
        pyc.project_role("SEC", viewer_id).add_user(users="no-such-account")
    assert err.value.status_code == 404


def test_my_permissions_follow_project_roles(pyc, atl, sb):
    mine = pyc.my_permissions("SEC", permissions="BROWSE_PROJECTS,ADMINISTER_PROJECTS,ADMINISTER")["permissions"]
    assert {k: v["havePermission"] for k, v in mine.items()} == {
        "BROWSE_PROJECTS": True, "ADMINISTER_PROJECTS": True, "ADMINISTER": True}
    assert mine["ADMINISTER"]["type"] == "GLOBAL" and mine["BROWSE_PROJECTS"]["type"] == "PROJECT"
    admins = pyc.project_roles("SEC")["Administrators"]["id"]
    atl.delete_project_actors("SEC", admins, "jira-admins", "group")
    lead = sb.store.projects["SEC"].lead
    if lead != sb.store.me.account_id:
        atl.delete_project_actors("SEC", admins, lead, "user")
    after = atl.get_permissions("ADMINISTER_PROJECTS,CREATE_ISSUES", project_key="SEC")["permissions"]
    assert (after["ADMINISTER_PROJECTS"]["havePermission"], after["CREATE_ISSUES"]["havePermission"]) == (
        lead == sb.store.me.account_id, True)  # still a Member through jira-software-users
    assert pyc.my_permissions(issueKey="SEC-1", permissions="EDIT_ISSUES")["permissions"]["EDIT_ISSUES"][
        "havePermission"] is True
    for kwargs, status in (({}, 400), ({"permissions": "NOT_A_PERMISSION"}, 400),
                           ({"projectKey": "NOPE", "permissions": "BROWSE_PROJECTS"}, 404),
                           ({"issueKey": "SEC-99999", "permissions": "BROWSE_PROJECTS"}, 404)):
        with pytest.raises(JIRAError) as err:
            pyc.my_permissions(**kwargs)
        assert err.value.status_code == status, kwargs
    assert "ADMINISTER" in atl.get_all_permissions()["permissions"]


def test_dashboards(pyc, atl, sb):
    assert [d.name for d in pyc.dashboards()] == ["Default dashboard", "Security posture"]
    assert [d.id for d in pyc.dashboards(filter="favourite")] == ["10001"]
    system = pyc.dashboard("10000")
    assert system.systemDashboard is True and system.isWritable is False
    made = pyc.create_dashboard("Audit evidence", description="CC6 evidence", share_permissions=[])
    assert made.isWritable and made.owner.accountId == sb.store.me.account_id
    assert [d.name for d in pyc.dashboards(filter="my")] == ["Security posture", "Audit evidence"]
    page = atl.get_dashboards(filter="my", start=0, limit=1)
    assert (page["total"], len(page["dashboards"]), "next" in page) == (2, 1, True)
    with session_for(sb) as s:
        found = s.get(f"{sb.url}/rest/api/3/dashboard/search", params={"dashboardName": "audit"}).json()
        assert [d["name"] for d in found["values"]] == ["Audit evidence"]
        assert s.delete(f"{sb.url}/rest/api/3/dashboard/{made.id}").status_code == 204
        assert s.delete(f"{sb.url}/rest/api/3/dashboard/10000").status_code == 400
        bad = s.post(f"{sb.url}/rest/api/3/dashboard", json={"description": "no name"})
        assert bad.status_code == 400 and "name" in bad.json()["errors"]
    with pytest.raises(JIRAError) as err:
        pyc.dashboard(made.id)
    assert err.value.status_code == 404
    with pytest.raises(JIRAError) as err:
        pyc.dashboards(filter="everything")
    assert err.value.status_code == 400


def test_board_configuration_and_its_filter(pyc, atl, sb):
    board = pyc.boards()[0]
    config = atl.get_agile_board_configuration(board.id)
    assert (config["id"], config["type"]) == (board.id, board.type)
    assert [c["name"] for c in config["columnConfig"]["columns"]] == ["To Do", "In Progress", "In Review", "Done"]
    assert config["ranking"] == {"rankCustomFieldId": 10019}
    if board.type == "scrum":
        assert config["estimation"]["field"]["fieldId"] == "customfield_10016"
    saved = pyc.filter(config["filter"]["id"])
    project = sb.store.boards[board.id].project
    assert saved.jql == f"project = {project} ORDER BY Rank ASC"
    assert atl.get_agile_board_configuration(board.id)["filter"]["id"] == config["filter"]["id"]
    with pytest.raises(HTTPError):
        atl.get_agile_board_configuration(9999)


def test_single_lookups(pyc, atl):
    assert pyc.priority("2").name == "High"
    assert pyc.status("10002").name == "Done" and pyc.status("done").id == "10002"
    assert pyc.resolution("10001").name == "Won't Do"
    assert pyc.issue_type("10004").subtask is True
    assert pyc.issue_link_type("10000").outward == "blocks"
    assert atl.get_issue_link_type("10003")["name"] == "Relates"
    for call in (lambda: pyc.priority("9"), lambda: pyc.status("Nope"), lambda: pyc.resolution("1"),
                 lambda: pyc.issue_type("1"), lambda: pyc.issue_link_type("1")):
        with pytest.raises(JIRAError) as err:
            call()
        assert err.value.status_code == 404 and err.value.response.json()["errorMessages"]


def test_new_v3_answers_match_the_official_schema(sb):
    spec = openapi("jira-platform-v3.json", sb.url)
    agile = openapi("jira-software-agile.json", sb.url)
    with session_for(sb) as s:
        for validator, path, params in (
                (spec, "/rest/api/3/project/SEC/role", None), (spec, "/rest/api/3/project/SEC/role/10002", None),
                (spec, "/rest/api/3/project/SEC/roledetails", {"currentMember": "true"}),
                (spec, "/rest/api/3/role", None),
                (spec, "/rest/api/3/mypermissions", {"permissions": "BROWSE_PROJECTS,ADMINISTER"}),
                (spec, "/rest/api/3/permissions", None), (spec, "/rest/api/3/dashboard", None),
                (spec, "/rest/api/3/dashboard/10001", None), (spec, "/rest/api/3/dashboard/search", None),
                (spec, "/rest/api/3/priority/1", None), (spec, "/rest/api/3/status/3", None),
                (spec, "/rest/api/3/statuscategory/done", None), (spec, "/rest/api/3/resolution/10000", None),
                (spec, "/rest/api/3/issuetype/10002", None), (spec, "/rest/api/3/issueLinkType/10001", None),
                (agile, f"/rest/agile/1.0/board/{next(iter(sb.store.boards))}/configuration", None)):
            r = s.get(sb.url + path, params=params)
            assert r.status_code == 200, (path, r.text)
            validator.validate_response(RequestsOpenAPIRequest(r.request), RequestsOpenAPIResponse(r))
        added = s.post(sb.url + "/rest/api/3/project/SEC/role/10004", json={"group": ["site-admins"]})
        assert added.status_code == 200
        spec.validate_response(RequestsOpenAPIRequest(added.request), RequestsOpenAPIResponse(added))


def test_rendered_fields_and_schema_expansions(pyc, sb):
    """expand=renderedFields,schema on an issue and on search/jql with fields and ORDER BY."""
    issue = pyc.issue("SEC-2", expand="renderedFields,schema")
    rendered, schema = issue.raw["renderedFields"], issue.raw["schema"]
    assert rendered["description"].startswith("<p>") and rendered["summary"] is None
    assert rendered["created"][2] == "/" and rendered["created"].endswith(("AM", "PM"))
    assert schema["created"] == {"type": "datetime", "system": "created"}
    found = pyc.search_issues("project = SEC ORDER BY key DESC", fields="summary,comment",
                              expand="renderedFields", maxResults=2)
    keys = sorted((i.key for i in sb.store.issues.values() if i.project == "SEC"),
                  key=lambda k: int(k.split("-")[1]), reverse=True)
    assert [i.key for i in found] == keys[:2]
    assert set(found[0].raw["fields"]) == {"summary", "comment"} and set(found[0].raw["renderedFields"]) == {
        "summary", "comment"}
    bodies = [c["body"] for c in found[0].raw["renderedFields"]["comment"]["comments"]]
    assert all(b is None or b.startswith("<p>") for b in bodies)
