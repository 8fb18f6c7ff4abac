"""Site settings apps read first (project types, application roles, configuration, licence, events, project key
and name validation, recent projects, issue types of a project, share scope, issue picker, bulk "is watching",
security levels, notification scheme mappings, board/sprint/comment/issue type properties), through
atlassian-python-api's JiraCloud and pycontribs `jira`, answers checked against the official schema."""

from __future__ import annotations

import warnings

import pytest
from atlassian.jira import JiraSoftware
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from requests import HTTPError

from tests.sandbox.jira.helpers import openapi, session_for


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30)


def test_site_settings(jc, pyc, sb):
    assert [t["key"] for t in jc.get_all_project_types()] == ["software", "business", "service_desk"]
    assert [r["key"] for r in jc.get_all_application_roles()] == ["jira-software"]
    config = jc.get_configuration()
    assert config["timeTrackingEnabled"] and config["timeTrackingConfiguration"]["workingHoursPerDay"] == 8.0
    assert jc.get_selected_time_tracking_implementation()["key"] == "JIRA"
    assert jc.get_locale() == {"locale": "en_US"}
    assert {a["id"] for a in jc.get_license()["applications"]} >= {"jira-software"}
    assert jc.get_events()[0] == {"id": 1, "name": "Issue Created"}
    assert [p["key"] for p in jc.get_recent()] == ["SEC", "GRC", "ENG"]
    sec = next(p for p in pyc.projects() if p.key == "SEC")
    types = jc.get_issue_types_for_project(project_id=sec.id)
    assert {t["name"] for t in types} >= {"Epic", "Task", "Subtask"}
    assert types[0]["scope"] == {"type": "PROJECT", "project": {"id": sec.id}}  # SEC is team-managed
    with pytest.raises(HTTPError) as unknown:
        jc.get_issue_types_for_project(project_id="99999")
    assert unknown.value.response.status_code == 404

    with session_for(sb) as s:
        taken = s.get(f"{sb.url}/rest/api/3/projectvalidate/key", params={"key": "SEC"}).json()
        assert taken == {"errorMessages": [],
                         "errors": {"projectKey": "A project with that project key already exists."}}
        assert s.get(f"{sb.url}/rest/api/3/projectvalidate/key", params={"key": "FRESH"}).json()["errors"] == {}
        assert s.get(f"{sb.url}/rest/api/3/projectvalidate/validProjectKey", params={"key": "SEC"}).json() == "SEC2"
        assert s.get(f"{sb.url}/rest/api/3/projectvalidate/validProjectName",
                     params={"name": "Security Operations"}).json() == "Security Operations 2"
        assert s.get(f"{sb.url}/rest/api/3/filter/defaultShareScope").json() == {"scope": "PRIVATE"}
        assert s.put(f"{sb.url}/rest/api/3/filter/defaultShareScope", json={"scope": "GLOBAL"}).json() == \
            {"scope": "GLOBAL"}
        assert jc.get_default_share_scope() == {"scope": "GLOBAL"}

        spec = openapi("jira-platform-v3.json", sb.url)
        for path in ("/project/type", "/project/type/business", "/applicationrole", "/configuration",
                     "/configuration/timetracking/options", "/instance/license", "/events", "/project/recent",
                     f"/issuetype/project?projectId={sec.id}", "/issuesecurityschemes/level",
                     "/notificationscheme/project?projectId=10000",
                     "/issue/picker?query=sec-1&currentJQL=project%3DSEC",
                     "/projectvalidate/key?key=sec", "/screens?queryString=screen&orderBy=name",
                     "/avatar/user/system", "/project/10000/hierarchy", "/securitylevel/10000"):
            r = s.get(f"{sb.url}/rest/api/3{path}")
            assert r.status_code == 200, (path, r.text)
            spec.validate_response(RequestsOpenAPIRequest(r.request), RequestsOpenAPIResponse(r))


def test_picker_watching_levels_and_applinks(jc, pyc, sb):
    picked = jc.get_issue_picker_resource(query="SEC-1", current_jql="project = SEC")["sections"]
    assert [s["id"] for s in picked] == ["hs", "cs"]
    assert "SEC-1" in [i["key"] for i in picked[0]["issues"]]
    assert all(i["key"].startswith("SEC-") for i in picked[1]["issues"])
    mine = pyc.create_issue(project="ENG", summary="watch me", issuetype={"name": "Task"})  # reporter watches
    other = next(i for i in sb.store.issues.values() if i.reporter != sb.store.me.account_id)
    watching = jc.get_is_watching_issue_bulk(data={"issueIds": [mine.id, str(other.id), "424242"]})
    assert watching == {"issuesIsWatching": {mine.id: True, str(other.id): False}}
    levels = jc.get_security_levels(only_default=True)["values"]
    assert [lv["name"] for lv in levels] == ["Internal"]
    assert jc.get_notification_scheme_to_project_mappings(project_id=["10001"])["values"] == [
        {"notificationSchemeId": "10000", "projectId": "10001"}]
    assert [x["name"] for x in pyc.screens()] == ["Default Screen", "Workflow Screen", "Resolve Issue Screen"]
    assert len(pyc.avatars("project")) == 3 and all(a["isSystemAvatar"] for a in pyc.avatars("issuetype"))
    hierarchy = jc.get_hierarchy("10002")
    assert [(h["level"], h["name"]) for h in hierarchy["hierarchy"]] == [(-1, "Subtask"), (0, "Base"), (1, "Epic")]
    assert [t["name"] for t in hierarchy["hierarchy"][1]["issueTypes"]] == ["Story", "Task", "Bug"]
    assert jc.get_security_levels_for_project("SEC") == {"levels": []}  # no issue security scheme
    made = pyc.create_project("SAFE", name="Safe", assignee=sb.store.me.account_id)  # takes the default scheme
    assert [lv["name"] for lv in jc.get_security_levels_for_project(made["key"])["levels"]] == \
        ["Internal", "Reporter Only"]
    assert jc.get_issue_security_level("10001")["name"] == "Reporter Only"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pycontribs warns when it cannot list application links
        assert pyc.applicationlinks() == []


def test_board_sprint_comment_and_issue_type_properties(jc, pyc, atl, sb):
    board = next(iter(sb.store.boards))
    sprint = next(iter(sb.store.sprints))
    with session_for(sb) as s:
        agile = f"{sb.url}/rest/agile/1.0"
        assert s.put(f"{agile}/board/{board}/properties/team", json={"name": "blue"}).status_code == 201
        assert s.put(f"{agile}/board/{board}/properties/team", json={"name": "red"}).status_code == 200
        assert s.put(f"{agile}/sprint/{sprint}/properties/goal", json=["ship"]).status_code == 201
        assert s.get(f"{agile}/sprint/{sprint}/properties/goal").json() == {"key": "goal", "value": ["ship"]}
        assert s.get(f"{agile}/board/99999/properties").status_code == 404
        assert s.delete(f"{agile}/sprint/{sprint}/properties/goal").status_code == 204
    assert [k["key"] for k in atl.get_agile_board_properties(board)["keys"]] == ["team"]
    comment = pyc.add_comment("SEC-1", "with a property")
    jc.set_comment_property(comment.id, "review", data={"ok": True})
    assert jc.get_comment_property(comment.id, "review") == {"key": "review", "value": {"ok": True}}
    assert [k["key"] for k in jc.get_comment_property_keys(comment.id)["keys"]] == ["review"]
    jc.set_issue_type_property("10002", "colour", data="green")
    assert jc.get_issue_type_property("10002", "colour")["value"] == "green"
    with pytest.raises(HTTPError) as missing:
        jc.get_comment_property_keys("424242")
    assert missing.value.response.status_code == 404


def test_group_bulk(jc, pyc, sb):
    pyc.add_group("auditors")
    every = jc.bulk_get_groups()
    assert [g["name"] for g in every["values"]] == ["jira-software-users", "jira-admins", "site-admins", "auditors"]
    with session_for(sb) as s:
        some = s.get(f"{sb.url}/rest/api/3/group/bulk", params={"groupName": ["AUDITORS", "site-admins"],
                                                                 "maxResults": 1}).json()
    assert (some["total"], [g["name"] for g in some["values"]], some["isLast"]) == (2, ["site-admins"], False)


def test_permitted_projects_and_bulk_permission_check(jc, sb):
    assert [p["key"] for p in jc.get_permitted_projects(data={"permissions": ["BROWSE_PROJECTS"]})["projects"]] == \
        ["SEC", "GRC", "ENG"]
    lead = sb.store.projects["SEC"].lead  # administers SEC only
    checked = jc.get_bulk_permissions(data={
        "accountId": lead, "globalPermissions": ["ADMINISTER"],
        "projectPermissions": [{"permissions": ["ADMINISTER_PROJECTS"], "projects": [10000, 10001, 10002]}]})
    assert checked["globalPermissions"] == [] and checked["projectPermissions"][0]["projects"] == [10000]
    mine = jc.get_bulk_permissions(data={"globalPermissions": ["ADMINISTER"], "projectPermissions": [
        {"permissions": ["EDIT_ISSUES"], "issues": [10000, 424242]}]})
    assert mine == {"globalPermissions": ["ADMINISTER"],
                    "projectPermissions": [{"permission": "EDIT_ISSUES", "projects": [], "issues": [10000]}]}
    with pytest.raises(HTTPError) as bad:
        jc.get_permitted_projects(data={"permissions": ["NOPE"]})
    assert bad.value.response.json()["errors"] == {"NOPE": "Unrecognized permission"}


def test_board_quick_filters_features_reports_projects(sb):
    js = JiraSoftware(url=sb.url, username=sb.credentials["email"], password=sb.credentials["api_token"])
    scrum = next(b for b in sb.store.boards.values() if b.type == "scrum")
    filters = js.get_all_quick_filters(scrum.id)["values"]
    assert [f["name"] for f in filters] == ["Only My Issues", "Recently Updated"]
    assert js.get_quick_filter(scrum.id, filters[0]["id"])["jql"] == "assignee = currentUser()"
    states = {f["boardFeature"]: f["state"] for f in js.get_features_for_board(scrum.id)["features"]}
    assert states["SPRINTS"] == "ENABLED" and states["SIMPLE_ROADMAP"] == "DISABLED"
    js.toggle_features(scrum.id, data={"boardId": scrum.id, "feature": "SIMPLE_ROADMAP", "enabling": True})
    assert {f["boardFeature"]: f["state"] for f in js.get_features_for_board(scrum.id)["features"]}[
        "SIMPLE_ROADMAP"] == "ENABLED"
    assert js.get_reports_for_board(scrum.id) == {"reports": []}
    assert [p["key"] for p in js.get_projects_full(scrum.id)] == [scrum.project]
    spec = openapi("jira-software-agile.json", sb.url)
    with session_for(sb) as s:
        for path in ("quickfilter", "features", "reports"):
            r = s.get(f"{sb.url}/rest/agile/1.0/board/{scrum.id}/{path}")
            spec.validate_response(RequestsOpenAPIRequest(r.request), RequestsOpenAPIResponse(r))


def test_columns_and_preferences(jc, sb):
    assert [col["value"] for col in jc.get_issue_navigator_default_columns()][:3] == ["issuetype", "issuekey",
                                                                                      "summary"]
    jc.set_user_columns(data=["issuekey", "summary", "status"])
    assert [col["label"] for col in jc.get_user_default_columns()] == ["Key", "Summary", "Status"]
    with session_for(sb) as s:
        token = {"X-Atlassian-Token": "no-check"}
        form = s.put(f"{sb.url}/rest/api/3/user/columns", files=[("columns", (None, "assignee")),
                                                                 ("columns", (None, "created"))], headers=token)
        assert form.status_code == 200
        assert s.put(f"{sb.url}/rest/api/3/user/columns", json=["nope"]).status_code == 400
        assert s.put(f"{sb.url}/rest/api/3/mypreferences", params={"key": "theme"}, data="dark",
                     headers={**token, "Content-Type": "text/plain"}).status_code == 204
        assert s.get(f"{sb.url}/rest/api/3/mypreferences", params={"key": "nothing"}).status_code == 404
    assert [col["value"] for col in jc.get_user_default_columns()] == ["assignee", "created"]
    assert jc.get_preference(key="theme") == "dark"
