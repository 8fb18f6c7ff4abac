"""Probe round 19: routes a sweep found answering 404 — structured user queries, the app-only e-mail reads,
screen / field configuration scheme reads, project features, the issue limit report, the announcement banner,
workflow capabilities / default editor — and PUT /issue's app-only override flags, through atlassian JiraCloud."""

from __future__ import annotations

import pytest
from requests import HTTPError

from tests.sandbox.jira.helpers import checked, drop_admin

ADMIN_ONLY = ["screenscheme", "issuetypescreenscheme", "issuetypescreenscheme/mapping",
              "issuetypescreenscheme/project?projectId=1", "fieldconfigurationscheme/mapping",
              "fieldconfigurationscheme/project?projectId=1", "field/summary/screens", "issue/limit/report",
              "announcementBanner"]


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30)


def _assigned(sb):
    return next(i for i in sb.store.issues.values() if i.assignee and i.reporter)


def test_user_structured_query(sb, s, jc):
    api = f"{sb.url}/rest/api/3"
    issue = _assigned(sb)
    in_project = {i.assignee for i in sb.store.issues.values() if i.project == issue.project and i.assignee}
    page = checked(sb, s.get(f"{api}/user/search/query",
                             params={"query": f"is assignee of {issue.project}", "maxResults": 1000})).json()
    assert {u["accountId"] for u in page["values"]} == in_project and page["startAt"] == 0
    one = jc.find_users_by_query(query=f"is assignee of ({issue.key})", max_results=1000)  # atlassian JiraCloud
    assert [u["accountId"] for u in one["values"]] == [issue.assignee]
    reporter = jc.find_users_by_query(query=f"is reporter of ({issue.key})", max_results=1000)
    assert [u["accountId"] for u in reporter["values"]] == [issue.reporter]
    both = s.get(f"{api}/user/search/query", params={
        "query": f"is assignee of ({issue.key}) OR is reporter of ({issue.key})", "maxResults": 1000}).json()
    assert {u["accountId"] for u in both["values"]} == {issue.assignee, issue.reporter}
    me = s.get(f"{api}/myself").json()["accountId"]
    assert s.post(f"{api}/issue/{issue.key}/watchers", json=me).status_code == 204
    watchers = s.get(f"{api}/issue/{issue.key}/watchers").json()["watchers"]
    seen = checked(sb, s.get(f"{api}/user/search/query/key", params={"query": f"is watcher of ({issue.key})",
                                                                      "maxResult": 1000})).json()
    assert {u["accountId"] for u in seen["values"]} == {w["accountId"] for w in watchers} >= {me}
    keys = jc.find_user_keys_by_query(query=f"is assignee of ({issue.key})", max_result=1000)
    assert keys["values"] == [{"accountId": issue.assignee}]
    for bad in ("whoever", ""):
        assert s.get(f"{api}/user/search/query", params={"query": bad}).status_code == 400, bad
    assert s.get(f"{api}/user/search/query").status_code == 400
    r = s.delete(f"{api}/group/user", params={"groupname": "jira-software-users", "accountId": me})
    assert r.status_code == 200, r.text
    for path in ("user/search/query", "user/search/query/key"):
        assert s.get(f"{api}/{path}", params={"query": f"is assignee of {issue.project}"}).status_code == 403, path


def test_user_email_is_for_apps_only(sb, s, jc):
    api = f"{sb.url}/rest/api/3"
    me = s.get(f"{api}/myself").json()["accountId"]
    assert s.get(f"{api}/user/email", params={"accountId": me}).status_code == 401
    assert s.get(f"{api}/user/email/bulk", params={"accountId": me}).status_code == 401
    with pytest.raises(HTTPError) as err:
        jc.get_user_email(account_id=me)
    assert err.value.response.status_code == 401


def test_screen_and_field_configuration_scheme_reads(sb, s, jc):
    api = f"{sb.url}/rest/api/3"
    pid = int(next(iter(sb.store.projects.values())).id)
    # not `checked`: the spec's schema marks ScreenTypes write-only, but its own 200 example (and Jira) sends `screens`
    schemes = s.get(f"{api}/screenscheme", params={"expand": "issueTypeScreenSchemes"}).json()
    assert schemes["maxResults"] == 25 and [x["name"] for x in schemes["values"]] == ["Default Screen Scheme"]
    assert schemes["values"][0]["screens"] == {"default": 1}
    assert schemes["values"][0]["issueTypeScreenSchemes"]["values"][0]["id"] == "1"
    assert jc.get_screen_schemes(query_string="nope")["values"] == []
    itss = checked(sb, s.get(f"{api}/issuetypescreenscheme", params={"expand": "projects"})).json()
    assert [x["id"] for x in itss["values"]] == ["1"]
    assert jc.get_issue_type_screen_schemes(id=1)["total"] == 1
    assert s.get(f"{api}/issuetypescreenscheme", params={"id": "x"}).status_code == 400
    assert s.get(f"{api}/issuetypescreenscheme", params={"orderBy": "size"}).status_code == 400
    assert s.get(f"{api}/screenscheme", params={"id": 2}).json()["values"] == []
    mapping = checked(sb, s.get(f"{api}/issuetypescreenscheme/mapping")).json()
    assert mapping["values"] == [{"issueTypeScreenSchemeId": "1", "issueTypeId": "default", "screenSchemeId": "1"}]
    assert jc.get_issue_type_screen_scheme_mappings(issue_type_screen_scheme_id=2)["values"] == []
    projects = checked(sb, s.get(f"{api}/issuetypescreenscheme/project", params={"projectId": pid})).json()
    assert projects["values"] == [{"issueTypeScreenScheme": {
        "id": "1", "name": "Default Issue Type Screen Scheme",
        "description": "The default issue type screen scheme"}, "projectIds": [str(pid)]}]
    assert jc.get_issue_type_screen_scheme_project_associations(project_id=pid)["total"] == 1
    assert s.get(f"{api}/issuetypescreenscheme/project").status_code == 400
    fcs = checked(sb, s.get(f"{api}/fieldconfigurationscheme/project", params={"projectId": pid})).json()
    assert fcs["values"] == [{"projectIds": [str(pid)]}]
    assert jc.get_field_configuration_scheme_project_mapping(project_id=pid)["total"] == 1
    assert checked(sb, s.get(f"{api}/fieldconfigurationscheme/mapping")).json()["values"] == []
    assert s.get(f"{api}/fieldconfigurationscheme/mapping",
                 params={"fieldConfigurationSchemeId": 10020}).status_code == 404
    with pytest.raises(HTTPError):
        jc.get_field_configuration_scheme_mappings(field_configuration_scheme_id=10020)


def test_field_screens_features_priorities_and_site_reads(sb, s, jc):
    api = f"{sb.url}/rest/api/3"
    screens = checked(sb, s.get(f"{api}/field/resolution/screens")).json()
    assert [x["name"] for x in screens["values"]] == ["Default Screen", "Workflow Screen", "Resolve Issue Screen"]
    assert [x["id"] for x in jc.get_screens_for_field("summary")["values"]] == [1, 2]
    assert checked(sb, s.get(f"{api}/field/nope/screens")).json()["values"] == []
    project = next(iter(sb.store.projects.values()))
    features = checked(sb, s.get(f"{api}/project/{project.key}/features")).json()["features"]
    assert features and {f["projectId"] for f in features} == {int(project.id)}
    assert jc.get_features_for_project(project.id) == {"features": features}
    assert s.get(f"{api}/project/NOPE/features").status_code == 404
    avail = checked(sb, s.get(f"{api}/priorityscheme/priorities/available", params={"schemeId": "1"})).json()
    assert avail["values"] == [] and avail["total"] == 0
    assert jc.get_available_priorities_by_priority_scheme(scheme_id="1")["values"] == []
    assert s.get(f"{api}/priorityscheme/priorities/available").status_code == 400
    assert s.get(f"{api}/priorityscheme/priorities/available", params={"schemeId": "9"}).status_code == 400
    report = checked(sb, s.get(f"{api}/issue/limit/report")).json()
    assert report["issuesBreachingLimit"] == {} and report == jc.get_issue_limit_report()
    banner = checked(sb, s.get(f"{api}/announcementBanner")).json()
    assert banner["isEnabled"] is False and jc.get_banner() == banner
    caps = checked(sb, s.get(f"{api}/workflows/capabilities", params={"workflowId": "1"})).json()
    assert caps["editorScope"] == "GLOBAL"
    assert jc.workflow_capabilities(project_id=project.id, issue_type_id="10001") == caps
    assert s.get(f"{api}/workflows/capabilities", params={"projectId": project.id}).status_code == 400
    assert checked(sb, s.get(f"{api}/workflows/defaultEditor")).json() == jc.get_default_editor() == {"value": "NEW"}


def test_admin_only_reads_refuse_a_non_admin(sb, s):
    api = f"{sb.url}/rest/api/3"
    drop_admin(sb, s)
    for path in ADMIN_ONLY:
        assert s.get(f"{api}/{path}").status_code == 403, path
    project = next(iter(sb.store.projects.values()))
    assert s.get(f"{api}/project/{project.key}/features").status_code == 200
    assert s.get(f"{api}/workflows/defaultEditor").status_code == 200


def test_edit_issue_override_flags_are_for_apps(sb, s, jc):
    api = f"{sb.url}/rest/api/3"
    issue = _assigned(sb)
    for flag in ("overrideScreenSecurity", "overrideEditableFlag"):
        r = s.put(f"{api}/issue/{issue.key}", params={flag: "true"}, json={"fields": {"summary": "x"}})
        assert r.status_code == 403, flag
    with pytest.raises(HTTPError) as err:
        jc.edit_issue(issue.key, override_screen_security=True, data={"fields": {"summary": "x"}})
    assert err.value.response.status_code == 403
    assert sb.store.issues[issue.id].summary != "x"
    assert s.put(f"{api}/issue/{issue.key}", params={"overrideEditableFlag": "false"},
                 json={"fields": {"summary": "y"}}).status_code == 204
    assert s.put(f"{sb.url}/rest/api/2/issue/{issue.key}",
                 params={"overrideScreenSecurity": "true"}, json={"fields": {"summary": "z"}}).status_code == 403
